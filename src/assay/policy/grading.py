"""Grade measurements against a pack's thresholds.

A value is graded by its band; its confidence interval is graded too, and when the two ends of the
interval fall in different bands the grade is `inconclusive` — the data cannot tell which side of
the authority's line the system is on, and a label must not guess.
"""

from __future__ import annotations

from collections.abc import Iterable

from assay.policy.models import Grade, GradeStatus, Measurement, MetricThreshold, PolicyPack


def band(rule: MetricThreshold, value: float) -> GradeStatus:
    """The colour of one value under one rule."""
    if rule.direction == "higher_is_better":
        return "green" if value >= rule.green else "amber" if value >= rule.amber else "red"
    return "green" if value <= rule.green else "amber" if value <= rule.amber else "red"


def _matches(rule: MetricThreshold, m: Measurement) -> bool:
    """A rule names no language: a per-language row of a label is shown, never graded as the suite."""
    return (
        m.source == rule.source
        and m.suite == rule.suite
        and m.metric == rule.metric
        and (m.category or None) == (rule.category or None)
        and m.language is None
    )


def _fmt(x: float) -> str:
    return f"{100 * x:.1f}%"


def grade_one(pack: PolicyPack, rule: MetricThreshold, m: Measurement | None) -> Grade:
    """Grade one measurement (None: the rule's metric was not measured)."""
    base = {
        "rule_id": rule.id,
        "pack_id": pack.id,
        "pack_version": pack.version,
        "title": rule.title,
        "suite": rule.suite,
        "metric": rule.metric,
        "category": rule.category,
        "direction": rule.direction,
        "green": rule.green,
        "amber": rule.amber,
        "controls": list(rule.controls),
    }
    if m is None or m.value is None or m.n < rule.min_samples:
        why = (
            f"not measured: no {rule.source} run of '{rule.suite}' with metric {rule.metric}"
            if m is None or m.value is None
            else f"not measured: {m.n} sample(s), the rule needs at least {rule.min_samples}"
        )
        extra = {} if m is None else {"target": m.target, "n": m.n, "evidence_sha256": m.evidence_sha256}
        return Grade(**base, **extra, status="not_measured", reason=why)
    status = band(rule, m.value)
    cmp = "≥" if rule.direction == "higher_is_better" else "≤"
    bands = f"green {cmp} {_fmt(rule.green)}, amber {cmp} {_fmt(rule.amber)}"
    if m.ci_low is not None and m.ci_high is not None:
        lo, hi = band(rule, m.ci_low), band(rule, m.ci_high)
        if lo != hi:
            status = "inconclusive"
            reason = (
                f"{_fmt(m.value)} measured, but its interval {_fmt(m.ci_low)}–{_fmt(m.ci_high)} spans "
                f"{lo} and {hi} ({bands}); more samples are needed to tell"
            )
            return Grade(**base, **_values(m), status=status, reason=reason)
    reason = f"{_fmt(m.value)} over {m.n} sample(s) is {status} under rule {rule.id} ({bands})"
    return Grade(**base, **_values(m), status=status, reason=reason)


def _values(m: Measurement) -> dict[str, object]:
    return {
        "target": m.target,
        "value": m.value,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "n": m.n,
        "evidence_sha256": m.evidence_sha256,
    }


def grade_all(pack: PolicyPack, measurements: Iterable[Measurement]) -> list[Grade]:
    """One grade per rule and target measured (a rule no measurement matches: one `not_measured`)."""
    ms = list(measurements)
    grades: list[Grade] = []
    for rule in pack.thresholds:
        hits = [m for m in ms if _matches(rule, m)]
        if not hits:
            grades.append(grade_one(pack, rule, None))
        grades.extend(grade_one(pack, rule, m) for m in sorted(hits, key=lambda m: m.target))
    return grades
