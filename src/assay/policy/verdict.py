"""What a pack makes of a system: grades, risk tier, completeness, and whether a CI gate should fail.

The verdict is computed from data a label already carries (its measurements, which areas it disclosed,
the sector and model type), so the same disclosure can be judged under any pack, by anyone, later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, get_args

from pydantic import BaseModel, ConfigDict, Field

from assay.policy.grading import grade_all
from assay.policy.models import DisclosureArea, Grade, GradeStatus, Measurement, PolicyPack, RiskTierRule

if TYPE_CHECKING:  # label.models imports policy.models: import it lazily to keep the packages acyclic
    from assay.label.models import Completeness, Disclosure, PolicySummary

STATUSES: tuple[GradeStatus, ...] = ("green", "amber", "red", "inconclusive", "not_measured")


class PolicyVerdict(BaseModel):
    """One pack's judgement of one system."""

    model_config = ConfigDict(extra="forbid")

    pack_id: str
    pack_version: str
    lineage: list[str] = Field(default_factory=list)
    illustrative: bool = False
    grades: list[Grade] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict, description="grades by status, every status")
    risk_tier: str | None = None
    risk_tier_rule: str | None = None
    risk_tier_reason: str = ""
    oversight: str = ""
    completeness: float = Field(1.0, ge=0, le=1, description="disclosed required areas / required areas")
    required_areas: list[DisclosureArea] = Field(default_factory=list)
    missing_areas: list[DisclosureArea] = Field(default_factory=list)
    failed: bool = Field(False, description="any red grade or missing required area (a CI gate fails)")
    why: list[str] = Field(default_factory=list, description="one line per reason the gate fails")

    def summary(self) -> PolicySummary:
        """The label's `policy` block."""
        from assay.label.models import PolicySummary

        return PolicySummary(
            pack_id=self.pack_id,
            pack_version=self.pack_version,
            lineage=list(self.lineage),
            illustrative=self.illustrative,
            risk_tier=self.risk_tier,
            risk_tier_rule=self.risk_tier_rule,
            risk_tier_reason=self.risk_tier_reason,
            oversight=self.oversight,
            counts=dict(self.counts),
        )

    def completeness_block(self) -> Completeness:
        """The label's `completeness` block."""
        from assay.label.models import Completeness

        return Completeness(
            score=self.completeness, required=list(self.required_areas), missing=list(self.missing_areas)
        )


def _norm(text: str) -> str:
    """Sectors and model types are free text in a manifest: compare them case- and separator-blind."""
    return text.strip().lower().replace("_", "-").replace(" ", "-")


def _tier_match(rule: RiskTierRule, grades: list[Grade], sector: str, model_type: str) -> str | None:
    """Why `rule` matches (a clause for the reason sentence), or None. Its conditions are alternatives;
    a rule with none matches every system (a default tier)."""
    sectors = {_norm(s) for s in rule.sectors}
    if _norm(sector) in sectors:
        return f"sector '{sector}' is one of {', '.join(rule.sectors)}"
    if _norm(model_type) in {_norm(m) for m in rule.model_types}:
        return f"model type '{model_type}' is one of {', '.join(rule.model_types)}"
    red = [g for g in grades if g.status == "red"]
    named = [g.rule_id for g in red if g.rule_id in rule.red_rules]
    if named:
        return f"rule {', '.join(dict.fromkeys(named))} graded red"
    if rule.any_red and red:
        return f"{len(red)} grade(s) red ({', '.join(dict.fromkeys(g.rule_id for g in red))})"
    if not (rule.sectors or rule.model_types or rule.red_rules or rule.any_red):
        return "it applies to every system the other rules do not catch"
    return None


def judge(
    pack: PolicyPack,
    measurements: Iterable[Measurement],
    area_status: Mapping[str, str],
    *,
    sector: str,
    model_type: str,
) -> PolicyVerdict:
    """Grade `measurements` under `pack`, place the system in a risk tier, score completeness.

    `area_status` maps each disclosure area to 'disclosed' or 'not_disclosed'; an area absent from it
    counts as not disclosed. Inconclusive and not-measured grades do not fail the gate on their own:
    the pack's required areas and red grades do."""
    grades = grade_all(pack, measurements)
    counts = {s: sum(1 for g in grades if g.status == s) for s in STATUSES}

    tier = reason = rule_id = None
    oversight = ""
    for rule in pack.risk_tiers:
        why = _tier_match(rule, grades, sector, model_type)
        if why is not None:
            tier, rule_id, oversight = rule.tier, rule.id, rule.oversight
            reason = f"Tier '{rule.tier}' under rule {rule.id} of {pack.id}@{pack.version}: {why}."
            break
    if tier is None:
        reason = f"No risk-tier rule of {pack.id}@{pack.version} matched this system."

    required = list(dict.fromkeys(pack.required_areas))
    missing = [a for a in required if area_status.get(a) != "disclosed"]
    completeness = 1.0 if not required else (len(required) - len(missing)) / len(required)

    why_failed = [
        f"{g.rule_id} is red for {g.target or 'the system'}: {g.reason}" for g in grades if g.status == "red"
    ]
    why_failed += [f"required area '{a}' is not disclosed" for a in missing]
    return PolicyVerdict(
        pack_id=pack.id,
        pack_version=pack.version,
        lineage=list(pack.lineage or [f"{pack.id}@{pack.version}"]),
        illustrative=pack.illustrative,
        grades=grades,
        counts=counts,
        risk_tier=tier,
        risk_tier_rule=rule_id,
        risk_tier_reason=reason or "",
        oversight=oversight,
        completeness=completeness,
        required_areas=required,
        missing_areas=missing,
        failed=bool(why_failed),
        why=why_failed,
    )


AREAS: tuple[str, ...] = get_args(DisclosureArea)


def area_statuses(disclosure: Disclosure) -> dict[str, str]:
    """Each area of a label and its status ('disclosed' / 'not_disclosed')."""
    return {a: getattr(disclosure, a).status for a in AREAS}


def judge_label(pack: PolicyPack, disclosure: Disclosure) -> PolicyVerdict:
    """Judge a built label under `pack` (any pack, not only the one it was built with)."""
    return judge(
        pack,
        disclosure.measurements,
        area_statuses(disclosure),
        sector=disclosure.identity.sector,
        model_type=disclosure.identity.model_type,
    )
