"""The runner: samples flow through a target and the scorers into an append-only log.

Workers pull from one queue (no lock-step batches): as soon as one answer is back, that worker takes
the next sample. A target that batches (the bundled model) gets up to `batch_size` samples per call.
Cached answers are scored without calling the target at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import random
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from assay import __version__
from assay.energy.models import Footprint
from assay.energy.tracker import one_run, track
from assay.evals.models import Completion, Message, Sample, SampleRecord, ScorerSpec, Suite
from assay.evals.runlog import (
    LOG,
    OWNER,
    SPEC,
    SUITE,
    SUMMARY,
    RunLog,
    RunOwner,
    SegmentClock,
    read_log,
    read_segments,
    write_json,
)
from assay.evals.scorers.base import Scorer, build_scorer
from assay.evals.targets.base import GenerationParams, Target, TargetError
from assay.store.response_cache import ResponseCache

Progress = Callable[[int, int], None]


class RunOptions(BaseModel):
    limit: int | None = Field(None, ge=1, description="the first N samples")
    sample: int | None = Field(None, ge=1, description="a random N samples, chosen with `seed`")
    seed: int = 0
    epochs: int = Field(1, ge=1, description="how many times each sample is asked")
    use_cache: bool = True
    system_prompt: str | None = Field(None, description="replaces the suite's system prompt")
    params: GenerationParams = Field(default_factory=GenerationParams)


class RunSpec(BaseModel):
    """What a run is: enough to repeat it, or to resume it with the same selection."""

    run_id: str
    created_at: dt.datetime
    assay_version: str = __version__
    suite_id: str
    suite_title: str = ""
    suite_digest: str
    suite_source: str | None = None
    target_id: str
    target: dict[str, Any]
    scorers: list[ScorerSpec]
    options: RunOptions
    sample_ids: list[str]


class RunSummary(BaseModel):
    run_id: str
    suite_id: str
    target_id: str
    status: str = Field(description="complete, or interrupted (resume it with --resume)")
    started_at: dt.datetime
    finished_at: dt.datetime
    samples: int
    records: int
    target_errors: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    wall_s: float = Field(description="seconds, added up over every segment of the run")
    cpu_s: float = Field(description="CPU seconds of this process, added up over every segment")
    segments: int = Field(1, description="processes that worked on the run (1 + times resumed)")
    samples_per_s: float
    cpu_ms_per_sample: float
    metrics: dict[str, Any] = Field(default_factory=dict)
    score: float | None = None
    grade: str | None = None
    footprint: Footprint | None = Field(
        None, description="energy and CO₂e of the run, added up over every segment (see docs/energy.md)"
    )


def select_samples(suite: Suite, options: RunOptions) -> list[Sample]:
    samples = list(suite.samples)
    if options.sample is not None and options.sample < len(samples):
        rng = random.Random(options.seed)
        picked = set(rng.sample(range(len(samples)), options.sample))
        samples = [s for i, s in enumerate(samples) if i in picked]
    if options.limit is not None:
        samples = samples[: options.limit]
    return samples


def cache_key(target_identity: Mapping[str, Any], params: GenerationParams, messages: list[Message]) -> str:
    payload = json.dumps(
        [target_identity, params.model_dump(mode="json"), [[m.role, m.content] for m in messages]],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def new_run_id(suite_id: str, target_id: str) -> str:
    """Ids sort in the order runs started (to the millisecond), so "the latest run" is the last name."""
    now = dt.datetime.now(dt.UTC)
    stamp = f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}"
    return f"{stamp}-{suite_id}-{target_id}-{uuid.uuid4().hex[:6]}"[:120]


class _Job:
    __slots__ = ("sample", "epoch", "messages", "key")

    def __init__(self, sample: Sample, epoch: int, messages: list[Message], key: str) -> None:
        self.sample = sample
        self.epoch = epoch
        self.messages = messages
        self.key = key


class Runner:
    """One run of one suite against one target."""

    def __init__(
        self,
        suite: Suite,
        target: Target,
        runs_dir: Path,
        *,
        options: RunOptions | None = None,
        scorer_targets: Mapping[str, Target] | None = None,
        cache: ResponseCache | None = None,
        progress: Progress | None = None,
        run_id: str | None = None,
        country: str | None = None,
    ) -> None:
        from assay.energy.grid import carbon_country

        self.country = carbon_country(country)  # a bad ASSAY_CARBON_COUNTRY stops the run before it starts
        self.suite = suite
        self.target = target
        self.options = options or RunOptions()
        self.cache = cache if self.options.use_cache else None
        self.progress = progress
        self.scorers: list[Scorer] = [
            build_scorer(s.name, s.params, targets=scorer_targets) for s in suite.scorers
        ]
        self.run_id = run_id or new_run_id(suite.id, target.id)
        self.folder = runs_dir / self.run_id
        self.log = RunLog(self.folder)
        self._done = 0
        self._total = 0
        self._errors = 0
        self._hits = 0
        self._tokens_in = 0
        self._tokens_out = 0
        self._planned: tuple[list[Sample], list[_Job]] | None = None
        self._answers: dict[str, Any] | None = None
        self.written: RunFiles | None = None

    # -- preparation -------------------------------------------------------------------------------
    def _spec(self, samples: list[Sample]) -> RunSpec:
        return RunSpec(
            run_id=self.run_id,
            created_at=dt.datetime.now(dt.UTC),
            suite_id=self.suite.id,
            suite_title=self.suite.title,
            suite_digest=self.suite.digest(),
            suite_source=self.suite.source,
            target_id=self.target.id,
            target=self.target.identity(),
            scorers=self.suite.scorers,
            options=self.options,
            sample_ids=[s.id for s in samples],
        )

    def _jobs(self, samples: list[Sample], done: set[tuple[str, int]]) -> list[_Job]:
        from assay.evals.suites import render_messages

        identity = self.target.identity()
        jobs = []
        for sample in samples:
            messages = render_messages(self.suite, sample, self.options.system_prompt)
            key = cache_key(identity, self.options.params, messages)
            for epoch in range(self.options.epochs):
                if (sample.id, epoch) not in done:
                    # epochs beyond the first must not all read the same cached answer
                    jobs.append(_Job(sample, epoch, messages, key if epoch == 0 else f"{key}:{epoch}"))
        return jobs

    def served_by_cache(self) -> bool:
        """True when every answer a new run needs is already in the response cache.

        Such a run never calls the target, so it need not be reachable: a cached re-run works offline
        (and skips the preflight's connection)."""
        if self.cache is None:
            return False
        keys = {job.key for job in self._new_run_jobs()[1]}
        hits = self.cache.get_many(keys)
        if keys and len(hits) == len(keys):
            self._answers = hits  # the run answers from these rather than reading them again
            return True
        return False

    def _new_run_jobs(self) -> tuple[list[Sample], list[_Job]]:
        """A new run's samples and jobs (every prompt rendered and keyed), worked out once: the cache
        check before the run and the run itself need the same ones."""
        if self._planned is None:
            samples = select_samples(self.suite, self.options)
            self._planned = samples, self._jobs(samples, set())
        return self._planned

    # -- the run -----------------------------------------------------------------------------------
    async def run(self, resume: bool = False) -> RunSummary:
        if resume:
            spec = RunSpec.model_validate_json((self.folder / SPEC).read_text())
            by_id = {s.id: s for s in self.suite.samples}
            missing = [i for i in spec.sample_ids if i not in by_id]
            if missing:
                raise ValueError(f"the suite no longer has samples {missing[:5]} that run {self.run_id} used")
            samples = [by_id[i] for i in spec.sample_ids]
            self.log.repair()
            jobs = self._jobs(samples, self.log.finished_ids())
        else:
            if self.folder.exists():
                raise FileExistsError(f"run folder {self.folder} exists already")
            samples, jobs = self._new_run_jobs()
            self.folder.mkdir(parents=True)
            spec = self._spec(samples)
            write_json(self.folder / SPEC, spec)
            write_json(self.folder / SUITE, self.suite)
        self._total = len(samples) * self.options.epochs
        self._done = self._total - len(jobs)
        self._report()
        write_json(self.folder / OWNER, RunOwner.me())
        status = "interrupted"
        tracking = track(self.country)
        box = tracking.__enter__()  # this segment's footprint, attached to its segment line at the end
        self._clock = SegmentClock(self.folder)
        self._clock.tick(0, force=True)
        self._segment_records = 0
        try:
            self.log.open()
            pending = await self._answer_from_cache(jobs)
            await self._run_workers(pending)
            status = "complete"
        finally:
            self.log.close()
            if self.cache is not None:
                self.cache.flush()
            self._clock.tick(self._segment_records, force=True)
            tracking.__exit__(None, None, None)
            self._clock.attach(box.footprint)
            summary, records = self._summarise(status)
            write_json(self.folder / SUMMARY, summary)
        if not resume:  # what load_run would read back: this process wrote all of it
            self.written = RunFiles(spec, self.suite, records, summary)
        return summary

    async def _answer_from_cache(self, jobs: list[_Job]) -> list[_Job]:
        if self.cache is None:
            return jobs
        hits = self._answers if self._answers is not None else self.cache.get_many(j.key for j in jobs)
        pending = []
        for job in jobs:
            cached = hits.get(job.key)
            if cached is None:
                pending.append(job)
                continue
            completion = Completion.model_validate(cached)
            completion.cached = True
            self._hits += 1
            await self._finish(job, completion, None)
        return pending

    async def _run_workers(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        queue: asyncio.Queue[_Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        size = max(1, self.target.batch_size)
        workers = min(self.target.max_concurrency, max(1, (len(jobs) + size - 1) // size))
        await asyncio.gather(*(self._worker(queue, size) for _ in range(workers)))

    async def _worker(self, queue: asyncio.Queue[_Job], size: int) -> None:
        params = self.options.params
        while not queue.empty():
            if size == 1:
                job = queue.get_nowait()
                try:
                    completion = await self.target.generate(job.messages, params)
                except TargetError as exc:
                    await self._finish(job, None, exc)
                else:
                    await self._finish(job, completion, None)
                continue
            batch = [queue.get_nowait() for _ in range(min(size, queue.qsize()))]
            results = await self.target.generate_batch([j.messages for j in batch], params)
            for job, result in zip(batch, results, strict=True):
                if isinstance(result, TargetError):
                    await self._finish(job, None, result)
                else:
                    await self._finish(job, result, None)

    async def _finish(self, job: _Job, completion: Completion | None, error: TargetError | None) -> None:
        sample = job.sample
        if completion is not None:
            if self.cache is not None and not completion.cached:
                self.cache.put(job.key, completion.model_dump(mode="json", exclude={"cached"}))
            scores = [await scorer.score(sample, completion) for scorer in self.scorers]
            self._tokens_in += completion.input_tokens or 0
            self._tokens_out += completion.output_tokens or 0
        else:
            scores = []
            self._errors += 1
        record = SampleRecord(
            run_id=self.run_id,
            sample_id=sample.id,
            epoch=job.epoch,
            input=job.messages,
            output=completion.text if completion else None,
            scores=scores,
            category=sample.category,
            language=sample.language,
            expect=sample.expect,
            latency_s=completion.latency_s if completion else 0.0,
            input_tokens=completion.input_tokens if completion else None,
            output_tokens=completion.output_tokens if completion else None,
            retries=completion.retries if completion else (error.retries if error else 0),
            cached=bool(completion and completion.cached),
            error=str(error) if error else None,
            finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        )
        self.log.append(record)
        self._done += 1
        self._segment_records += 1
        self._clock.tick(self._segment_records)
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self._done, self._total)

    # -- results -----------------------------------------------------------------------------------
    def _summarise(self, status: str) -> tuple[RunSummary, list[SampleRecord]]:
        """Throughput and CPU add up over every segment of the run (each process that worked on it)."""
        segments = read_segments(self.folder)
        wall = sum(s.wall_s for s in segments)
        cpu = sum(s.cpu_s for s in segments)
        started = segments[0].started_at if segments else dt.datetime.now(dt.UTC)
        records = list(read_log(self.folder / LOG))
        if len(records) < self._total:
            status = "interrupted"
        metrics, score, grade = summarise_records(self.suite, records)
        n = max(1, len(records))
        footprint = one_run([(s.cpu_s, s.wall_s, s.footprint) for s in segments], self.country)
        summary = RunSummary(
            run_id=self.run_id,
            suite_id=self.suite.id,
            target_id=self.target.id,
            status=status,
            started_at=started,
            finished_at=dt.datetime.now(dt.UTC),
            samples=self._total,
            records=len(records),
            target_errors=sum(1 for r in records if r.error),
            cache_hits=sum(1 for r in records if r.cached),
            segments=len(segments),
            input_tokens=sum(r.input_tokens or 0 for r in records),
            output_tokens=sum(r.output_tokens or 0 for r in records),
            wall_s=round(wall, 4),
            cpu_s=round(cpu, 4),
            samples_per_s=round(len(records) / wall, 2) if wall > 0 else 0.0,
            cpu_ms_per_sample=round(1000 * cpu / n, 3),
            metrics=metrics,
            score=score,
            grade=grade,
            footprint=footprint,
        )
        return summary, records


def summarise_records(
    suite: Suite, records: list[SampleRecord]
) -> tuple[dict[str, Any], float | None, str | None]:
    """Metrics, the suite's score (primary scorer's pass rate) and its grade."""
    from assay.evals.metrics import suite_metrics

    result = suite_metrics(suite, records)
    return result.model_dump(mode="json"), result.score, result.grade


class RunFiles(NamedTuple):
    """A run's spec, suite, records and summary, as `load_run` reads them from its folder."""

    spec: RunSpec
    suite: Suite
    records: list[SampleRecord]
    summary: RunSummary | None


def load_run(folder: Path) -> tuple[RunSpec, Suite, list[SampleRecord], RunSummary | None]:
    spec = RunSpec.model_validate_json((folder / SPEC).read_text())
    suite = Suite.model_validate_json((folder / SUITE).read_text())
    summary_path = folder / SUMMARY
    summary = RunSummary.model_validate_json(summary_path.read_text()) if summary_path.exists() else None
    return spec, suite, list(read_log(folder / LOG)), summary
