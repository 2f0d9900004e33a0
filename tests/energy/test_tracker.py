"""The tracker on its own: CPU time of the process and its children, a plausible energy from codecarbon's
offline tracker, the country setting, no network and no files left, and the estimate when codecarbon is
missing or fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assay.energy.grid import COUNTRY_ENV, carbon_country, grid_factor
from assay.energy.models import Footprint
from assay.energy.tracker import one_run, track

codecarbon = pytest.importorskip("codecarbon", reason="codecarbon (the `energy` extra) is not installed")


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        x += 1


def test_busy_loop_has_cpu_time_and_a_plausible_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(COUNTRY_ENV, raising=False)
    with track() as box:
        assert box.footprint is None  # filled in when the block ends
        _busy(0.4)
    fp = box.footprint
    assert fp is not None
    assert 0.35 <= fp.cpu_seconds <= fp.wall_seconds + 0.05
    assert fp.gpu_seconds == 0  # torch never touched CUDA here
    watts = fp.energy_kwh * 3.6e6 / fp.wall_seconds
    assert 0.5 < watts < 1000, fp  # a process on a computer, not a rounding error or a power station
    assert fp.country == "SGP" and fp.grid_factor_kg_per_kwh == pytest.approx(0.470783)
    assert fp.co2e_kg == pytest.approx(fp.energy_kwh * 0.470783, rel=1e-6)
    assert "codecarbon" in fp.method and "offline" in fp.method
    assert "global_energy_mix.json: Singapore, 2023" in fp.grid_factor_source
    rapl = Path("/sys/class/powercap/intel-rapl:0/energy_uj")
    readable = rapl.exists() and os.access(rapl, os.R_OK)
    assert fp.measured == readable  # power is only 'measured' where a hardware counter was read
    assert fp.parts == 1


def test_cpu_time_of_finished_children_counts() -> None:
    code = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    with track() as box:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert box.footprint is not None and box.footprint.cpu_seconds >= 0.35


def test_offline_quiet_and_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Only codecarbon's offline tracker is built, with no outputs; nothing connects anywhere."""
    made: list[dict[str, Any]] = []
    folders: list[str] = []

    class Spy(codecarbon.OfflineEmissionsTracker):  # type: ignore[misc, name-defined]
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            folders.append(kwargs["output_dir"])
            super().__init__(**kwargs)

    def online(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the online EmissionsTracker was built")

    connects: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", Spy)
    monkeypatch.setattr(codecarbon, "EmissionsTracker", online)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: connects.append(a) or [])
    monkeypatch.chdir(tmp_path)
    with track("SGP") as box:
        _busy(0.05)
    assert box.footprint is not None and "codecarbon" in box.footprint.method
    assert len(made) == 1 and made[0]["country_iso_code"] == "SGP"
    assert made[0]["output_methods"] == [] and made[0]["emissions_endpoint"] is None
    assert connects == []
    assert not Path(folders[0]).exists()  # its temporary folder is gone
    assert list(tmp_path.iterdir()) == []  # no emissions.csv, no lock, no config
    out, err = capfd.readouterr()
    assert "codecarbon" not in out + err  # quiet


def test_country_from_the_environment_and_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COUNTRY_ENV, "mys")
    with track() as box:
        _busy(0.05)
    assert box.footprint is not None and box.footprint.country == "MYS"
    factor = grid_factor("MYS")
    assert factor is not None and box.footprint.grid_factor_kg_per_kwh == pytest.approx(factor.kg_per_kwh)
    assert factor.kg_per_kwh != pytest.approx(0.470783)  # not Singapore's figure
    for bad in ("SG", "Singapore", "ZZZ"):
        monkeypatch.setenv(COUNTRY_ENV, bad)
        with pytest.raises(ValueError, match=f"{COUNTRY_ENV}='{bad}'") as err:
            carbon_country()
        assert "alpha-3" in str(err.value) or "no grid carbon intensity for ZZZ" in str(err.value)
    monkeypatch.delenv(COUNTRY_ENV)
    assert carbon_country() == "SGP"


def test_missing_codecarbon_falls_back_to_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "codecarbon", None)  # as if it were not installed
    with track() as box:
        _busy(0.2)
    fp = box.footprint
    assert fp is not None and not fp.measured
    assert fp.method.startswith("estimate: 10 W per busy core × CPU time")
    assert "codecarbon unavailable: ModuleNotFoundError" in fp.method
    assert fp.energy_kwh == pytest.approx(fp.cpu_seconds * 10 / 3.6e6)
    assert fp.co2e_kg == pytest.approx(fp.energy_kwh * 0.470783)  # the bundled table's SGP figure
    assert fp.grid_factor_source.startswith("codecarbon 3.3.2 global_energy_mix.json: Singapore, 2023")


def test_codecarbon_failing_at_stop_falls_back_and_the_block_is_unaffected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken(codecarbon.OfflineEmissionsTracker):  # type: ignore[misc, name-defined]
        def stop(self) -> None:
            super().stop()
            raise OSError("sensor went away")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", Broken)
    with track() as box:
        result = sum(range(1000))
    assert result == 499500
    assert box.footprint is not None
    assert "codecarbon failed: OSError: sensor went away" in box.footprint.method
    assert box.footprint.method.startswith("estimate:")


def test_a_run_is_the_sum_of_its_segments_and_a_killed_one_is_estimated() -> None:
    a = Footprint(cpu_seconds=2, wall_seconds=3, energy_kwh=1e-5, co2e_kg=4.7e-6, method="codecarbon x")
    b = Footprint(cpu_seconds=1, wall_seconds=1, energy_kwh=2e-5, co2e_kg=9.4e-6, method="codecarbon x")
    run = one_run([(2, 3, a), (1.5, 2, None), (1, 1, b)], "SGP")
    assert run is not None and run.parts == 1  # one run, whatever its segments
    assert run.cpu_seconds == pytest.approx(4.5) and run.wall_seconds == pytest.approx(6)
    assert run.energy_kwh == pytest.approx(3e-5 + 1.5 * 10 / 3.6e6)
    assert "codecarbon x" in run.method and "segment killed before its tracker stopped" in run.method
    assert one_run([], "SGP") is None


COLD = """
import json, time
from assay.energy import tracker
from assay.energy.tracker import track
with track() as short:
    time.sleep(0.05)
with track() as middle:  # codecarbon starts after 1 s and takes longer than the rest of it
    time.sleep(1.3)
deadline = time.monotonic() + 40
while not tracker._warm and time.monotonic() < deadline:  # the abandoned start finishes in its thread
    time.sleep(0.05)
time.sleep(0.2)  # ... and stops its tracker
with track() as warm:
    time.sleep(0.05)
print(json.dumps([short.footprint.method, middle.footprint.method, warm.footprint.method]))
"""

COLD_LONG = """
import json, time
from assay.energy import tracker
from assay.energy.tracker import track
def busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
with track() as long:  # busy until codecarbon is up (however long its start takes here), then 1 s more
    deadline = time.monotonic() + 60
    while not tracker._warm and time.monotonic() < deadline:
        busy(0.05)
    time.sleep(0.1)
    busy(1.0)
with track() as ends_early:  # the process ends while codecarbon is starting: it waits for the start
    time.sleep(1.1)
print(long.footprint.model_dump_json())
"""


def _fresh_process(code: str, tmp: Path) -> str:
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop(COUNTRY_ENV, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_cold_start_does_not_delay_the_run_and_leaves_nothing(tmp_path: Path) -> None:
    import json

    short, middle, warm = json.loads(_fresh_process(COLD, tmp_path))
    assert short.startswith("estimate:") and "work under 1 s: codecarbon not started" in short
    assert middle.startswith("estimate:") and "codecarbon was still starting when the work ended" in middle
    assert warm.startswith("codecarbon") and "scaled" not in warm  # warm: tracked from the start
    fp = Footprint.model_validate_json(_fresh_process(COLD_LONG, tmp_path))
    assert fp.method.startswith("codecarbon") and "scaled to the run from codecarbon's window" in fp.method
    assert fp.cpu_seconds >= 2.0 and not fp.measured
    assert 0.5 < fp.energy_kwh * 3.6e6 / fp.wall_seconds < 1000
    assert list(tmp_path.iterdir()) == []  # every temporary folder removed, the abandoned one too


def test_overlapping_runs_in_one_process_each_get_a_footprint() -> None:
    """A server may run two evaluations at once: each is tracked by its own codecarbon tracker."""
    import threading

    boxes: dict[str, Any] = {}

    def work(name: str, seconds: float) -> None:
        with track() as box:
            _busy(seconds)
        boxes[name] = box.footprint

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in (("a", 0.3), ("b", 0.6))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(boxes) == {"a", "b"}
    assert all(fp.method.startswith("codecarbon") and fp.energy_kwh > 0 for fp in boxes.values())
    assert boxes["b"].wall_seconds > boxes["a"].wall_seconds


def test_torch_without_cuda_counts_no_gpu() -> None:
    torch = pytest.importorskip("torch", reason="torch (the `model` extra) is not installed")
    with track() as box:
        torch.ones(256, 256) @ torch.ones(256, 256)  # CPU work through torch
    fp = box.footprint
    assert fp is not None
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the CPU-only case cannot be shown here")
    assert fp.gpu_seconds == 0 and "no GPU used" in fp.method
