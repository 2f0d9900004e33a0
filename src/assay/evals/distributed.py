"""Scale-out: spread a run's samples over a Ray cluster (`assay eval run --ray ADDRESS`).

Only the calls to the target travel. The driver (the process that runs `assay eval`) still picks the
samples, answers what the response cache holds, scores every answer, writes the append-only log and
reports progress, so resume, exactly-once logging, re-scoring and evidence work as in a local run.
Each Ray task gets a chunk of rendered prompts and the target's manifest entry as JSON, rebuilds the
target in its worker process (once per process, then cached) and answers the chunk with asyncio.

The target's `max_concurrency` and `rate_limit_per_s` hold for the whole cluster: they are divided
among the tasks in flight, so pointing more machines at an endpoint never exceeds its limits.

Ray is an optional extra (`pip install 'assay[ray]'`); nothing here imports it until a run needs it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.evals.models import Completion, Message, Suite
from assay.evals.runner import Runner, RunOptions
from assay.evals.targets.base import GenerationParams, Target, TargetError, TargetUnavailable

if TYPE_CHECKING:
    from types import ModuleType

    from assay.evals.models import Suite
    from assay.evals.runner import _Job
    from assay.evals.service import EvalOutcome
    from assay.manifest.schema import Manifest
    from assay.manifest.schema import Target as TargetSpec
    from assay.store.response_cache import ResponseCache
    from assay.workspace import Workspace

__all__ = ["DistributedRunError", "RayRunner", "evaluate_on_ray", "import_ray"]

LOCAL = "local"
INSTALL_HINT = "pip install 'assay[ray]'"
# chunks per task slot: enough to balance uneven latencies, few enough to keep task overhead small
_CHUNKS_PER_SLOT = 4
_MAX_ROUNDS = 16
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # `${VAR}` in header values


class DistributedRunError(RuntimeError):
    """A Ray task failed as a whole (worker lost, target not buildable on a node).

    Such failures are not written to the log, so `--resume` asks those samples again once the
    cluster is fixed; per-sample target errors are recorded as in a local run.
    """


def import_ray() -> ModuleType:
    """Ray, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"running on a Ray cluster needs Ray: {INSTALL_HINT}") from exc
    return ray


# -- in the Ray worker ---------------------------------------------------------------------------------
# A worker process runs one task at a time; it keeps one event loop and the targets it built, so a
# target's connection pool (or a loaded model) serves every chunk that lands on that process.
_worker_loop: asyncio.AbstractEventLoop | None = None
_worker_targets: dict[tuple[str, str | None], Target] = {}


def _loop() -> asyncio.AbstractEventLoop:
    global _worker_loop
    if _worker_loop is None or _worker_loop.is_closed():
        _worker_loop = asyncio.new_event_loop()
    return _worker_loop


async def _target(spec_json: str, base_dir: str | None) -> Target:
    from assay.evals.targets import build_target
    from assay.manifest.schema import Target as TargetSpec

    key = (spec_json, base_dir)
    target = _worker_targets.get(key)
    if target is None:
        spec = TargetSpec.model_validate_json(spec_json)
        target = build_target(spec, Path(base_dir) if base_dir else None)
        await target.preflight()  # a node that cannot reach the target fails the task, clearly
        _worker_targets[key] = target
    return target


async def _answer(
    spec_json: str,
    base_dir: str | None,
    params: GenerationParams,
    chunk: list[list[Message]],
    concurrency: int,
) -> list[dict[str, Any]]:
    """Answer a chunk with at most `concurrency` calls in flight (batches for batching targets)."""
    target = await _target(spec_json, base_dir)
    size = max(1, target.batch_size)
    out: list[dict[str, Any]] = [{} for _ in chunk]
    gate = asyncio.Semaphore(max(1, concurrency))

    def put(i: int, result: Completion | TargetError) -> None:
        if isinstance(result, TargetError):
            out[i] = {"error": str(result), "retries": result.retries}
        else:
            out[i] = {"completion": result.model_dump(mode="json")}

    async def one(i: int) -> None:
        async with gate:
            try:
                put(i, await target.generate(chunk[i], params))
            except TargetError as exc:
                put(i, exc)

    async def batch(start: int) -> None:
        async with gate:
            results = await target.generate_batch(chunk[start : start + size], params)
        for offset, result in enumerate(results):
            put(start + offset, result)

    if size == 1:
        await asyncio.gather(*(one(i) for i in range(len(chunk))))
    else:
        await asyncio.gather(*(batch(i) for i in range(0, len(chunk), size)))
    return out


def answer_chunk(
    spec_json: str,
    base_dir: str | None,
    env: dict[str, str],
    params_json: str,
    chunk: list[list[dict[str, str]]],
    concurrency: int,
) -> list[dict[str, Any]]:
    """The body of one Ray task: plain JSON-like data in and out, so driver and workers may differ
    in minor library versions. Each result is `{"completion": {...}}` or `{"error", "retries"}`."""
    global _worker_loop
    os.environ.update(env)  # the key variables the manifest names, forwarded from the driver
    params = GenerationParams.model_validate_json(params_json)
    messages = [[Message.model_validate(m) for m in job] for job in chunk]
    loop = _loop()
    try:
        return loop.run_until_complete(_answer(spec_json, base_dir, params, messages, concurrency))
    except BaseException:
        # a cancelled or crashed task may leave calls half-done on the loop: start clean next time
        _worker_targets.clear()
        loop.close()
        _worker_loop = None
        raise


# -- on the driver ---------------------------------------------------------------------------------------
def _env_for(spec: TargetSpec) -> dict[str, str]:
    """The environment variables the target reads (its key, `${VAR}` in headers) that the driver has;
    workers on other machines would otherwise lack them. Values travel as task arguments."""
    names = set(_ENV_REF.findall(" ".join(spec.headers.values())))
    if spec.api_key_env:
        names.add(spec.api_key_env)
    return {n: os.environ[n] for n in sorted(names) if os.environ.get(n)}


class RayRunner(Runner):
    """A `Runner` whose calls to the target run as Ray tasks; everything else stays on the driver.

    `address` is "local" (start a private Ray instance on this machine, stopped after the run), or
    anything `ray.init` accepts ("auto", "ray://head:10001"). If Ray is already initialised in this
    process (e.g. with a `runtime_env`), that connection is used as it is and left open.
    """

    def __init__(
        self,
        suite: Suite,
        target: Target,
        runs_dir: Path,
        *,
        target_spec: TargetSpec,
        base_dir: Path | None = None,
        address: str = LOCAL,
        num_cpus: int | None = None,
        chunk_size: int | None = None,
        cpus_per_task: float = 1.0,
        options: RunOptions | None = None,
        scorer_targets: Mapping[str, Target] | None = None,
        cache: ResponseCache | None = None,
        progress: Callable[[int, int], None] | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(
            suite,
            target,
            runs_dir,
            options=options,
            scorer_targets=scorer_targets,
            cache=cache,
            progress=progress,
            run_id=run_id,
        )
        self.target_spec = target_spec
        self.base_dir = base_dir
        self.address = address
        self.num_cpus = num_cpus
        self.chunk_size = chunk_size
        self.cpus_per_task = cpus_per_task

    # -- connection --------------------------------------------------------------------------------
    def _connect(self, ray: ModuleType) -> bool:
        """Connect (or start a local instance); True if this run owns the connection."""
        if ray.is_initialized():
            return False
        if self.address == LOCAL:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves an air-gapped lab
            ray.init(
                num_cpus=self.num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                logging_level=logging.ERROR,
            )
        else:
            ray.init(address=self.address, logging_level=logging.ERROR)
        return True

    # -- planning ----------------------------------------------------------------------------------
    def _plan(self, jobs: int, cluster_cpus: float) -> tuple[int, int, int]:
        """(tasks in flight, calls in flight per task, jobs per chunk).

        Tasks in flight times calls per task never exceeds the target's `max_concurrency`.
        """
        slots = max(1, min(int(cluster_cpus // self.cpus_per_task), self.target.max_concurrency))
        per_task = max(1, self.target.max_concurrency // slots)
        unit = max(1, self.target.batch_size) * per_task
        if self.chunk_size:
            return slots, per_task, self.chunk_size
        rounds = min(_MAX_ROUNDS, max(1, math.ceil(jobs / (slots * _CHUNKS_PER_SLOT * unit))))
        return slots, per_task, unit * rounds

    def _worker_spec(self, slots: int, per_task: int) -> str:
        """The manifest entry each worker builds: the limits are its share of the cluster-wide ones."""
        update: dict[str, Any] = {"max_concurrency": per_task}
        if self.target_spec.rate_limit_per_s:
            update["rate_limit_per_s"] = self.target_spec.rate_limit_per_s / slots
        return self.target_spec.model_copy(update=update).model_dump_json()

    # -- the run -----------------------------------------------------------------------------------
    async def _run_workers(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        ray = import_ray()
        owned = self._connect(ray)
        try:
            await self._dispatch(ray, jobs)
        finally:
            if owned:
                ray.shutdown()

    async def _dispatch(self, ray: ModuleType, jobs: list[_Job]) -> None:
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        slots, per_task, size = self._plan(len(jobs), cpus)
        remote = ray.remote(answer_chunk).options(num_cpus=self.cpus_per_task, name="assay.answer_chunk")
        spec_json = self._worker_spec(slots, per_task)
        base_dir = str(self.base_dir) if self.base_dir else None
        env = _env_for(self.target_spec)
        params_json = self.options.params.model_dump_json()
        waiting = deque(jobs[i : i + size] for i in range(0, len(jobs), size))
        running: dict[Any, list[_Job]] = {}
        try:
            while waiting or running:
                while waiting and len(running) < slots:
                    chunk = waiting.popleft()
                    prompts = [[m.model_dump() for m in job.messages] for job in chunk]
                    ref = remote.remote(spec_json, base_dir, env, params_json, prompts, per_task)
                    running[ref] = chunk
                # ray.wait blocks: run it in a thread so the driver's event loop stays responsive
                ready, _ = await asyncio.to_thread(ray.wait, list(running), num_returns=1, timeout=1.0)
                for ref in ready:
                    chunk = running.pop(ref)
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        raise DistributedRunError(_task_failure(exc)) from exc
                    for job, result in zip(chunk, results, strict=True):
                        await self._finish_result(job, result)
        finally:
            for ref in running:
                ray.cancel(ref)

    async def _finish_result(self, job: _Job, result: dict[str, Any]) -> None:
        if "completion" in result:
            await self._finish(job, Completion.model_validate(result["completion"]), None)
        else:
            await self._finish(
                job, None, TargetError(result.get("error", "no answer"), result.get("retries", 0))
            )


def _task_failure(exc: BaseException) -> str:
    """The cause a user can act on, without Ray's long wrapped traceback."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, TargetUnavailable):
        return f"a Ray worker cannot use the target: {cause}"
    first = str(exc).strip().splitlines()
    detail = str(cause) if cause is not None else (first[-1] if first else type(exc).__name__)
    return f"a Ray task failed ({type(exc).__name__}): {detail}; finished samples are logged, resume the run"


async def evaluate_on_ray(
    ws: Workspace,
    suite_name: str | Suite,
    target_id: str,
    *,
    manifest: Manifest | None = None,
    base_dir: Path | None = None,
    options: RunOptions | None = None,
    resume_run: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    address: str = LOCAL,
    num_cpus: int | None = None,
    cpus_per_task: float = 1.0,
    strict: bool = False,
) -> EvalOutcome:
    """`service.evaluate`, with the target's calls spread over the Ray cluster at `address`.

    `num_cpus` sizes a local instance (default: every core); `cpus_per_task` is what each task
    reserves (raise it for the bundled model, whose engine then gets that many threads).
    """
    import functools

    import_ray()  # fail before any work if the extra is missing
    from assay.evals import service

    spec = service.target_specs(manifest).get(target_id)
    factory = functools.partial(
        RayRunner,
        target_spec=spec,
        base_dir=base_dir,
        address=address,
        num_cpus=num_cpus,
        cpus_per_task=cpus_per_task,
    )
    return await service.evaluate(
        ws,
        suite_name,
        target_id,
        manifest=manifest,
        base_dir=base_dir,
        options=options,
        resume_run=resume_run,
        progress=progress,
        runner_factory=factory,
        strict=strict,
    )
