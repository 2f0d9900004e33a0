"""The policy pack format (what an authority writes) and what grading produces.

A pack is data: YAML inside the package (`assay/policy/packs/`) or any path. A sector overlay names
the pack it `extends` and may only tighten it. Every grade names the pack, its version and the rule
that set it, so a reader can trace a colour on a label back to the authority's text.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PACK_FORMAT = 1

DisclosureArea = Literal[
    "identity",
    "accountability",
    "data",
    "infrastructure",
    "evaluation",
    "mitigations",
    "risks",
    "intended_use",
    "user_data",
    "provenance",
    "reporting",
]
"""The label's areas: the framework's (a)–(g) — data, infrastructure, evaluation, mitigations, risks,
intended_use, user_data — plus identity, accountability, provenance and reporting."""

MetricSource = Literal["eval", "redteam"]
Direction = Literal["higher_is_better", "lower_is_better"]
GradeStatus = Literal["green", "amber", "red", "inconclusive", "not_measured"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricThreshold(_Strict):
    """One rule: a metric of a suite (optionally one category of it) and the bands that grade it.

    `higher_is_better`: value ≥ green → green; ≥ amber → amber; else red.
    `lower_is_better`: value ≤ green → green; ≤ amber → amber; else red.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$", description="rule id, named on every grade")
    title: str = Field(min_length=1, max_length=200)
    source: MetricSource = Field("eval", description="eval: a suite's run; redteam: a red-team run")
    suite: str = Field(min_length=1, max_length=200, description="suite id (or red-team seed suite id)")
    metric: str = Field(
        "score",
        max_length=120,
        description="'score' (the primary scorer's pass rate), 'scorer:NAME' (that scorer's pass rate) "
        "or, for red-team runs, 'asr' (attack success rate)",
    )
    category: str | None = Field(None, max_length=120, description="a category key; absent = overall")
    direction: Direction = "higher_is_better"
    green: float = Field(ge=0, le=1)
    amber: float = Field(ge=0, le=1)
    min_samples: int = Field(1, ge=1, description="fewer measured samples grade as not_measured")
    controls: list[str] = Field(default_factory=list, description="catalog control ids this rule evidences")
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _bands_ordered(self) -> MetricThreshold:
        if self.direction == "higher_is_better" and self.amber > self.green:
            raise ValueError(
                f"amber ({self.amber}) must not be above green ({self.green}) when higher is better"
            )
        if self.direction == "lower_is_better" and self.amber < self.green:
            raise ValueError(
                f"amber ({self.amber}) must not be below green ({self.green}) when lower is better"
            )
        return self


class RiskTierRule(_Strict):
    """A rule that puts a system in a tier needing more oversight; the first rule that matches wins."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$")
    tier: str = Field(min_length=1, max_length=60, description="e.g. 'high', 'elevated'")
    sectors: list[str] = Field(default_factory=list, description="any of these sectors matches")
    model_types: list[str] = Field(default_factory=list, description="any of these model types matches")
    any_red: bool = Field(False, description="matches when any grade is red")
    red_rules: list[str] = Field(default_factory=list, description="matches when any of these rules is red")
    oversight: str = Field("", max_length=2000, description="what the tier requires")


class PolicyPack(_Strict):
    """A whole policy pack file."""

    pack: int = Field(PACK_FORMAT, description="pack format version")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    title: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=40)
    publisher: str = Field(min_length=1, max_length=200)
    illustrative: bool = Field(False, description="True: thresholds are examples, not an authority's")
    description: str = Field("", max_length=4000)
    extends: str | None = Field(None, description="id of the base pack this overlay tightens")
    sector: str | None = Field(None, max_length=60, description="the sector an overlay is for")
    thresholds: list[MetricThreshold] = Field(default_factory=list)
    required_areas: list[DisclosureArea] = Field(default_factory=list)
    risk_tiers: list[RiskTierRule] = Field(default_factory=list)
    freshness_days: dict[str, int] = Field(
        default_factory=dict, description="evidence kind → maximum age in days before it is stale"
    )
    incidents: dict[str, Any] | None = Field(
        None, description="severity rules, deadlines and contacts; validated by assay.incidents"
    )
    lineage: list[str] = Field(
        default_factory=list,
        description="set on load: the packs merged into this one, base first (id@version)",
    )


class Measurement(_Strict):
    """One measured value a rule can grade, with where it came from."""

    source: MetricSource
    suite: str
    metric: str = "score"
    category: str | None = None
    target: str = ""
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    run_id: str = ""
    evidence_sha256: str = ""
    language: str | None = None


class Grade(_Strict):
    """What a rule made of a measurement. `inconclusive` when the interval straddles a boundary."""

    rule_id: str
    pack_id: str
    pack_version: str
    title: str
    status: GradeStatus
    suite: str
    metric: str
    category: str | None = None
    target: str = ""
    direction: Direction
    green: float
    amber: float
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    reason: str = Field(description="one sentence: why this colour")
    evidence_sha256: str = ""
    controls: list[str] = Field(default_factory=list)
