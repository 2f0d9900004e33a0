"""Responsibility by level of control: the helpdesk example worked by hand, and each flag's trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assay.manifest import Manifest
from assay.registry.allocation import allocate
from assay.registry.models import FlagKind, RaciMatrix, Severity

HF = "huggingface-tb"
LCB = "lion-city-broadband"
HC = "harbour-cloud"
KB = "kb-writers"
PARTIES = {HF, LCB, HC, KB}

# Worked by hand from docs/registry.md and risk_areas.yaml, not pasted from a run. The example is
# open-weights, so Hugging Face's training_data, weights and alignment on the foundation model count
# 0.5; kb-writers and Lion City Broadband share retrieval_data (0.5 each); everything else is full.
#
# intellectual_property (training_data .5, retrieval_data .2, output_filter .3):
#   HF  = .5 x 1 x .5                = .25
#   LCB = .2 x .5 (shared) + .3 x 1  = .40   <- top: accountable
#   KB  = .2 x .5                    = .10
#   responsible threshold .5 x .40 = .20: LCB, HF; KB (.10) is consulted; HC informed.
# bias_fairness (training_data .4, alignment .3, output_filter .3):
#   HF  = .4 x .5 + .3 x .5 = .35   <- top: accountable
#   LCB = .3                = .30   >= .175, so responsible too
# content_provenance (output_filter .5, deployment_infrastructure .3, weights .2):
#   LCB = .5 <- top;  HC = .3 >= .25 responsible;  HF = .2 x .5 = .10 consulted;  KB informed.
# factuality (weights .2, retrieval_data .4, system_prompt .2, output_filter .2):
#   LCB = .4 x .5 + .2 + .2 = .6 <- top;  KB = .2 and HF = .2 x .5 = .1 are both below .3: consulted.
EXPECTED_OPEN_WEIGHTS: dict[str, tuple[str | None, set[str], set[str]]] = {
    # risk area: (accountable, responsible, consulted)
    "training_data": (HF, {HF}, set()),
    "intellectual_property": (LCB, {LCB, HF}, {KB}),
    "model_alignment": (HF, {HF}, set()),
    "harmful_output": (LCB, {LCB}, {HF}),
    "factuality": (LCB, {LCB}, {HF, KB}),
    "bias_fairness": (HF, {HF, LCB}, set()),
    "prompt_injection": (LCB, {LCB}, set()),
    "user_data_privacy": (LCB, {LCB}, {HC}),
    "infrastructure_security": (HC, {HC}, {HF}),
    "content_provenance": (LCB, {LCB, HC}, {HF}),
    "incident_response": (LCB, {LCB}, set()),
}


def _flags(matrix: RaciMatrix, kind: FlagKind) -> list[Any]:
    return [f for f in matrix.flags if f.kind is kind]


def test_example_matches_the_hand_checked_matrix(example: Manifest) -> None:
    matrix = allocate(example)
    assert [a.risk_area for a in matrix.allocations] == list(EXPECTED_OPEN_WEIGHTS)
    for area, (accountable, responsible, consulted) in EXPECTED_OPEN_WEIGHTS.items():
        a = matrix.allocation(area)
        assert a is not None
        got = (a.accountable, set(a.responsible), set(a.consulted))
        assert got == (accountable, responsible, consulted), area
        assert set(a.informed) == PARTIES - responsible - consulted, area
        assert a.source == "derived"
    assert matrix.flags == []


def test_example_scores_follow_the_arithmetic(example: Manifest) -> None:
    matrix = allocate(example)
    ip = matrix.allocation("intellectual_property")
    assert ip is not None
    assert ip.scores == {HF: pytest.approx(0.25), LCB: pytest.approx(0.4), HC: 0.0, KB: pytest.approx(0.1)}
    bias = matrix.allocation("bias_fairness")
    assert bias is not None
    assert bias.scores[HF] == pytest.approx(0.35)
    assert bias.scores[LCB] == pytest.approx(0.3)
    upstream = [b for b in bias.basis if b.party == HF]
    assert {b.model_type_factor for b in upstream} == {0.5}
    assert bias.role_of(HF) == "A/R" and bias.role_of(LCB) == "R" and bias.role_of(KB) == "I"


def test_closed_model_counts_the_developers_upstream_points_fully(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["system"]["model_type"] = "closed"
    matrix = allocate(build(example_dict))
    assert matrix.allocation("training_data").scores[HF] == pytest.approx(1.0)  # type: ignore[union-attr]
    # IP: HF .5 now beats LCB .4, so the developer becomes accountable.
    ip = matrix.allocation("intellectual_property")
    assert ip is not None and ip.accountable == HF and set(ip.responsible) == {HF, LCB}
    # Bias: HF .4 + .3 = .7, threshold .35, so LCB (.3) drops from responsible to consulted.
    bias = matrix.allocation("bias_fairness")
    assert bias is not None
    assert bias.scores[HF] == pytest.approx(0.7)
    assert (bias.accountable, bias.responsible, bias.consulted) == (HF, [HF], [LCB])
    assert _flags(matrix, FlagKind.closed_model_violation) == []


def test_deployer_holding_weights_of_a_closed_model_is_a_violation(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["system"]["model_type"] = "closed"
    example_dict["control_points"].append(
        {"point": "weights", "component": "smollm2-135m", "holder": LCB, "level": "shared"}
    )
    matrix = allocate(build(example_dict))
    [flag] = _flags(matrix, FlagKind.closed_model_violation)
    assert flag.severity is Severity.error
    assert flag.parties == [LCB] and flag.component == "smollm2-135m"
    assert matrix.has_errors

    example_dict["system"]["model_type"] = "open-weights"
    assert _flags(allocate(build(example_dict)), FlagKind.closed_model_violation) == []


def test_upstream_factor_applies_only_on_the_foundation_model(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["components"].append(
        {
            "id": "helpdesk-tune",
            "name": "LoRA fine-tune",
            "kind": "fine_tune",
            "provider": LCB,
            "based_on": "smollm2-135m",
        }
    )
    example_dict["control_points"].append({"point": "weights", "component": "helpdesk-tune", "holder": LCB})
    alignment = allocate(build(example_dict)).allocation("model_alignment")
    assert alignment is not None
    # LCB's weights on its own fine-tune count fully: .4; HF keeps .6 x .5 + .4 x .5 = .5.
    assert alignment.scores[LCB] == pytest.approx(0.4)
    assert alignment.accountable == HF and set(alignment.responsible) == {HF, LCB}


def test_uncontrolled_area_is_a_gap_until_marked_not_applicable(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["control_points"] = [
        h for h in example_dict["control_points"] if h["point"] not in ("monitoring", "incident_response")
    ]
    matrix = allocate(build(example_dict))
    [gap] = _flags(matrix, FlagKind.gap)
    assert gap.risk_area == "incident_response" and gap.severity is Severity.error
    area = matrix.allocation("incident_response")
    assert area is not None and area.accountable is None and area.responsible == []
    assert set(area.informed) == PARTIES

    example_dict["responsibility"] = {"risk_areas_not_applicable": ["incident_response"]}
    matrix = allocate(build(example_dict))
    assert _flags(matrix, FlagKind.gap) == []
    area = matrix.allocation("incident_response")
    assert area is not None and area.not_applicable and area.role_of(LCB) == ""
    assert not matrix.has_errors


def test_half_held_area_lists_the_unheld_points(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["control_points"] = [h for h in example_dict["control_points"] if h["point"] != "monitoring"]
    matrix = allocate(build(example_dict))
    [flag] = _flags(matrix, FlagKind.uncovered_points)
    assert flag.risk_area == "incident_response" and flag.points == ["monitoring"]
    assert flag.severity is Severity.warning
    assert _flags(matrix, FlagKind.gap) == []
    assert matrix.allocation("incident_response").accountable == LCB  # type: ignore[union-attr]


def test_two_full_claims_on_one_lever_conflict(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["control_points"].append(
        {"point": "output_filter", "component": "safety-filter", "holder": HC}
    )
    [flag] = _flags(allocate(build(example_dict)), FlagKind.conflicting_claim)
    assert flag.severity is Severity.error
    assert (
        flag.parties == [LCB, HC] and flag.component == "safety-filter" and flag.points == ["output_filter"]
    )


def test_full_and_shared_or_same_party_twice_is_no_conflict(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["control_points"].append(
        {"point": "output_filter", "component": "safety-filter", "holder": HC, "level": "shared"}
    )
    example_dict["control_points"].append(
        {"point": "output_filter", "component": "safety-filter", "holder": LCB}
    )
    assert _flags(allocate(build(example_dict)), FlagKind.conflicting_claim) == []


def test_same_point_on_two_components_counts_once(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["control_points"].append(
        {"point": "output_filter", "component": "helpdesk-app", "holder": LCB}
    )
    area = allocate(build(example_dict)).allocation("prompt_injection")
    assert area is not None
    assert area.scores[LCB] == pytest.approx(1.0)
    assert sorted(b.counted for b in area.basis if b.point == "output_filter") == [False, True]


def test_equal_top_scores_leave_nobody_accountable(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    for h in example_dict["control_points"]:
        if h["point"] == "monitoring":
            h["holder"] = HC
    matrix = allocate(build(example_dict))
    area = matrix.allocation("incident_response")
    assert area is not None
    assert area.accountable is None and set(area.responsible) == {LCB, HC}
    [flag] = _flags(matrix, FlagKind.ambiguous_accountability)
    assert flag.risk_area == "incident_response" and flag.parties == [LCB, HC]
    assert flag.severity is Severity.warning


def test_override_settles_a_tie_without_further_flags(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    for h in example_dict["control_points"]:
        if h["point"] == "monitoring":
            h["holder"] = HC
    example_dict["responsibility"] = {
        "overrides": [
            {
                "risk_area": "incident_response",
                "accountable": LCB,
                "responsible": [LCB, HC],
                "rationale": "The deployer runs the incident process; hosting only feeds it alerts.",
            }
        ]
    }
    matrix = allocate(build(example_dict))
    assert matrix.flags == []
    area = matrix.allocation("incident_response")
    assert area is not None and area.accountable == LCB and area.role_of(HC) == "R"


def test_override_replaces_the_allocation_and_keeps_the_reason(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    rationale = "The hosting contract makes Harbour Cloud answer for output moderation it operates."
    example_dict["responsibility"] = {
        "overrides": [
            {
                "risk_area": "harmful_output",
                "accountable": HC,
                "responsible": [HC, LCB],
                "rationale": rationale,
                "decided_by": "AI governance committee",
                "decided_on": "2026-03-02",
            }
        ]
    }
    matrix = allocate(build(example_dict))
    area = matrix.allocation("harmful_output")
    assert area is not None
    assert area.source == "override"
    assert (area.accountable, area.responsible, area.consulted) == (HC, [HC, LCB], [HF])
    assert area.informed == [KB]
    assert area.rationale == rationale and area.decided_by == "AI governance committee"
    assert str(area.decided_on) == "2026-03-02"
    assert area.derived is not None and area.derived.accountable == LCB and area.derived.source == "derived"
    [flag] = _flags(matrix, FlagKind.override_without_control)
    assert flag.risk_area == "harmful_output" and flag.parties == [HC]
    # Other areas keep the derived allocation.
    assert matrix.allocation("prompt_injection").source == "derived"  # type: ignore[union-attr]


def test_override_of_a_not_applicable_area_is_ignored_and_flagged(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["responsibility"] = {
        "risk_areas_not_applicable": ["content_provenance"],
        "overrides": [
            {
                "risk_area": "content_provenance",
                "accountable": LCB,
                "responsible": [LCB],
                "rationale": "Written before the area was ruled out of scope.",
            }
        ],
    }
    matrix = allocate(build(example_dict))
    area = matrix.allocation("content_provenance")
    assert area is not None and area.not_applicable and area.source == "derived"
    assert [f.risk_area for f in _flags(matrix, FlagKind.override_ignored)] == ["content_provenance"]
