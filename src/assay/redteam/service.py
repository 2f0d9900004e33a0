"""`redteam run` as a domain function: seeds × attacks against a manifest target, on the engine's
runner, with the same run folder, report and signed evidence an evaluation gets (kind `redteam.run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from assay.evals.runner import RunOptions, RunSummary, load_run
from assay.evals.targets.base import GenerationParams, TargetUnavailable
from assay.manifest.schema import Manifest
from assay.redteam.attack import AttackMode
from assay.redteam.build import BuildNotes, build_attack_suite
from assay.redteam.metrics import RedteamMetrics, compute_asr
from assay.redteam.runner import AttackRunner, BudgetedTarget, QueryBudget, read_traces
from assay.workspace import Workspace

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
ASR_FILE = "redteam.json"


class RedteamOutcome(BaseModel):
    summary: RunSummary
    asr: RedteamMetrics
    folder: str
    report: str
    evidence_ids: list[str]
    notes: list[str] = Field(default_factory=list, description="attacks or seeds left out, and why")


def resolve_seeds(name: str, base_dir: Path | None):  # type: ignore[no-untyped-def]
    """A seed suite: Assay's own starter seeds by name, else any suite `assay eval run` accepts."""
    from assay.evals.service import resolve_suite
    from assay.evals.suites import load_suite

    own = SEEDS_DIR / f"{name}.yaml"
    if "/" not in name and own.is_file():
        return load_suite(own)
    return resolve_suite(name, base_dir)


async def redteam(
    ws: Workspace,
    seeds: str,
    attacks: str | Sequence[str],
    target_id: str,
    *,
    manifest: Manifest | None = None,
    base_dir: Path | None = None,
    attacker_id: str | None = None,
    judge_id: str | None = None,
    budget: int = 5,
    max_queries: int | None = None,
    attack_dirs: Sequence[str | Path] | None = None,
    options: RunOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RedteamOutcome:
    """Attack every seed with every chosen attack, run it, report the ASR and record the evidence.

    `budget` caps the target queries of one adaptive sample; `max_queries` caps the whole run's target
    queries (samples past it are logged as target errors). `options.limit/sample/seed` choose seeds.
    """
    from assay.evals.service import build_targets, cache_path, runs_dir, target_specs
    from assay.redteam.library import load_attacks, select_attacks
    from assay.store.response_cache import ResponseCache

    options = options or RunOptions()
    library = load_attacks(attack_dirs)
    chosen = select_attacks(library, attacks)
    notes: list[str] = []
    if attacker_id is None:
        adaptive = [a.id for a in chosen if a.mode is AttackMode.adaptive]
        explicit = isinstance(attacks, str) and attacks.strip() not in ("", "all")
        if adaptive and explicit:
            raise ValueError(f"attack(s) {', '.join(adaptive)} need an attacker target (--attacker)")
        if adaptive:
            notes.append(f"left out {', '.join(adaptive)}: no attacker target given (--attacker)")
            chosen = [a for a in chosen if a.mode is not AttackMode.adaptive]
    if not chosen:
        raise ValueError("no attack to run")

    seed_suite, load_report = resolve_seeds(seeds, base_dir)
    notes.extend(p.render() for p in load_report.problems)
    targets = build_targets(manifest, base_dir)
    for role, tid in (("target", target_id), ("attacker", attacker_id), ("judge", judge_id)):
        if tid is not None and tid not in targets:
            raise TargetUnavailable(f"no {role} '{tid}'; the manifest has: {', '.join(sorted(targets))}")
    suite, built = build_attack_suite(seed_suite, chosen, judge=judge_id, options=options)
    if built.skipped_seeds:
        notes.append(f"left out {len(built.skipped_seeds)} seed(s) that expect compliance")

    spec = target_specs(manifest)[target_id]
    run_options = options.model_copy(update={"limit": None, "sample": None})
    if run_options.system_prompt is None and spec.system_prompt:
        run_options = run_options.model_copy(update={"system_prompt": spec.system_prompt})
    if suite.generation and run_options.params == GenerationParams():
        run_options = run_options.model_copy(update={"params": GenerationParams(**suite.generation)})
    target = BudgetedTarget(targets[target_id], QueryBudget(max_queries))
    scorer_targets = dict(targets)
    scorer_targets[target_id] = target
    cache = ResponseCache(cache_path(ws)) if run_options.use_cache else None
    try:
        await target.preflight()
        if attacker_id is not None:
            await targets[attacker_id].preflight()
        runner = AttackRunner(
            suite,
            target,
            runs_dir(ws),
            options=run_options,
            scorer_targets=scorer_targets,
            cache=cache,
            progress=progress,
            attacker=targets[attacker_id] if attacker_id else None,
            budget=budget,
            attack_params={a.id: a.spec.params for a in chosen},
        )
        await runner.run()
    finally:
        if cache is not None:
            cache.close()
        await asyncio.gather(*(t.aclose() for t in targets.values()))
    outcome = record_redteam_run(
        ws, runner.folder, system=manifest.system.id if manifest else None, built=built
    )
    outcome.notes = notes
    return outcome


def record_redteam_run(
    ws: Workspace, folder: Path, system: str | None, built: BuildNotes | None = None
) -> RedteamOutcome:
    """Write the ASR file and the report, and sign summary, log, traces, ASR and report as evidence."""
    from assay.assurance.chain_check import checkpoint, current_head
    from assay.assurance.evidence import record_evidence
    from assay.redteam.report import render_redteam_report
    from assay.store.blobs import atomic_write

    spec, suite, records, summary = load_run(folder)
    assert summary is not None
    metrics = compute_asr(suite, records)
    traces = read_traces(folder)
    atomic_write(folder / ASR_FILE, metrics.model_dump_json(indent=2).encode() + b"\n")
    html = render_redteam_report(
        spec, suite, records, summary, metrics, traces, chain_head=current_head(ws, system)
    )
    atomic_write(folder / "report.html", html.encode())
    title = f"{suite.title or suite.id} on {spec.target_id}"
    files = [
        ("summary.json", "application/json", "summary"),
        ("log.jsonl", "application/x-ndjson", "per-sample log"),
        (ASR_FILE, "application/json", "attack success rates"),
        ("traces.jsonl", "application/x-ndjson", "multi-turn and attacker-loop transcripts"),
        ("report.html", "text/html", "report"),
    ]
    ids = []
    for name, media, what in files:
        path = folder / name
        if not path.exists():
            continue
        ev = record_evidence(
            ws,
            path.read_bytes(),
            kind="redteam.run",
            system=system,
            name=f"runs/{folder.name}/{name}",
            media_type=media,
            summary=f"{title}: {what}",
        )
        ids.append(ev.id)
    checkpoint(ws, system)  # a signed checkpoint at the end of every run
    from assay.evals.run_index import index_run

    index_run(ws, folder, system, "redteam")  # the dashboard pages through its samples from the store
    return RedteamOutcome(
        summary=summary, asr=metrics, folder=str(folder), report=str(folder / "report.html"), evidence_ids=ids
    )
