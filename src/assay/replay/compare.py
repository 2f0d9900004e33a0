"""Comparing a replayed run with the original: per metric, exactly the same, inside the original's
confidence interval, or different; per sample, whether the answer text is the same."""

from __future__ import annotations

from typing import Any

from assay.evals.models import SampleRecord
from assay.evals.runner import RunSpec, RunSummary
from assay.replay.models import MetricComparison, RunComparison, Status

ORDER: dict[Status, int] = {"exact": 0, "within_ci": 1, "differs": 2}


def metric_status(
    original: float | None,
    ci: tuple[float, float] | None,
    original_n: int | None,
    replayed: float | None,
    replayed_n: int | None,
) -> Status:
    """Exact needs the same rate over the same number of verdicts (so the same count of passes)."""
    if original is None or replayed is None:
        return "exact" if original is None and replayed is None else "differs"
    if original == replayed and original_n == replayed_n:
        return "exact"
    if ci is not None and ci[0] <= replayed <= ci[1]:
        return "within_ci"
    return "differs"


def _overall_rows(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["scorer"]: r for r in metrics.get("rows", []) if r.get("group") == "overall"}


def _ci(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value else None


def compare_metrics(original: RunSummary, replayed: RunSummary) -> list[MetricComparison]:
    """The suite's score (its primary scorer's pass rate), then each scorer's overall pass rate."""
    before, after = original.metrics, replayed.metrics
    rows_before, rows_after = _overall_rows(before), _overall_rows(after)
    primary = before.get("primary_scorer")
    common = dict(run_id=original.run_id, suite_id=original.suite_id, target_id=original.target_id)
    out = []
    n_before = rows_before.get(primary, {}).get("n") if primary else None
    n_after = rows_after.get(primary, {}).get("n") if primary else None
    ci = _ci(before.get("score_ci"))
    out.append(
        MetricComparison(
            **common,
            metric="score",
            original=original.score,
            original_ci=ci,
            original_n=n_before,
            replayed=replayed.score,
            replayed_n=n_after,
            status=metric_status(original.score, ci, n_before, replayed.score, n_after),
        )
    )
    for scorer, row in rows_before.items():
        new = rows_after.get(scorer, {})
        ci = _ci([row["ci_low"], row["ci_high"]]) if row.get("ci_low") is not None else None
        out.append(
            MetricComparison(
                **common,
                metric=f"{scorer} pass rate",
                original=row.get("rate"),
                original_ci=ci,
                original_n=row.get("n"),
                replayed=new.get("rate"),
                replayed_n=new.get("n"),
                status=metric_status(row.get("rate"), ci, row.get("n"), new.get("rate"), new.get("n")),
            )
        )
    return out


def compare_run(
    original_spec: RunSpec,
    original: RunSummary,
    original_records: list[SampleRecord],
    replayed_spec: RunSpec,
    replayed: RunSummary,
    replayed_records: list[SampleRecord],
) -> RunComparison:
    metrics = compare_metrics(original, replayed)
    notes = []
    if replayed_spec.sample_ids != original_spec.sample_ids:
        notes.append("the replay selected other samples than the original (same seed, other suite rows?)")
    if replayed.target_errors:
        notes.append(f"{replayed.target_errors} sample(s) got no answer from the target in the replay")
    sha_then = original_spec.target.get("gguf_sha256")
    sha_now = replayed_spec.target.get("gguf_sha256")
    if sha_then and sha_then != sha_now:
        notes.append(
            f"the bundled model file differs: {sha_then[:12]}… then, {(sha_now or 'none')[:12]}… now"
        )
    before = {(r.sample_id, r.epoch): r.output for r in original_records}
    same = sum(
        1 for r in replayed_records if r.output is not None and before.get((r.sample_id, r.epoch)) == r.output
    )
    worst = max((m.status for m in metrics), key=ORDER.__getitem__, default="exact")
    if replayed_spec.sample_ids != original_spec.sample_ids or replayed.status != "complete":
        worst = "differs"
    return RunComparison(
        run_id=original.run_id,
        replay_run_id=replayed.run_id,
        suite_id=original.suite_id,
        target_id=original.target_id,
        samples=len(original_records),
        identical_answers=same,
        metrics=metrics,
        notes=notes,
        status=worst,
    )
