"""The ex post safety net: what cover is in force on a given day, and what is missing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from assay.manifest import Manifest
from assay.registry.models import FlagKind, Severity
from assay.registry.safety_net import CoverStatus, SafetyNetReport, assess_safety_net

INSURED = {"harmful_output", "factuality", "user_data_privacy", "prompt_injection"}
ALL_AREAS = {
    "training_data",
    "intellectual_property",
    "model_alignment",
    "harmful_output",
    "factuality",
    "bias_fairness",
    "prompt_injection",
    "user_data_privacy",
    "infrastructure_security",
    "content_provenance",
    "incident_response",
}


def _kinds(report: SafetyNetReport, kind: FlagKind) -> list[Any]:
    return [f for f in report.flags if f.kind is kind]


def _no_cover(report: SafetyNetReport) -> set[str | None]:
    return {f.risk_area for f in _kinds(report, FlagKind.no_cover)}


def test_policy_in_force_covers_its_areas(example: Manifest) -> None:
    report = assess_safety_net(example, dt.date(2026, 6, 1))
    assert {a.risk_area for a in report.areas if a.covered} == INSURED
    # The warranty (IP) and the service level (infrastructure) are listed but are not cover.
    assert _no_cover(report) == ALL_AREAS - INSURED
    ip = report.area("intellectual_property")
    assert ip is not None and [c.id for c in ip.commitments] == ["smollm2-licence-terms"] and not ip.covered
    harmful = report.area("harmful_output")
    assert harmful is not None
    assert harmful.insurance[0].status is CoverStatus.valid and harmful.insurance[0].limit == "SGD 2,000,000"
    assert [n.party for n in harmful.liability] == ["lion-city-broadband"]
    assert _kinds(report, FlagKind.expired_cover) == [] and _kinds(report, FlagKind.expiring_soon) == []
    assert all(f.severity is Severity.warning for f in _kinds(report, FlagKind.no_cover))


def test_expired_policy_loses_cover(example: Manifest) -> None:
    report = assess_safety_net(example, dt.date(2027, 2, 1))
    [expired] = _kinds(report, FlagKind.expired_cover)
    assert expired.severity is Severity.warning and "lcb-tech-eo-2026" in expired.message
    assert not any(a.covered for a in report.areas)
    assert _no_cover(report) == ALL_AREAS
    harmful = report.area("harmful_output")
    assert harmful is not None and harmful.insurance[0].status is CoverStatus.expired


def test_expiry_day_itself_is_still_covered_and_soon_to_expire(example: Manifest) -> None:
    report = assess_safety_net(example, dt.date(2027, 1, 1))
    assert report.area("factuality").covered  # type: ignore[union-attr]
    [soon] = _kinds(report, FlagKind.expiring_soon)
    assert soon.severity is Severity.info


def test_expiring_soon_window_is_sixty_days(example: Manifest) -> None:
    assert (
        len(_kinds(assess_safety_net(example, dt.date(2026, 11, 2)), FlagKind.expiring_soon)) == 1
    )  # 60 days
    assert _kinds(assess_safety_net(example, dt.date(2026, 11, 1)), FlagKind.expiring_soon) == []  # 61 days


def test_indemnity_counts_as_cover_but_not_once_expired(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    indemnity = {
        "id": "ip-indemnity",
        "kind": "indemnity",
        "from": "huggingface-tb",
        "to": "lion-city-broadband",
        "scope": "Third-party IP claims over model outputs.",
        "risk_areas": ["intellectual_property"],
        "expires": "2026-12-31",
    }
    example_dict["safety_net"]["commitments"].append(indemnity)
    report = assess_safety_net(build(example_dict), dt.date(2026, 6, 1))
    assert report.area("intellectual_property").covered  # type: ignore[union-attr]
    assert "intellectual_property" not in _no_cover(report)

    report = assess_safety_net(build(example_dict), dt.date(2027, 1, 15))
    assert not report.area("intellectual_property").covered  # type: ignore[union-attr]
    assert any("ip-indemnity" in f.message for f in _kinds(report, FlagKind.expired_cover))


def test_policy_not_yet_started_is_not_cover(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    report = assess_safety_net(build(example_dict), dt.date(2025, 12, 1))
    assert not report.area("harmful_output").covered  # type: ignore[union-attr]
    assert len(_kinds(report, FlagKind.not_yet_in_force)) == 1


def test_not_applicable_areas_need_no_cover(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["responsibility"] = {"risk_areas_not_applicable": ["content_provenance"]}
    report = assess_safety_net(build(example_dict), dt.date(2026, 6, 1))
    assert "content_provenance" not in _no_cover(report)
    assert report.area("content_provenance").not_applicable  # type: ignore[union-attr]


def test_no_fault_insurance_is_noted(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    [none_yet] = _kinds(assess_safety_net(build(example_dict), dt.date(2026, 6, 1)), FlagKind.no_fault)
    assert none_yet.severity is Severity.info and none_yet.parties == [] and "No no-fault" in none_yet.message

    example_dict["safety_net"]["insurance"].append(
        {
            "id": "residual-harm",
            "insurer": "Merlion Mutual Insurance",
            "holder": "lion-city-broadband",
            "cover": ["model_alignment", "bias_fairness"],
            "limit": {"amount": 500000},
            "no_fault": True,
            "expires": "2027-06-30",
        }
    )
    report = assess_safety_net(build(example_dict), dt.date(2026, 6, 1))
    [noted] = _kinds(report, FlagKind.no_fault)
    assert noted.parties == ["lion-city-broadband"] and "residual-harm" in noted.message
    assert report.area("bias_fairness").covered  # type: ignore[union-attr]
