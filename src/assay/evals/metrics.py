"""Rates with confidence intervals, by scorer, category and language, and the suite's grade.

A rate without its interval overstates what a few hundred samples can show, so every rate here carries
one: Wilson's score interval by default (good coverage even at 0/n and n/n, where the normal
approximation collapses to a point), or a seeded percentile bootstrap. Samples the target failed to
answer and scores a scorer could not give are counted and reported, but left out of the denominators:
they say nothing about whether the model behaves well, and hiding them would let an outage look like
a pass or a fail.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from math import sqrt
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.evals.models import DEFAULT_GRADES, GradeBand, SampleRecord, Score

if TYPE_CHECKING:
    from assay.evals.models import Sample, Suite

IntervalMethod = Literal["wilson", "bootstrap"]
GroupBy = Literal["overall", "category", "language"]
PairGroup = Literal["overall", "attribute"]
UNCATEGORISED = "(none)"
_GROUP_ORDER: dict[str, int] = {"overall": 0, "category": 1, "language": 2}


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= k <= n:
        raise ValueError("k must be between 0 and n")
    z = _z(confidence)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(
    k: int, n: int, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for a proportion, reproducible through `seed`.

    Resampling n pass/fail outcomes with replacement from k passes is a binomial draw with p = k/n,
    so the resamples are drawn that way directly.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= k <= n:
        raise ValueError("k must be between 0 and n")
    _z(confidence)
    import numpy as np

    rng = np.random.default_rng(seed)
    rates = rng.binomial(n, k / n, size=resamples) / n
    alpha = (1 - confidence) / 2
    low, high = np.quantile(rates, [alpha, 1 - alpha])
    return float(low), float(high)


def proportion_interval(
    k: int,
    n: int,
    method: IntervalMethod = "wilson",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    if method == "wilson":
        return wilson_interval(k, n, confidence)
    if method == "bootstrap":
        return bootstrap_interval(k, n, confidence, resamples, seed)
    raise ValueError(f"unknown interval method '{method}'")


class MetricRow(BaseModel):
    """One scorer's results over one group of samples."""

    model_config = ConfigDict(extra="forbid")

    scorer: str
    group: GroupBy
    key: str = Field(description="the category or language; '*' for overall")
    n: int = Field(description="samples with a pass/fail verdict (the denominator)")
    k: int = Field(description="samples that passed")
    rate: float | None = Field(None, description="k / n; None when n is 0")
    ci_low: float | None = None
    ci_high: float | None = None
    mean_value: float | None = Field(None, description="mean of Score.value over scored samples")
    valued: int = Field(0, description="samples with a value (the mean's denominator)")
    scorer_errors: int = Field(0, description="scores with `error` set (judge refused, unparseable …)")
    target_errors: int = Field(0, description="samples the target failed to answer")
    missing: int = Field(0, description="answered samples that have no score from this scorer")


class PairRow(BaseModel):
    """How often one scorer's verdict stayed the same across the two samples of a pair, over one group.

    Two samples form a pair when they share `metadata.pair` (e.g. the same prompt with a protected
    attribute swapped). A pair counts once per epoch. It is *complete* when both samples were answered
    and scored without error; only complete pairs enter the denominator.
    """

    model_config = ConfigDict(extra="forbid")

    scorer: str
    group: PairGroup
    key: str = Field(description="the attribute (metadata.attribute, else category); '*' for overall")
    pairs: int = Field(description="complete pairs (the denominator)")
    consistent: int = Field(description="complete pairs whose two answers got the same label (else verdict)")
    both_passed: int = Field(0, description="complete pairs where both answers passed")
    rate: float | None = Field(None, description="consistent / pairs; None when pairs is 0")
    ci_low: float | None = None
    ci_high: float | None = None
    incomplete: int = Field(0, description="pairs with a member missing, unanswered or not scorable")


class SuiteMetrics(BaseModel):
    """Everything a report needs about one run of one suite."""

    model_config = ConfigDict(extra="forbid")

    records: int
    target_errors: int
    scorer_errors: dict[str, int] = Field(default_factory=dict, description="by scorer, sorted")
    error_labels: dict[str, int] = Field(
        default_factory=dict, description="labels of errored scores (judge_refused …), sorted"
    )
    primary_scorer: str | None
    score: float | None = Field(None, description="pass rate of the primary scorer")
    score_ci: tuple[float, float] | None = None
    grade: str | None = None
    confidence: float
    ci_method: IntervalMethod
    rows: list[MetricRow]
    pairs: list[PairRow] = Field(
        default_factory=list, description="pair consistency, when the suite has samples sharing metadata.pair"
    )

    def row(self, scorer: str, group: GroupBy = "overall", key: str = "*") -> MetricRow | None:
        return next((r for r in self.rows if (r.scorer, r.group, r.key) == (scorer, group, key)), None)

    def pair_row(self, scorer: str, group: PairGroup = "overall", key: str = "*") -> PairRow | None:
        return next((r for r in self.pairs if (r.scorer, r.group, r.key) == (scorer, group, key)), None)


def grade_for(score: float | None, grades: Sequence[GradeBand] = DEFAULT_GRADES) -> str | None:
    """The grade of the highest band whose minimum the score reaches."""
    if score is None:
        return None
    for band in sorted(grades, key=lambda b: b.min_score, reverse=True):
        if score >= band.min_score - 1e-12:
            return band.grade
    return None


class _Tally:
    __slots__ = ("n", "k", "values", "scorer_errors", "target_errors", "missing")

    def __init__(self) -> None:
        self.n = self.k = self.scorer_errors = self.target_errors = self.missing = 0
        self.values: list[float] = []


def compute_metrics(
    records: Iterable[SampleRecord],
    primary_scorer: str | None = None,
    grades: Sequence[GradeBand] = DEFAULT_GRADES,
    *,
    method: IntervalMethod = "wilson",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> SuiteMetrics:
    """Per-scorer rates overall, by category and by language, with intervals; the suite's score and grade.

    `primary_scorer` defaults to the first scorer seen in the records. Output rows are sorted by
    scorer, then group (overall, category, language), then key, so two runs compare line by line.
    """
    _z(confidence)
    recs = list(records)
    scorers: list[str] = []
    for rec in recs:
        for s in rec.scores:
            if s.scorer not in scorers:
                scorers.append(s.scorer)
    tallies: dict[tuple[str, str, str], _Tally] = defaultdict(_Tally)
    scorer_errors: Counter[str] = Counter()
    error_labels: Counter[str] = Counter()
    target_errors = 0

    for rec in recs:
        groups = [
            ("overall", "*"),
            ("category", rec.category or UNCATEGORISED),
            ("language", rec.language or UNCATEGORISED),
        ]
        if rec.error is not None:
            target_errors += 1
            for name in scorers:
                for g in groups:
                    tallies[(name, *g)].target_errors += 1
            continue
        by_name = {s.scorer: s for s in rec.scores}
        for name in scorers:
            score = by_name.get(name)
            for g in groups:
                t = tallies[(name, *g)]
                if score is None:
                    t.missing += 1
                elif score.error is not None:
                    t.scorer_errors += 1
                else:
                    if score.passed is not None:
                        t.n += 1
                        t.k += int(score.passed)
                    if score.value is not None:
                        t.values.append(score.value)
            if score is not None and score.error is not None:
                scorer_errors[name] += 1
                error_labels[score.label or "error"] += 1

    rows: list[MetricRow] = []
    for (name, group, key), t in tallies.items():
        ci = proportion_interval(t.k, t.n, method, confidence, resamples, seed) if t.n else None
        rows.append(
            MetricRow(
                scorer=name,
                group=group,  # type: ignore[arg-type]
                key=key,
                n=t.n,
                k=t.k,
                rate=t.k / t.n if t.n else None,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
                mean_value=sum(t.values) / len(t.values) if t.values else None,
                valued=len(t.values),
                scorer_errors=t.scorer_errors,
                target_errors=t.target_errors,
                missing=t.missing,
            )
        )
    rows.sort(key=lambda r: (r.scorer, _GROUP_ORDER[r.group], r.key))

    primary = primary_scorer or (scorers[0] if scorers else None)
    overall = next((r for r in rows if r.scorer == primary and r.group == "overall"), None)
    score = overall.rate if overall else None
    score_ci = (overall.ci_low, overall.ci_high) if overall and overall.ci_low is not None else None
    return SuiteMetrics(
        records=len(recs),
        target_errors=target_errors,
        scorer_errors=dict(sorted(scorer_errors.items())),
        error_labels=dict(sorted(error_labels.items())),
        primary_scorer=primary,
        score=score,
        score_ci=score_ci,  # type: ignore[arg-type]
        grade=grade_for(score, grades),
        confidence=confidence,
        ci_method=method,
        rows=rows,
    )


def suite_metrics(suite: Suite, records: Iterable[SampleRecord], **kwargs: object) -> SuiteMetrics:
    """`compute_metrics` with the suite's primary scorer (else its first) and its grade bands.

    When samples of the suite share `metadata.pair`, `pairs` holds their pair consistency
    (`pair_consistency`, every scorer, with the same interval settings).
    """
    primary = suite.primary_scorer or suite.scorers[0].name
    recs = list(records)
    result = compute_metrics(recs, primary, suite.grades, **kwargs)  # type: ignore[arg-type]
    if any(_pair_id(s) is not None for s in suite.samples):
        opts = {k: kwargs[k] for k in ("resamples", "seed") if k in kwargs}
        result.pairs = pair_consistency(
            suite,
            recs,
            method=result.ci_method,
            confidence=result.confidence,
            **opts,  # type: ignore[arg-type]
        )
    return result


def _pair_id(sample: Sample) -> str | None:
    pair = sample.metadata.get("pair")
    return None if pair is None or pair == "" else str(pair)


def _same_verdict(a: Score, b: Score) -> bool:
    """Same label when both have one (the option picked, refusal/compliance …), else same pass/fail."""
    if a.label is not None and b.label is not None:
        return a.label == b.label
    return a.passed == b.passed and a.value == b.value


def pair_consistency(
    suite: Suite,
    records: Iterable[SampleRecord],
    scorer: str | None = None,
    *,
    method: IntervalMethod = "wilson",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[PairRow]:
    """For samples sharing `metadata.pair`: per scorer, overall and per attribute, how many pairs are
    complete, how many got the same verdict on both sides (consistent), and the rate with its interval.

    A pair's attribute is `metadata.attribute` of its samples (else their category). Two answers are
    consistent when their scores carry the same `label` (for `multiple_choice`, the same option letter:
    with options listed in the same order on both sides, the same role was chosen whatever attribute it
    carried); scores without labels compare `passed` and `value`. Pairs are formed per epoch; a sample
    logged twice in one epoch counts by its last record. Pairs with one member, a target error, a scorer
    error or a missing score are counted as `incomplete`, outside the denominator. `scorer` limits the
    rows to one scorer; otherwise every scorer in the records is reported. Rows are sorted by scorer,
    then overall before attribute, then key.
    """
    _z(confidence)
    members: dict[str, tuple[str, str]] = {}
    for sample in suite.samples:
        pair = _pair_id(sample)
        if pair is not None:
            attribute = sample.metadata.get("attribute") or sample.category or UNCATEGORISED
            members[sample.id] = (pair, str(attribute))
    latest: dict[tuple[str, int], SampleRecord] = {}
    for rec in records:
        if rec.sample_id in members:
            latest[(rec.sample_id, rec.epoch)] = rec
    scorers: list[str] = []
    for rec in latest.values():
        for s in rec.scores:
            if s.scorer not in scorers:
                scorers.append(s.scorer)
    if scorer is not None:
        scorers = [scorer]
    grouped: dict[tuple[str, int], list[SampleRecord]] = defaultdict(list)
    attributes: dict[str, str] = {}
    for (sample_id, epoch), rec in latest.items():
        pair, attribute = members[sample_id]
        grouped[(pair, epoch)].append(rec)
        attributes.setdefault(pair, attribute)

    # scorer, group, key -> [pairs, consistent, both_passed, incomplete]
    tallies: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (pair, _epoch), recs in grouped.items():
        keys = [("overall", "*"), ("attribute", attributes[pair])]
        for name in scorers:
            scores = [
                next((s for s in rec.scores if s.scorer == name), None) if rec.error is None else None
                for rec in recs
            ]
            usable = [s for s in scores if s is not None and s.error is None]
            for g in keys:
                t = tallies[(name, *g)]
                if len(recs) != 2 or len(usable) != 2:
                    t[3] += 1
                    continue
                t[0] += 1
                t[1] += int(_same_verdict(usable[0], usable[1]))
                t[2] += int(bool(usable[0].passed) and bool(usable[1].passed))

    rows: list[PairRow] = []
    for (name, group, key), (n, k, both, incomplete) in tallies.items():
        ci = proportion_interval(k, n, method, confidence, resamples, seed) if n else None
        rows.append(
            PairRow(
                scorer=name,
                group=group,  # type: ignore[arg-type]
                key=key,
                pairs=n,
                consistent=k,
                both_passed=both,
                rate=k / n if n else None,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
                incomplete=incomplete,
            )
        )
    rows.sort(key=lambda r: (r.scorer, r.group != "overall", r.key))
    return rows
