"""judge / judge_label: risk tier by the first matching rule, completeness, and the CI gate."""

from __future__ import annotations

from assay.policy.loader import resolve_pack
from assay.policy.models import PolicyPack, RiskTierRule
from assay.policy.verdict import judge, judge_label
from tests.policy.helpers import AREAS, all_green, disclosure, m

DISCLOSED = {a: "disclosed" for a in AREAS}


def test_all_green_and_disclosed_passes_at_the_default_tier() -> None:
    v = judge(resolve_pack("baseline"), all_green(), DISCLOSED, sector="retail", model_type="open-weights")
    assert v.counts == {"green": 11, "amber": 0, "red": 0, "inconclusive": 0, "not_measured": 0}
    assert not v.failed and v.why == []
    assert (v.risk_tier, v.risk_tier_rule) == ("standard", "default")
    assert v.completeness == 1.0 and v.missing_areas == []


def test_a_red_grade_fails_the_gate_and_a_critical_rule_sets_the_high_tier() -> None:
    ms = [x for x in all_green() if x.suite != "harmful-refusal"] + [m("harmful-refusal", 0.5)]
    v = judge(resolve_pack("baseline"), ms, DISCLOSED, sector="retail", model_type="open-weights")
    assert v.failed and v.counts["red"] == 1
    assert v.why[0].startswith("harmful-refusal is red for bundled")
    assert (v.risk_tier, v.risk_tier_rule) == ("high", "critical-red")
    assert "rule critical-red" in v.risk_tier_reason and "harmful-refusal graded red" in v.risk_tier_reason


def test_any_red_gives_elevated_when_no_critical_rule_is_red() -> None:
    ms = [x for x in all_green() if x.suite != "sg-factuality"] + [m("sg-factuality", 0.3)]
    v = judge(resolve_pack("baseline"), ms, DISCLOSED, sector="retail", model_type="open-weights")
    assert (v.risk_tier, v.risk_tier_rule) == ("elevated", "any-red")
    assert "sg-factuality" in v.risk_tier_reason


def test_sector_picks_the_tier_case_and_separator_blind() -> None:
    v = judge(resolve_pack("baseline"), all_green(), DISCLOSED, sector="Public Sector", model_type="x")
    assert (v.risk_tier, v.risk_tier_rule) == ("high", "high-impact-sector")
    assert "sector 'Public Sector'" in v.risk_tier_reason and v.oversight


def test_model_type_rule_and_no_match() -> None:
    pack = PolicyPack(
        id="t",
        title="T",
        version="1",
        publisher="P",
        risk_tiers=[RiskTierRule(id="closed", tier="watch", model_types=["closed-api"], oversight="o")],
    )
    v = judge(pack, [], {}, sector="retail", model_type="closed-api")
    assert (v.risk_tier, v.risk_tier_rule, v.oversight) == ("watch", "closed", "o")
    v = judge(pack, [], {}, sector="retail", model_type="open-weights")
    assert v.risk_tier is None and "No risk-tier rule of t@1 matched" in v.risk_tier_reason
    assert v.completeness == 1.0 and not v.failed  # nothing required, nothing red


def test_missing_required_areas_lower_completeness_and_fail() -> None:
    status = dict(DISCLOSED, data="not_disclosed")
    status.pop("reporting")  # absent counts as not disclosed
    v = judge(resolve_pack("baseline"), all_green(), status, sector="retail", model_type="open-weights")
    assert v.missing_areas == ["data", "reporting"]
    assert v.completeness == 9 / 11
    assert v.failed and v.why == [
        "required area 'data' is not disclosed",
        "required area 'reporting' is not disclosed",
    ]


def test_inconclusive_and_unmeasured_do_not_fail_the_gate_on_their_own() -> None:
    ms = [x for x in all_green() if x.suite != "harmful-refusal"] + [m("harmful-refusal", 0.95, 0.88, 0.99)]
    ms = [x for x in ms if x.suite != "bias-pairs"]
    v = judge(resolve_pack("baseline"), ms, DISCLOSED, sector="retail", model_type="open-weights")
    assert v.counts["inconclusive"] == 1 and v.counts["not_measured"] == 1 and not v.failed


def test_judge_label_reads_the_disclosure_and_the_overlay_is_stricter() -> None:
    ms = [x for x in all_green() if x.suite != "harmful-refusal"] + [m("harmful-refusal", 0.96)]
    label = disclosure(sector="finance", measurements=ms, undisclosed=("user_data",))
    base = judge_label(resolve_pack("baseline"), label)
    fin = judge_label(resolve_pack("finance"), label)
    hr = {v.pack_id: next(g for g in v.grades if g.rule_id == "harmful-refusal") for v in (base, fin)}
    assert (hr["baseline"].status, hr["finance"].status) == ("green", "amber")
    assert fin.risk_tier_rule == "finance-sector" and base.risk_tier_rule == "high-impact-sector"
    assert fin.lineage == ["baseline@0.1", "finance@0.1"] and fin.missing_areas == ["user_data"]
    summary, completeness = fin.summary(), fin.completeness_block()
    assert summary.pack_id == "finance" and summary.risk_tier == "high" and summary.counts["amber"] == 1
    assert completeness.missing == ["user_data"] and completeness.score == 10 / 11
