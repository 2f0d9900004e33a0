"""How many CPU threads the bundled engine gives torch, and keeping those threads from spinning.

Torch's own default is one thread per physical core of the machine, whatever else runs there. On a
shared machine that oversubscribes the cores: every decoding step ends in a barrier that waits for
the slowest thread, and a thread that the kernel has parked behind another process stalls the rest
(a batch that takes minutes at one thread took over twenty at two). So the engine takes a setting
from whoever made one, and otherwise counts the CPUs that are actually free.

The order, first match wins (each source is documented in docs/targets.md):

1. `threads=` passed to `BundledModel.load` / `BundledTarget` in Python;
2. the `ASSAY_THREADS` environment variable (a whole number ≥ 1, else an error);
3. `threads:` on the bundled target in the manifest;
4. `torch.set_num_threads(n)` called by the host program before the engine loads;
5. `MKL_NUM_THREADS`, then `OMP_NUM_THREADS` (the first number of a list; torch reads them in
   that order too);
6. the free-CPU rule, `free_cpu_threads`.

The decisions are pure functions of their inputs (`explicit_threads`, `free_cpu_threads`); the probes
that read the machine (`probe_cpus`) are separate so that tests can feed any machine state.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

ENV_VAR = "ASSAY_THREADS"
SAMPLE_S = 0.25  # how long `probe_cpus` watches /proc/stat for other processes' CPU use

ThreadSource = Literal[
    "argument", "ASSAY_THREADS", "manifest", "torch", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "free-cpus"
]

# The count this process last gave torch, so that a second load does not mistake it for a caller's.
_SET_BY_ASSAY: int | None = None


class ThreadSettingError(ValueError):
    """A thread setting that is not a whole number ≥ 1."""


class CpuView(BaseModel):
    """What the machine offers this process, as `probe_cpus` reads it."""

    affinity: int = Field(ge=1, description="CPUs this process may run on (sched_getaffinity)")
    online: int = Field(ge=1, description="CPUs of the whole machine; the load average counts them all")
    quota: float | None = Field(None, gt=0, description="the cgroup's CPU quota in CPUs, if it has one")
    load1: float = Field(0.0, ge=0, description="the one-minute load average")
    busy_now: float | None = Field(
        None, ge=0, description="CPUs kept busy by other processes over a short sample just now"
    )


class ThreadChoice(BaseModel):
    """The thread count the engine uses, where it came from, and why."""

    threads: int = Field(ge=1)
    source: ThreadSource
    reason: str


def parse_count(value: str, name: str, *, first_of_list: bool = False) -> int:
    """A whole number ≥ 1 from a setting's text; `first_of_list` reads OpenMP's `4,2` form."""
    text = value.strip()
    if first_of_list:
        text = text.split(",", 1)[0].strip()
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ThreadSettingError(f"{name} must be a whole number of threads ≥ 1, got {value!r}")
    return count


def explicit_threads(
    *,
    argument: int | None = None,
    env: Mapping[str, str] | None = None,
    manifest: int | None = None,
    caller_torch: int | None = None,
) -> ThreadChoice | None:
    """The first thread setting someone made (sources 1–5 of the module docstring), or None.

    A bad `ASSAY_THREADS` (or argument or manifest value) is an error; a bad `MKL_NUM_THREADS` or
    `OMP_NUM_THREADS` belongs to other programs too, so it is skipped with a warning, as torch does.
    """
    env = os.environ if env is None else env
    if argument is not None:
        return ThreadChoice(
            threads=_positive(argument, "threads"), source="argument", reason="threads= given in code"
        )
    if env.get(ENV_VAR, "").strip():
        n = parse_count(env[ENV_VAR], ENV_VAR)
        return ThreadChoice(threads=n, source="ASSAY_THREADS", reason=f"{ENV_VAR}={env[ENV_VAR].strip()}")
    if manifest is not None:
        n = _positive(manifest, "the target's threads")
        return ThreadChoice(threads=n, source="manifest", reason=f"threads: {n} in the manifest")
    if caller_torch is not None:
        n = _positive(caller_torch, "torch.get_num_threads()")
        return ThreadChoice(threads=n, source="torch", reason=f"torch.set_num_threads({n}) by the caller")
    for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            n = parse_count(raw, name, first_of_list=True)
        except ThreadSettingError as exc:
            log.warning("ignoring %s", exc)
            continue
        return ThreadChoice(threads=n, source=name, reason=f"{name}={raw}")  # type: ignore[arg-type]
    return None


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ThreadSettingError(f"{name} must be a whole number of threads ≥ 1, got {value!r}")
    return value


def free_cpu_threads(cpus: CpuView) -> ThreadChoice:
    """The free-CPU rule: the CPUs this process may use, less those other processes keep busy.

    - usable = CPUs in the affinity mask, capped by the cgroup quota (rounded down, at least 1):
      threads beyond the quota are throttled in the middle of a step;
    - busy = the larger of the one-minute load average scaled to the usable share of the machine
      (load1 × usable / online; the load average counts every CPU) and the CPUs other processes
      used during a short sample. The sample sees a load that started seconds ago, the load average
      one that is briefly idle. The larger one is taken because the costs are lopsided: one thread
      too few loses at most that thread's share, one too many can stall every step;
    - threads = usable − busy rounded half up, at least 1 and at most usable.
    """
    usable = cpus.affinity
    capped = ""
    if cpus.quota is not None and cpus.quota < usable:
        usable = max(1, math.floor(cpus.quota))
        capped = f", cgroup quota {cpus.quota:g} CPUs"
    from_load = cpus.load1 * usable / cpus.online
    busy = max(from_load, cpus.busy_now or 0.0)
    taken = math.floor(busy + 0.5)
    threads = min(usable, max(1, usable - taken))
    sample = "" if cpus.busy_now is None else f", {cpus.busy_now:.2f} busy in a sample"
    reason = (
        f"{threads} of {usable} usable CPUs (affinity {cpus.affinity}{capped}); "
        f"others busy ≈ {busy:.2f} (load average {cpus.load1:.2f} over {cpus.online} CPUs{sample})"
    )
    return ThreadChoice(threads=threads, source="free-cpus", reason=reason)


# --- reading the machine ---------------------------------------------------------------------


def affinity_cpus() -> set[int]:
    """The CPUs this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return set(range(os.cpu_count() or 1))


def cgroup_quota(
    root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), or None."""
    for folder in _cgroup_folders(root, proc_cgroup):
        try:
            quota, _, period = (folder / "cpu.max").read_text().strip().partition(" ")
        except OSError:
            pass
        else:
            if quota != "max" and period:
                try:
                    return int(quota) / int(period)
                except (ValueError, ZeroDivisionError):
                    return None
            return None
    for folder in (root / "cpu", root / "cpu,cpuacct"):
        try:
            quota_us = int((folder / "cpu.cfs_quota_us").read_text())
            period_us = int((folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    return None


def _cgroup_folders(root: Path, proc_cgroup: Path) -> list[Path]:
    """The v2 folder of this process (inside a container usually the root itself), then the root."""
    folders: list[Path] = []
    try:
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                rel = line[3:].strip().lstrip("/")
                if rel:
                    folders.append(root / rel)
    except OSError:
        pass
    folders.append(root)
    return folders


def _cpu_ticks(cpus: Iterable[int], stat: str) -> tuple[int, int]:
    """(busy, total) clock ticks of the given CPUs from the text of /proc/stat; steal counts as busy."""
    wanted = {f"cpu{i}" for i in cpus}
    busy = total = 0
    for line in stat.splitlines():
        name, _, rest = line.partition(" ")
        if name not in wanted:
            continue
        fields = [int(x) for x in rest.split()]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        all_ticks = sum(fields[:8])  # guest time is already inside user
        busy += all_ticks - idle
        total += all_ticks
    return busy, total


def _own_ticks() -> int:
    """This process's user + system clock ticks (all its threads)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _read_proc_stat() -> str:
    return Path("/proc/stat").read_text()


def busy_elsewhere(
    cpus: set[int],
    sample_s: float = SAMPLE_S,
    *,
    read_stat: Callable[[], str] = _read_proc_stat,
    read_own: Callable[[], int] = _own_ticks,
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """CPUs' worth of work other processes did on `cpus` during `sample_s`: the CPUs' busy ticks less
    this process's own; None where /proc cannot be read."""
    try:
        busy0, total0 = _cpu_ticks(cpus, read_stat())
        own0 = read_own()
        sleep(sample_s)
        busy1, total1 = _cpu_ticks(cpus, read_stat())
        own1 = read_own()
    except (OSError, ValueError, IndexError):
        return None
    span = (total1 - total0) / max(1, len(cpus))  # ticks that passed, per CPU
    if span <= 0:
        return None
    others = (busy1 - busy0) - (own1 - own0)
    return round(min(float(len(cpus)), max(0.0, others / span)), 3)


def probe_cpus(sample_s: float = SAMPLE_S) -> CpuView:
    """Read affinity, cgroup quota, load average and a short sample of other processes' CPU use."""
    mine = affinity_cpus()
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = 0.0
    return CpuView(
        affinity=max(1, len(mine)),
        online=max(len(mine), os.cpu_count() or 1),
        quota=cgroup_quota(),
        load1=load1,
        busy_now=busy_elsewhere(mine, sample_s) if sample_s > 0 else None,
    )


# --- torch -----------------------------------------------------------------------------------


def quiet_openmp_env(env: MutableMapping[str, str] | None = None) -> bool:
    """Ask OpenMP to sleep rather than spin when its threads wait, unless the user chose otherwise.

    libgomp reads `OMP_WAIT_POLICY` once, when torch loads it, so this only helps before `import
    torch`; returns whether it was in time. PASSIVE threads wait in the kernel instead of burning a
    CPU that another process (or this one's other threads) could use.
    """
    if "torch" in sys.modules:
        return False
    (os.environ if env is None else env).setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return True


def torch_default_threads(env: Mapping[str, str] | None = None) -> set[int]:
    """The counts torch may have picked by itself: MKL_NUM_THREADS / OMP_NUM_THREADS when set (torch
    reads them), else the machine's physical cores as torch's cpuinfo counts them — where sysfs hides
    the topology that count is uncertain, so os.cpu_count() is taken as a default too."""
    env = os.environ if env is None else env
    for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):  # torch lets MKL's override OpenMP's
        raw = env.get(name, "").strip()
        if raw:
            try:
                return {parse_count(raw, name, first_of_list=True)}
            except ThreadSettingError:
                pass
    return {physical_cores(), os.cpu_count() or 1}


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct (package, core) pairs over every CPU, as torch's cpuinfo counts them; else cpu_count()."""
    cores: set[tuple[str, str]] = set()
    for topo in sysfs.glob("cpu[0-9]*/topology"):
        try:
            cores.add(
                ((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip())
            )
        except OSError:
            continue
    return len(cores) or os.cpu_count() or 1


def caller_torch_threads(torch_defaults: set[int] | None = None) -> int | None:
    """The count the host program gave `torch.set_num_threads`, if it did, else None.

    Torch keeps no flag for this, so a count that is none of torch's own defaults and not the one
    Assay set last is taken as the caller's. A caller who sets exactly a default is not seen (and gets
    the rule instead: the safe side). Importing torch here would defeat `quiet_openmp_env`, so a
    process that has not imported torch yet cannot have called it.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    current = int(torch.get_num_threads())
    defaults = torch_defaults if torch_defaults is not None else torch_default_threads()
    if current in defaults or current == _SET_BY_ASSAY:
        return None
    return current


def resolve_threads(
    argument: int | None = None, manifest: int | None = None, *, sample_s: float = SAMPLE_S
) -> ThreadChoice:
    """The thread count for an engine about to load, from the sources in the module docstring."""
    choice = explicit_threads(
        argument=argument, env=os.environ, manifest=manifest, caller_torch=caller_torch_threads()
    )
    return choice or free_cpu_threads(probe_cpus(sample_s))


def use_threads(torch: object, count: int) -> None:
    """Make `count` the torch thread count of the calling OS thread.

    With OpenMP, torch keeps the count per OS thread: `set_num_threads` changes the caller's own and
    the one that threads starting torch work later pick up, not that of a thread (say an executor
    worker) that already ran torch work. So the engine calls this on the thread that generates.
    """
    global _SET_BY_ASSAY
    if torch.get_num_threads() != count:  # type: ignore[attr-defined]
        torch.set_num_threads(count)  # type: ignore[attr-defined]
    _SET_BY_ASSAY = count


def apply_threads(torch: object, choice: ThreadChoice) -> None:
    """Give torch the chosen count, and one inter-op thread (generation never runs ops side by side)."""
    global _SET_BY_ASSAY
    torch.set_num_threads(choice.threads)  # type: ignore[attr-defined]
    _SET_BY_ASSAY = choice.threads
    with contextlib.suppress(RuntimeError):  # already set, or inter-op work ran: keep what is there
        torch.set_num_interop_threads(1)  # type: ignore[attr-defined]
    log.info("bundled model: %d torch threads (%s: %s)", choice.threads, choice.source, choice.reason)
