"""Metrics: Wilson and bootstrap intervals, rates by category and language, errors, grades."""

from __future__ import annotations

from math import sqrt

import pytest

from assay.evals.metrics import (
    UNCATEGORISED,
    bootstrap_interval,
    compute_metrics,
    grade_for,
    suite_metrics,
    wilson_interval,
)
from assay.evals.models import GradeBand, Message, SampleRecord, Score, Suite

Z95 = 1.959963984540054


def wilson_by_hand(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # published values for the 95% Wilson interval
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 100, 0.0018, 0.0545),
    ],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)
    by_hand = wilson_by_hand(k, n)
    assert lo == pytest.approx(max(0.0, by_hand[0]), abs=1e-12)
    assert hi == pytest.approx(min(1.0, by_hand[1]), abs=1e-12)


def test_wilson_confidence_and_bad_input() -> None:
    narrow = wilson_interval(5, 10, confidence=0.80)
    wide = wilson_interval(5, 10, confidence=0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    for k, n in [(1, 0), (-1, 10), (11, 10)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.5)


def test_bootstrap_is_seeded_and_sensible() -> None:
    a = bootstrap_interval(30, 100, seed=7)
    assert a == bootstrap_interval(30, 100, seed=7)
    assert a != bootstrap_interval(30, 100, seed=8)
    assert a[0] < 0.3 < a[1]
    wilson = wilson_interval(30, 100)
    assert a[0] == pytest.approx(wilson[0], abs=0.03) and a[1] == pytest.approx(wilson[1], abs=0.03)
    assert bootstrap_interval(0, 10) == (0.0, 0.0)  # the percentile bootstrap degenerates at 0/n


def rec(
    sid: str,
    scores: list[Score],
    category: str | None = None,
    language: str = "en",
    error: str | None = None,
) -> SampleRecord:
    return SampleRecord(
        run_id="r1",
        sample_id=sid,
        input=[Message(role="user", content="q")],
        output=None if error else "a",
        scores=scores,
        category=category,
        language=language,
        error=error,
    )


def ok(name: str, passed: bool | None, value: float | None = None) -> Score:
    return Score(scorer=name, passed=passed, value=value if value is not None else float(bool(passed)))


RECORDS = [
    rec("1", [ok("refusal", True), ok("pii", True)], "violence", "en"),
    rec("2", [ok("refusal", False), ok("pii", True)], "violence", "zh"),
    rec("3", [ok("refusal", True), ok("pii", False)], "privacy", "zh"),
    rec("4", [ok("refusal", True), Score(scorer="pii", error="boom", label="error")], "privacy", "ms"),
    rec("5", [], "privacy", "ms", error="HTTP 500 after 3 retries"),
    rec("6", [ok("refusal", None, 0.5), ok("pii", True)], None, "ta"),
]


def test_rates_by_group_with_errors_outside_the_denominator() -> None:
    m = compute_metrics(RECORDS, primary_scorer="refusal")
    assert m.records == 6 and m.target_errors == 1
    assert m.scorer_errors == {"pii": 1} and m.error_labels == {"error": 1}

    overall = m.row("refusal")
    assert overall is not None
    assert (overall.n, overall.k, overall.target_errors) == (4, 3, 1)  # record 6 has no verdict
    assert overall.rate == pytest.approx(0.75)
    assert (overall.ci_low, overall.ci_high) == pytest.approx(wilson_interval(3, 4))
    assert overall.mean_value == pytest.approx((1 + 0 + 1 + 1 + 0.5) / 5) and overall.valued == 5

    pii = m.row("pii")
    assert pii is not None and (pii.n, pii.k, pii.scorer_errors) == (4, 3, 1)

    violence = m.row("refusal", "category", "violence")
    assert violence is not None and (violence.n, violence.k) == (2, 1)
    privacy = m.row("refusal", "category", "privacy")
    assert privacy is not None and (privacy.n, privacy.k, privacy.target_errors) == (2, 2, 1)
    none = m.row("refusal", "category", UNCATEGORISED)
    assert none is not None and none.n == 0 and none.rate is None and none.ci_low is None

    zh = m.row("refusal", "language", "zh")
    assert zh is not None and (zh.n, zh.k) == (2, 1)
    ms_pii = m.row("pii", "language", "ms")
    assert ms_pii is not None and (ms_pii.n, ms_pii.scorer_errors, ms_pii.target_errors) == (0, 1, 1)

    assert m.score == pytest.approx(0.75) and m.grade == "B"
    assert m.score_ci == pytest.approx(wilson_interval(3, 4))


def test_ordering_is_deterministic() -> None:
    a = compute_metrics(RECORDS)
    b = compute_metrics(list(reversed(RECORDS)), primary_scorer=a.primary_scorer)
    assert [r.model_dump() for r in a.rows] == [r.model_dump() for r in b.rows]
    keys = [(r.scorer, r.group, r.key) for r in a.rows]
    assert keys[0] == ("pii", "overall", "*")
    assert keys.index(("refusal", "overall", "*")) < keys.index(("refusal", "category", "privacy"))
    assert keys.index(("refusal", "category", "violence")) < keys.index(("refusal", "language", "en"))
    assert a.model_dump_json() == compute_metrics(RECORDS).model_dump_json()


def test_missing_score_is_counted() -> None:
    m = compute_metrics(
        [rec("1", [ok("exact", True)]), rec("2", [ok("other", True)])], primary_scorer="exact"
    )
    row = m.row("exact")
    assert row is not None and (row.n, row.missing) == (1, 1)


def test_bootstrap_option() -> None:
    m = compute_metrics(RECORDS, "refusal", method="bootstrap", seed=3)
    row = m.row("refusal")
    assert m.ci_method == "bootstrap" and row is not None
    assert (row.ci_low, row.ci_high) == bootstrap_interval(3, 4, seed=3)


def test_grades() -> None:
    assert grade_for(0.95) == "A"
    assert grade_for(0.9) == "A"  # a band's minimum is inclusive
    assert grade_for(0.89) == "B"
    assert grade_for(0.0) == "E"
    assert grade_for(None) is None
    bands = [GradeBand(grade="pass", min_score=0.8), GradeBand(grade="fail", min_score=0.0)]
    assert grade_for(0.8, bands) == "pass" and grade_for(0.79, bands) == "fail"
    assert grade_for(0.5, [GradeBand(grade="x", min_score=0.6)]) is None


def test_empty_records() -> None:
    m = compute_metrics([])
    assert m.rows == [] and m.score is None and m.grade is None and m.primary_scorer is None


def test_suite_metrics_uses_primary_scorer_and_bands() -> None:
    suite = Suite.model_validate(
        {
            "id": "s",
            "scorers": [{"name": "pii"}, {"name": "refusal"}],
            "primary_scorer": "refusal",
            "grades": [{"grade": "good", "min_score": 0.7}, {"grade": "poor", "min_score": 0}],
            "samples": [{"id": "1", "input": "q"}],
        }
    )
    m = suite_metrics(suite, RECORDS)
    assert m.primary_scorer == "refusal" and m.grade == "good"
