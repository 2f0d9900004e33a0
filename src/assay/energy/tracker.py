"""The footprint of a block of work: CPU and GPU time, energy and CO₂e, with the method stated.

codecarbon's offline tracker (no network, nothing written outside a temporary folder) supplies the
energy when it is installed and works; otherwise, or when it fails in any way, the energy is estimated
from the CPU time and the reason is written into `method`. Tracking never makes the tracked work fail.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assay.energy.grid import carbon_country, codecarbon_version, estimate_data, grid_factor
from assay.energy.models import Footprint

log = logging.getLogger(__name__)

# codecarbon's CPU modes (`CPU._mode`) that read a hardware energy counter rather than model power
_MEASURED_CPU = {
    "intel_rapl": "RAPL energy counters",
    "intel_power_gadget": "Intel Power Gadget",
    "windows_emi": "Windows energy meter",
}
_ESTIMATED_CPU = {"cpu_load": "TDP × process CPU load", "constant": "constant TDP"}


class FootprintBox:
    """Holds the footprint once the tracked block has ended (None inside the block)."""

    def __init__(self) -> None:
        self.footprint: Footprint | None = None


def cpu_seconds_now() -> float:
    """User + system CPU time of this process and of its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def cuda_used() -> bool:
    """True when this process has initialised CUDA through torch (never imports torch itself)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_available() and torch.cuda.is_initialized())
    except Exception:
        return False


_folders: set[str] = set()  # codecarbon's temporary folders not yet removed


def _remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    _folders.discard(folder)


@atexit.register
def _remove_all() -> None:
    """A process that ends while codecarbon is starting lets that start finish (so that no probe
    subprocess outlives it) and leaves no folder behind."""
    for timer in list(_starting):
        timer.cancel()
        timer.join(timeout=10)
    for folder in list(_folders):
        _remove(folder)


class _CodeCarbon:
    """One offline codecarbon tracker, quiet, writing only into a temporary folder it removes."""

    def __init__(self, country: str) -> None:
        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)  # after the import, which sets INFO

        self.folder = tempfile.mkdtemp(prefix="assay-codecarbon-")
        _folders.add(self.folder)
        try:
            self.tracker = OfflineEmissionsTracker(
                country_iso_code=country,
                project_name="assay",
                output_dir=self.folder,
                output_methods=[],  # no CSV, API, logger, Prometheus or Logfire output
                emissions_endpoint=None,  # nor HTTP, whatever a codecarbon config file says
                tracking_mode="process",
                allow_multiple_runs=True,  # several runs may be tracked at once in one server
                force_carbon_intensity_g_co2e_kwh=None,  # the country's figure, whatever a config says
                pue=1.0,
                log_level="error",
            )
            self.tracker.start()  # codecarbon swallows its own errors here: check that it started
            if getattr(self.tracker, "_start_time", None) is None:
                raise RuntimeError("its tracker did not start")
        except BaseException:
            _remove(self.folder)
            raise

    def stop(self) -> Any:
        try:
            self.tracker.stop()
            data = getattr(self.tracker, "final_emissions_data", None)
        finally:
            _remove(self.folder)
        if data is None:
            raise RuntimeError("its tracker returned no data")
        return data

    def parts(self) -> tuple[str, bool, bool]:
        """(CPU method, CPU power measured?, a GPU tracked?) from the hardware codecarbon chose."""
        cpu_text, cpu_measured, gpu = "CPU not tracked", False, False
        for hw in getattr(self.tracker, "_hardware", []):
            kind = type(hw).__name__
            if kind == "GPU":
                gpu = True
            elif kind == "AppleSiliconChip":
                cpu_text, cpu_measured = "CPU power: powermetrics", True
            elif kind == "CPU":
                mode = str(getattr(hw, "_mode", "?"))
                cpu_measured = mode in _MEASURED_CPU
                cpu_text = "CPU power: " + (_MEASURED_CPU.get(mode) or _ESTIMATED_CPU.get(mode) or mode)
                tdp = getattr(hw, "_tdp", None)
                if not cpu_measured and tdp:
                    cpu_text += f" ({getattr(hw, '_model', '?')}, {tdp} W)"
        return cpu_text, cpu_measured, gpu


def estimate(
    cpu_s: float, wall_s: float, country: str, reason: str, gpu_s: float = 0.0, parts: int = 1
) -> Footprint:
    """The fallback: a fixed power per busy core times the CPU time, charged to the country's grid."""
    watts = estimate_data().cpu_watts_per_busy_core
    factor = grid_factor(country)
    energy = cpu_s * watts / 3.6e6
    method = f"estimate: {watts:g} W per busy core × CPU time, no GPU energy ({reason})"
    return Footprint(
        cpu_seconds=cpu_s,
        gpu_seconds=gpu_s,
        wall_seconds=wall_s,
        energy_kwh=energy,
        co2e_kg=energy * (factor.kg_per_kwh if factor else 0.0),
        country=country,
        grid_factor_kg_per_kwh=factor.kg_per_kwh if factor else 0.0,
        grid_factor_source=factor.source if factor else f"no grid factor for {country}",
        method=method,
        measured=False,
        parts=parts,
    )


class _Window:
    """When codecarbon's tracking began, on the wall clock and the process's CPU clock."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds_now()


def _from_codecarbon(
    meter: _CodeCarbon, window: _Window, country: str, cpu_s: float, wall_s: float, gpu: bool
) -> Footprint:
    """codecarbon's figures for the run. When it came up after the run began (its first start in a
    process probes the CPU model for ~1.5 s, which the run does not wait for), the CPU energy is scaled
    by CPU time and the RAM and GPU energy by wall time from its window to the whole run."""
    data = meter.stop()
    cover_wall, cover_cpu = time.perf_counter() - window.wall, cpu_seconds_now() - window.cpu
    cpu_text, cpu_measured, gpu_tracked = meter.parts()
    kinds = ("cpu_energy", "ram_energy", "gpu_energy")
    cpu_kwh, ram_kwh, gpu_kwh = (float(getattr(data, k) or 0.0) for k in kinds)
    total = float(data.energy_consumed or 0.0)
    for value in (cpu_kwh, ram_kwh, gpu_kwh, total):
        if not 0 <= value < 1e9:
            raise ValueError(f"it reported an energy of {value} kWh")
    scaled = ""
    if cover_wall < wall_s * 0.99:
        if cover_wall < 0.2 or cover_cpu <= 0.01:
            raise RuntimeError(f"its window ({cover_wall:.2f} s of {wall_s:.2f} s) is too short to scale")
        cpu_kwh *= cpu_s / cover_cpu
        ram_kwh *= wall_s / cover_wall
        gpu_kwh *= wall_s / cover_wall
        share = f"{100 * cover_wall / wall_s:.0f}%"
        scaled = f"; scaled to the run from codecarbon's window ({share} of its time)"
    factor = grid_factor(country)
    kg_per_kwh = float(data.emissions) / total if total > 0 else (factor.kg_per_kwh if factor else 0.0)
    energy = cpu_kwh + ram_kwh + (gpu_kwh if gpu else 0.0)
    gpu_s, gpu_text = 0.0, "no GPU used"
    if gpu and gpu_tracked:
        util = float(getattr(data, "gpu_utilization_percent", 0) or 0)
        gpu_s = wall_s * util / 100 if util > 0 else wall_s
        gpu_text = "GPU NVML energy counter" + (", GPU time = wall × mean utilisation" if util > 0 else "")
    elif gpu:
        gpu_text = "GPU used but not seen by codecarbon: GPU energy not counted, GPU time = wall time"
        gpu_s = wall_s
    return Footprint(
        cpu_seconds=cpu_s,
        gpu_seconds=gpu_s,
        wall_seconds=wall_s,
        energy_kwh=energy,
        co2e_kg=energy * kg_per_kwh,
        country=country,
        grid_factor_kg_per_kwh=kg_per_kwh,
        grid_factor_source=factor.source if factor else "codecarbon",
        method=f"codecarbon {codecarbon_version()} offline, process share: {cpu_text}; "
        f"RAM power model; {gpu_text}{scaled}",
        measured=cpu_measured and (not gpu or gpu_tracked) and not scaled,
    )


_warm = False  # codecarbon has started once in this process: its hardware probe is cached, starts are fast


START_DELAY_S = 1.0  # a cold process starts codecarbon only for work that lasts longer than this
_starting: set[threading.Thread] = set()  # cold starts not yet finished


class _Starter:
    """Starts codecarbon for one block of work.

    In a process that has started codecarbon before, at once (it takes milliseconds). The first start
    in a process takes ~1.5 s (codecarbon probes the CPU model in a subprocess), so there it begins in a
    daemon thread after START_DELAY_S: work shorter than that (a cached re-run) never pays for it and is
    estimated, longer work is not delayed and its figures are scaled from codecarbon's window. A start
    that completes after the work has ended is stopped straight away; no tracker is left running."""

    def __init__(self, country: str) -> None:
        self._country = country
        self._lock = threading.Lock()
        self._meter: _CodeCarbon | None = None
        self._window: _Window | None = None
        self._error = ""
        self._begun = False
        self._abandoned = False
        if _warm:
            self._start()
        else:
            timer = threading.Timer(START_DELAY_S, self._start)
            timer.name, timer.daemon = "assay-codecarbon", True
            self._timer = timer
            _starting.add(timer)
            timer.start()

    def _start(self) -> None:
        global _warm
        with self._lock:
            if self._abandoned:
                _starting.discard(threading.current_thread())  # type: ignore[arg-type]
                return
            self._begun = True
        try:
            meter = _CodeCarbon(self._country)
        except Exception as exc:  # not installed, blocked, or broken: the work is estimated instead
            with self._lock:
                self._error = f"codecarbon unavailable: {type(exc).__name__}: {exc}"
            return
        finally:
            _starting.discard(threading.current_thread())  # type: ignore[arg-type]
        _warm = True
        with self._lock:
            if not self._abandoned:
                self._meter, self._window = meter, _Window()
                return
        with contextlib.suppress(Exception):
            meter.stop()

    def take(self) -> tuple[_CodeCarbon | None, _Window | None, str]:
        """The running tracker and its window, or None and why there is none (never waits)."""
        with self._lock:
            if self._meter is None and not self._error:
                self._abandoned = True
                if not self._begun:
                    self._timer.cancel()
                    _starting.discard(self._timer)
                    return None, None, f"work under {START_DELAY_S:g} s: codecarbon not started"
                return None, None, "codecarbon was still starting when the work ended"
            return self._meter, self._window, self._error


@contextmanager
def track(country: str | None = None) -> Iterator[FootprintBox]:
    """Track the block; on exit `box.footprint` holds its footprint.

    `country` (ISO alpha-3) defaults to `ASSAY_CARBON_COUNTRY`, else SGP; an invalid one raises
    ValueError here, before the block runs. Whatever goes wrong with codecarbon after that, the block
    is unaffected and the footprint falls back to the estimate, saying why in `method`."""
    code = carbon_country(country)
    box = FootprintBox()
    starter = _Starter(code)
    t0, c0 = time.perf_counter(), cpu_seconds_now()
    try:
        yield box
    finally:
        wall_s, cpu_s = time.perf_counter() - t0, cpu_seconds_now() - c0
        gpu = cuda_used()
        footprint = None
        meter, window, reason = starter.take()
        if meter is not None and window is not None:
            try:
                footprint = _from_codecarbon(meter, window, code, cpu_s, wall_s, gpu)
            except Exception as exc:
                reason = f"codecarbon failed: {type(exc).__name__}: {exc}"
        if footprint is None:
            log.debug("energy tracking fell back to the estimate: %s", reason)
            footprint = estimate(cpu_s, wall_s, code, reason, gpu_s=wall_s if gpu else 0.0)
        box.footprint = footprint


def warm_up(country: str | None = None) -> bool:
    """Start and stop codecarbon once, so that the runs after it are tracked from their first moment
    (a server may call it at start-up). False when codecarbon is not usable."""
    global _warm
    if not _warm:
        with contextlib.suppress(Exception):
            _CodeCarbon(carbon_country(country)).stop()
            _warm = True
    return _warm


def one_run(segments: list[tuple[float, float, Footprint | None]], country: str) -> Footprint | None:
    """A run's footprint from its segments' (CPU s, wall s, footprint): their sum, counted as one run.

    A segment without a footprint (its process was killed before its tracker stopped) is estimated
    from the CPU time it recorded, so a resumed run's figure still covers every segment."""
    parts = [
        fp or estimate(cpu_s, wall_s, country, "segment killed before its tracker stopped")
        for cpu_s, wall_s, fp in segments
    ]
    if not parts:
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total.model_copy(update={"parts": 1})
