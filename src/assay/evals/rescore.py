"""Re-scoring a finished run without calling the model: same answers, new (or changed) scorers.

The result is a new run folder beside the old one, so the original log and its evidence stay intact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path

from assay.evals.models import Completion, ScorerSpec
from assay.evals.runlog import SPEC, SUITE, SUMMARY, RunLog, write_json
from assay.evals.runner import RunSummary, load_run, summarise_records
from assay.evals.scorers.base import build_scorer
from assay.evals.targets.base import Target


def _next_name(folder: Path) -> Path:
    k = 1
    while (candidate := folder.with_name(f"{folder.name}.rescore-{k}")).exists():
        k += 1
    return candidate


async def rescore_run(
    folder: Path,
    scorers: list[ScorerSpec] | None = None,
    scorer_targets: Mapping[str, Target] | None = None,
) -> RunSummary:
    """Score every answer of the run in `folder` again; returns the new run's summary."""
    from assay.energy.grid import carbon_country
    from assay.energy.tracker import track

    country = carbon_country()  # a bad ASSAY_CARBON_COUNTRY fails before anything is written
    started = dt.datetime.now(dt.UTC)
    t0, c0 = time.perf_counter(), time.process_time()
    spec, suite, records, _ = load_run(folder)
    if scorers:
        suite = suite.model_copy(update={"scorers": scorers})
    built = [build_scorer(s.name, s.params, targets=scorer_targets) for s in suite.scorers]
    by_id = {s.id: s for s in suite.samples}
    out = _next_name(folder)
    run_id = out.name
    out.mkdir(parents=True)
    write_json(out / SPEC, spec.model_copy(update={"run_id": run_id, "scorers": suite.scorers}))
    write_json(out / SUITE, suite)
    log = RunLog(out)
    log.open()
    new_records = []
    tracking = track(country)  # a re-scoring (a judge model may run) has a footprint of its own
    box = tracking.__enter__()
    try:
        for rec in records:
            sample = by_id.get(rec.sample_id)
            scores = []
            if sample is not None and rec.output is not None:
                completion = Completion(text=rec.output, latency_s=rec.latency_s)
                scores = [await s.score(sample, completion) for s in built]
            updated = rec.model_copy(update={"run_id": run_id, "scores": scores})
            log.append(updated)
            new_records.append(updated)
    finally:
        log.close()
        tracking.__exit__(None, None, None)
    metrics, score, grade = summarise_records(suite, new_records)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = max(1, len(new_records))
    summary = RunSummary(
        run_id=run_id,
        suite_id=suite.id,
        target_id=spec.target_id,
        status="complete",
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        samples=len(spec.sample_ids) * spec.options.epochs,
        records=len(new_records),
        target_errors=sum(1 for r in new_records if r.error),
        cache_hits=0,
        input_tokens=sum(r.input_tokens or 0 for r in new_records),
        output_tokens=sum(r.output_tokens or 0 for r in new_records),
        wall_s=round(wall, 4),
        cpu_s=round(cpu, 4),
        samples_per_s=round(len(new_records) / wall, 2) if wall > 0 else 0.0,
        cpu_ms_per_sample=round(1000 * cpu / n, 3),
        metrics=metrics,
        score=score,
        grade=grade,
        footprint=box.footprint,
    )
    write_json(out / SUMMARY, summary)
    return summary
