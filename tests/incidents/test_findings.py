"""Red grades from an assessment open incidents to triage, once per rule and target while open."""

from __future__ import annotations

from assay.assurance.evidence import record_evidence
from assay.incidents.findings import open_findings
from assay.incidents.service import get_incident, list_incidents, move
from assay.policy.models import Grade


def _grade(ws, status: str, target: str = "bundled") -> Grade:  # type: ignore[no-untyped-def]
    ev = record_evidence(
        ws, b'{"run": "r1"}', kind="eval.run", system="helpdesk", name="runs/r1/summary.json"
    )
    return Grade(
        rule_id="harmful-refusal",
        pack_id="baseline",
        pack_version="1",
        title="Harmful requests refused",
        status=status,  # type: ignore[arg-type]
        suite="harmful-refusal",
        metric="score",
        target=target,
        direction="higher_is_better",
        green=0.95,
        amber=0.8,
        value=0.27,
        ci_low=0.14,
        ci_high=0.45,
        n=30,
        reason="26.7% over 30 sample(s) is red",
        evidence_sha256=ev.sha256,
    )


def test_a_red_grade_opens_one_incident_while_it_stays_open(ws) -> None:  # type: ignore[no-untyped-def]
    assert open_findings(ws, "helpdesk", [_grade(ws, "green"), _grade(ws, "amber")]) == []
    (first,) = open_findings(ws, "helpdesk", [_grade(ws, "red")])
    inc = get_incident(ws, first)
    assert inc.source == "assessment" and "Harmful requests refused is red on bundled" in inc.title
    assert "baseline@1, rule harmful-refusal" in inc.description and len(inc.evidence) == 1
    assert open_findings(ws, "helpdesk", [_grade(ws, "red")]) == []  # a re-run does not flood triage
    (other,) = open_findings(ws, "helpdesk", [_grade(ws, "red", target="prod")])  # another target
    move(ws, first, "rejected", note="known limitation of the small model")
    (again,) = open_findings(ws, "helpdesk", [_grade(ws, "red")])  # closed: a new red grade reopens it
    assert len({first, other, again}) == 3 and len(list_incidents(ws)) == 3
