"""Running suites for a manifest's targets inside a workspace: runs, reports and signed evidence.

The engine (`Runner`) needs only folders; this module adds what a governed assessment needs on top:
targets from the manifest, the workspace's response cache, the HTML report and evidence records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assay.energy.models import Footprint
from assay.evals.models import Suite
from assay.evals.runner import RunFiles, Runner, RunOptions, RunSpec, RunSummary, load_run
from assay.evals.suites.report import LoadReport
from assay.evals.targets.base import GenerationParams, Target
from assay.manifest.problems import Problem
from assay.manifest.schema import Manifest, TargetKind
from assay.manifest.schema import Target as TargetSpec
from assay.workspace import Workspace

DEFAULT_BUNDLED = TargetSpec(id="bundled", kind=TargetKind.bundled, model="SmolLM2-135M-Instruct")


class EvalOutcome(BaseModel):
    summary: RunSummary
    folder: str
    report: str
    evidence_ids: list[str]
    load_problems: list[Problem] = Field(
        default_factory=list, description="suite rows skipped or worth a look, with file and line"
    )


def runs_dir(ws: Workspace) -> Path:
    return ws.home / "runs"


def cache_path(ws: Workspace) -> Path:
    return ws.home / "cache" / "responses.sqlite"


def target_specs(manifest: Manifest | None) -> dict[str, TargetSpec]:
    """The manifest's targets, plus the bundled model under the id `bundled` unless that id is taken."""
    specs = {t.id: t for t in manifest.targets} if manifest else {}
    specs.setdefault("bundled", DEFAULT_BUNDLED)
    return specs


def build_targets(manifest: Manifest | None, base_dir: Path | None) -> dict[str, Target]:
    """Every target of the manifest, built lazily enough that unused ones cost nothing to construct."""
    from assay.evals.targets import build_target

    return {tid: build_target(spec, base_dir) for tid, spec in target_specs(manifest).items()}


def resolve_suites(
    name: str, base_dir: Path | None, strict: bool = False, **load_options: Any
) -> tuple[list[Suite], LoadReport]:
    """Every suite a name or file holds (several for a Moonshot cookbook or data folder), with the
    load report. A path relative to the manifest's folder wins over a built-in name.

    Malformed rows are skipped and reported (the LoadReport), or fatal with `strict` (SuiteInvalid).
    `load_options` go to `load_suites` (scorers, input_field, target_field …)."""
    from assay.evals.suites import load_suites

    if base_dir is not None and (base_dir / name).exists():
        return load_suites(base_dir / name, strict=strict, **load_options)
    return load_suites(name, strict=strict, **load_options)


def resolve_suite(name: str, base_dir: Path | None, strict: bool = False):  # type: ignore[no-untyped-def]
    """Exactly one suite by name or path (see `resolve_suites`)."""
    from assay.evals.suites import load_suite

    if base_dir is not None:
        moonshot = name.startswith("moonshot:")
        local = base_dir / name.removeprefix("moonshot:")
        if local.exists():
            return load_suite(f"moonshot:{local}" if moonshot else local, strict=strict)
    return load_suite(name, strict=strict)


async def evaluate(
    ws: Workspace,
    suite_name: str | Suite,
    target_id: str,
    *,
    manifest: Manifest | None = None,
    base_dir: Path | None = None,
    options: RunOptions | None = None,
    resume_run: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    runner_factory: Callable[..., Runner] = Runner,
    strict: bool = False,
) -> EvalOutcome:
    """Run one suite against one target, write its report and record both as signed evidence.

    `runner_factory` swaps how the target is called (e.g. `RayRunner` spreads it over a cluster).
    """
    from assay.evals.targets.base import TargetUnavailable

    if isinstance(suite_name, Suite):
        suite, load_report = suite_name, LoadReport(source=suite_name.source or suite_name.id)
    else:
        suite, load_report = resolve_suite(suite_name, base_dir, strict)
    targets = build_targets(manifest, base_dir)
    if target_id not in targets:
        raise TargetUnavailable(f"no target '{target_id}'; the manifest has: {', '.join(sorted(targets))}")
    target = targets[target_id]
    spec = target_specs(manifest)[target_id]
    options = options or RunOptions()
    if options.system_prompt is None and spec.system_prompt:
        options = options.model_copy(update={"system_prompt": spec.system_prompt})
    if suite.generation and options.params == GenerationParams():
        options = options.model_copy(update={"params": GenerationParams(**suite.generation)})
    judges = {tid: t for tid, t in targets.items() if tid != target_id}
    judges[target_id] = target
    from assay.store.response_cache import ResponseCache

    cache = ResponseCache(cache_path(ws)) if options.use_cache else None
    try:
        runner = runner_factory(
            suite,
            target,
            runs_dir(ws),
            options=options,
            scorer_targets=judges,
            cache=cache,
            progress=progress,
            run_id=resume_run,
        )
        if resume_run is not None or not runner.served_by_cache():
            await target.preflight()
        await runner.run(resume=resume_run is not None)
    finally:
        if cache is not None:
            cache.close()
        await asyncio.gather(*(t.aclose() for t in targets.values()))
    outcome = record_run(
        ws, runner.folder, system=manifest.system.id if manifest else None, files=runner.written
    )
    outcome.load_problems = load_report.problems
    return outcome


class CombinedOutcome(BaseModel):
    """Several suites run from one source (a Moonshot cookbook or data folder), summed up."""

    source: str
    status: str = Field(description="complete when every suite's run is complete")
    samples: int
    records: int
    target_errors: int
    wall_s: float
    cpu_s: float
    samples_per_s: float
    cpu_ms_per_sample: float
    score: float | None = Field(description="sample-weighted mean of the suites' scores")
    footprint: Footprint | None = Field(None, description="the runs' footprints added up")
    summaries: list[RunSummary]
    outcomes: list[EvalOutcome]


def combine_outcomes(source: str, outcomes: list[EvalOutcome]) -> CombinedOutcome:
    summaries = [o.summary for o in outcomes]
    records = sum(s.records for s in summaries)
    wall = sum(s.wall_s for s in summaries)
    cpu = sum(s.cpu_s for s in summaries)
    scored = [(s.score, s.records) for s in summaries if s.score is not None and s.records]
    weight = sum(n for _, n in scored)
    footprints = [s.footprint for s in summaries if s.footprint is not None]
    return CombinedOutcome(
        source=source,
        status="complete" if all(s.status == "complete" for s in summaries) else "interrupted",
        samples=sum(s.samples for s in summaries),
        records=records,
        target_errors=sum(s.target_errors for s in summaries),
        wall_s=round(wall, 4),
        cpu_s=round(cpu, 4),
        samples_per_s=round(records / wall, 2) if wall > 0 else 0.0,
        cpu_ms_per_sample=round(1000 * cpu / max(1, records), 3),
        score=round(sum(sc * n for sc, n in scored) / weight, 6) if weight else None,
        footprint=sum(footprints[1:], footprints[0]) if footprints else None,
        summaries=summaries,
        outcomes=outcomes,
    )


def record_run(ws: Workspace, folder: Path, system: str | None, files: RunFiles | None = None) -> EvalOutcome:
    """Write the run's report and sign the summary, the log and the report as evidence.

    `files`: the run's contents as the runner that wrote them holds them, so they need not be read back
    (what is signed is still read from the folder); by default they are read with `load_run`."""
    from assay.assurance.chain_check import checkpoint, current_head
    from assay.assurance.evidence import record_evidence
    from assay.evals.report import render_run_report
    from assay.store.blobs import atomic_write

    spec, suite, records, summary = files if files is not None else load_run(folder)
    assert summary is not None
    html = render_run_report(spec, suite, records, summary, chain_head=current_head(ws, system))
    atomic_write(folder / "report.html", html.encode())
    ids = []
    title = f"{suite.title or suite.id} on {spec.target_id}"
    for name, media, what in (
        ("summary.json", "application/json", "summary"),
        ("log.jsonl", "application/x-ndjson", "per-sample log"),
        ("report.html", "text/html", "report"),
    ):
        ev = record_evidence(
            ws,
            (folder / name).read_bytes(),
            kind="eval.run",
            system=system,
            name=f"runs/{folder.name}/{name}",
            media_type=media,
            summary=f"{title}: {what}",
        )
        ids.append(ev.id)
    checkpoint(ws, system)  # a signed checkpoint at the end of every run
    from assay.evals.run_index import index_run

    index_run(ws, folder, system, "eval", files)  # the dashboard pages through its samples from the store
    return EvalOutcome(
        summary=summary, folder=str(folder), report=str(folder / "report.html"), evidence_ids=ids
    )


class RunStatus(BaseModel):
    """A run as the API shows it: finished or not, and how far along (read from its files, so a run
    started from the CLI shows its progress too)."""

    run_id: str
    suite_id: str
    target_id: str
    status: str = Field(
        description="running, complete, interrupted (killed or stopped; resume it) or unreadable"
    )
    done: int
    total: int
    progress: float = Field(ge=0, le=1)
    summary: RunSummary | None = None
    suite_source: str | None = None
    resume_command: str | None = Field(None, description="the CLI command that resumes an interrupted run")
    problem: str | None = Field(None, description="why an unreadable run's files could not be read")


RUN_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _resume_command(spec: RunSpec) -> str:
    import shlex

    suite = spec.suite_source or spec.suite_id
    return f"assay eval run {shlex.quote(suite)} -t {shlex.quote(spec.target_id)} --resume {spec.run_id}"


def run_status(ws: Workspace, run_id: str) -> RunStatus | None:
    """None when no such run exists (or the id could escape the runs folder). A run whose files cannot
    be read is reported as `unreadable` with the reason, never an exception: one damaged folder must
    not hide every other run."""
    from pydantic import ValidationError

    from assay.evals.runlog import OWNER, RunOwner

    if not run_id or not set(run_id) <= RUN_ID_CHARS or run_id.startswith("."):
        return None
    folder = runs_dir(ws) / run_id
    spec_path = folder / "spec.json"
    if not spec_path.is_file():
        return None
    current = spec_path
    try:
        spec = RunSpec.model_validate_json(spec_path.read_bytes())
        current = folder / "summary.json"
        summary = RunSummary.model_validate_json(current.read_bytes()) if current.exists() else None
        current = folder / OWNER
        owner = RunOwner.model_validate_json(current.read_bytes()) if current.exists() else None
    except (OSError, ValueError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RunStatus(
            run_id=run_id,
            suite_id="?",
            target_id="?",
            status="unreadable",
            done=0,
            total=0,
            progress=0,
            problem=f"{current}: {first}",
        )
    total = len(spec.sample_ids) * spec.options.epochs
    if summary is not None and summary.status == "complete":
        done = summary.records
    else:
        log = folder / "log.jsonl"
        done = log.read_bytes().count(b"\n") if log.exists() else 0
    if summary is not None:
        status = summary.status
    else:
        # no summary: still running, unless the process that ran it is gone (kill -9, power loss)
        status = "interrupted" if owner is None or owner.gone() else "running"
    return RunStatus(
        run_id=run_id,
        suite_id=spec.suite_id,
        target_id=spec.target_id,
        status=status,
        done=min(done, total),
        total=total,
        progress=round(min(done, total) / total, 4) if total else 1.0,
        summary=summary,
        suite_source=spec.suite_source,
        resume_command=_resume_command(spec) if status == "interrupted" else None,
    )


def list_run_statuses(ws: Workspace) -> list[RunStatus]:
    root = runs_dir(ws)
    if not root.exists():
        return []
    found = (run_status(ws, folder.name) for folder in sorted(root.iterdir()))
    return [s for s in found if s is not None]
