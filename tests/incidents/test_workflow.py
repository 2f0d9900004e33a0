"""Reporting, numbering, the workflow's allowed moves, assignment, comments, triage and deadlines, the
private reporter contact, and that a change and its event are stored together or not at all.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from assay.incidents import service as svc
from assay.incidents.models import TRANSITIONS
from assay.incidents.policy import builtin_policy

from .conftest import make_report


def test_report_numbers_per_system_and_records_the_default_policy(ws) -> None:  # type: ignore[no-untyped-def]
    a = svc.report(ws, make_report(component="helpdesk-app"))
    b = svc.report(ws, make_report(title="Second"))
    today = a.received_at.date()  # the service's own (UTC) clock, so a run across midnight still agrees
    year = today.year
    assert (a.id, b.id) == (f"AS-HELPDESK-{year}-0001", f"AS-HELPDESK-{year}-0002")
    assert a.status == "received" and a.policy_by_default and a.policy_id == "eu-ai-act-art73"
    assert not a.severe and a.deadline is None and a.became_aware == today
    assert svc.get_incident(ws, a.id.lower()).title == a.title  # ids are case-insensitive
    (event,) = svc.events(ws, a.id)
    assert event.kind == "reported" and event.seq == 1 and event.data["by_default"] is True


def test_a_severe_report_gets_its_deadline_from_the_awareness_date(ws) -> None:  # type: ignore[no-untyped-def]
    aware = dt.date(2026, 5, 4)
    inc = svc.report(ws, make_report(death=True, occurred=dt.date(2026, 5, 1), became_aware=aware))
    assert inc.severe and inc.rule_id == "art73-4-death" and inc.deadline == dt.date(2026, 5, 14)
    assert "death" in inc.harm_types


def test_references_are_checked_against_the_registry_and_the_evidence(ws) -> None:  # type: ignore[no-untyped-def]
    from assay.assurance.evidence import record_evidence

    with pytest.raises(svc.ReportInvalid) as err:
        svc.report(ws, make_report(system="nope"))
    assert err.value.problems[0].field == "system" and "nope" in str(err.value)
    with pytest.raises(svc.ReportInvalid) as err:
        svc.report(
            ws,
            make_report(
                component="kettle",
                evidence=[{"ref": "0" * 64}, {"ref": "1" * 8 + "-0000-0000-0000-" + "0" * 12}],
            ),
        )
    fields = [p.field for p in err.value.problems]
    assert fields == ["component", "evidence[0].ref", "evidence[1].ref"]
    assert "helpdesk-app" in err.value.problems[0].render()  # the known components are listed
    assert svc.list_incidents(ws) == []  # nothing stored
    ev = record_evidence(ws, b"transcript", kind="incident.attachment", system="helpdesk")
    inc = svc.report(ws, make_report(evidence=[{"ref": ev.id}, {"ref": ev.sha256}]))
    assert [e.ref for e in inc.evidence] == [ev.id, ev.sha256]


def test_workflow_moves_and_refusals(ws) -> None:  # type: ignore[no-untyped-def]
    inc = svc.report(ws, make_report())
    with pytest.raises(svc.IncidentError) as err:
        svc.move(ws, inc.id, "resolved")
    assert str(err.value) == (
        f"{inc.id} is received; it cannot move to resolved (allowed next: triaged, duplicate, rejected)"
    )
    for state in ("triaged", "investigating", "mitigated", "resolved", "closed"):
        inc = svc.move(ws, inc.id, state, note=f"to {state}")
    assert inc.status == "closed"
    with pytest.raises(svc.IncidentError, match="allowed next: none: it is final"):
        svc.move(ws, inc.id, "investigating")
    with pytest.raises(svc.IncidentError, match="unknown state 'done'"):
        svc.move(ws, inc.id, "done")
    kinds = [(e.kind, e.data.get("to")) for e in svc.events(ws, inc.id)]
    assert kinds[1:] == [
        ("moved", s) for s in ("triaged", "investigating", "mitigated", "resolved", "closed")
    ]
    assert all(nxt in TRANSITIONS for nxts in TRANSITIONS.values() for nxt in nxts)


def test_duplicate_needs_an_existing_original(ws) -> None:  # type: ignore[no-untyped-def]
    first = svc.report(ws, make_report())
    second = svc.report(ws, make_report())
    with pytest.raises(svc.IncidentError, match="--of ID"):
        svc.move(ws, second.id, "duplicate")
    with pytest.raises(svc.IncidentNotFound):
        svc.move(ws, second.id, "duplicate", duplicate_of="AS-HELPDESK-1999-0001")
    dup = svc.move(ws, second.id, "duplicate", duplicate_of=first.id.lower())
    assert dup.status == "duplicate" and dup.duplicate_of == first.id


def test_assign_comment_triage_and_corrective_actions(ws) -> None:  # type: ignore[no-untyped-def]
    inc = svc.report(ws, make_report(became_aware=dt.date(2026, 6, 1)))
    svc.assign(ws, inc.id, "alice", actor="lead")
    svc.comment(ws, inc.id, "Reproduced with the March help articles.", actor="alice")
    judged = svc.triage(
        ws, inc.id, severity="high", harm_types=["fundamental-rights"], affected_groups=["customers"]
    )
    assert judged.status == "triaged" and judged.severe and judged.deadline == dt.date(2026, 6, 16)
    again = svc.triage(
        ws, inc.id, critical_infrastructure=True
    )  # re-triage keeps the state, shortens the clock
    assert again.status == "triaged" and again.deadline == dt.date(2026, 6, 3)
    svc.move(ws, inc.id, "investigating")
    done = svc.move(
        ws,
        inc.id,
        "mitigated",
        causes="stale article",
        mitigation="article withdrawn",
        corrective_action="review articles monthly",
    )
    assert done.causes == "stale article" and done.corrective_actions == ["review articles monthly"]
    log = svc.events(ws, inc.id)
    assert [e.kind for e in log] == [
        "reported",
        "assigned",
        "commented",
        "triaged",
        "triaged",
        "moved",
        "moved",
    ]
    assert log[1].actor == "lead" and log[1].data == {"from": None, "to": "alice"}
    assert log[2].data["text"].startswith("Reproduced")
    assert log[3].data["before"]["severe"] is False and log[3].data["severe"] is True
    with pytest.raises(svc.IncidentError, match="unknown harm type"):
        svc.triage(ws, inc.id, harm_types=["bad"])
    with pytest.raises(svc.IncidentError, match="the comment is empty"):
        svc.comment(ws, inc.id, "   ")


def test_triage_under_a_custom_policy_needs_it_again(ws) -> None:  # type: ignore[no-untyped-def]
    custom = builtin_policy("illustrative").model_copy(update={"id": "sg-sector"})
    inc = svc.report(ws, make_report(severity="critical"), policy=custom)
    assert inc.severe and inc.rule_id == "ill-critical" and not inc.policy_by_default
    with pytest.raises(svc.IncidentError, match="policy 'sg-sector@1'"):
        svc.triage(ws, inc.id, severity="low")
    assert not svc.triage(ws, inc.id, severity="low", policy=custom).severe


def test_reporter_contact_is_kept_apart(ws) -> None:  # type: ignore[no-untyped-def]
    inc = svc.report(ws, make_report(reporter={"name": "R. Tan", "email": "r.tan@mail.example"}))
    assert svc.reporter_contact(ws, inc.id).email == "r.tan@mail.example"
    dumped = inc.model_dump_json()
    assert "r.tan@mail.example" not in dumped
    with ws.db.engine.connect() as conn:
        record = conn.execute(text("SELECT record FROM incidents")).scalar()
        events = conn.execute(text("SELECT data FROM incident_events")).scalars().all()
    assert "mail.example" not in str(record) and "mail.example" not in str(events)


def test_vulnerability_reports_get_a_disclosure_date_and_a_known_tier(ws) -> None:  # type: ignore[no-untyped-def]
    vuln = svc.report(ws, make_report(kind="vulnerability", reward_tier="high"))
    assert vuln.disclosure_date == vuln.received_at.date() + dt.timedelta(days=90)
    with pytest.raises(svc.ReportInvalid, match="'platinum' is not a tier"):
        svc.report(ws, make_report(kind="vulnerability", reward_tier="platinum"))
    with pytest.raises(ValueError, match="vulnerability reports only"):
        make_report(reward_tier="high")


def test_due_lists_overdue_and_due_soon_until_filed(ws) -> None:  # type: ignore[no-untyped-def]
    aware = dt.date(2026, 1, 10)
    death = svc.report(ws, make_report(death=True, became_aware=aware))  # due 01-20
    infra = svc.report(ws, make_report(critical_infrastructure=True, became_aware=aware))  # due 01-12
    svc.report(ws, make_report(became_aware=aware))  # not severe: never due
    items = svc.due(ws, dt.date(2026, 1, 18))
    assert [(d.incident_id, d.state, d.days_left) for d in items] == [
        (infra.id, "overdue", -6),
        (death.id, "due_soon", 2),
    ]
    assert [d.incident_id for d in svc.due(ws, dt.date(2026, 1, 18), within=1)] == [infra.id]
    svc.file_report(ws, infra.id, on=dt.date(2026, 1, 18), initial=True, reference="MSA-1")
    assert [d.incident_id for d in svc.due(ws, dt.date(2026, 1, 18))] == [death.id]
    last = svc.events(ws, infra.id)[-1]
    assert last.kind == "filed" and last.data["late"] is True
    with pytest.raises(svc.IncidentError, match="before the awareness date"):
        svc.file_report(ws, death.id, on=dt.date(2026, 1, 1))
    svc.move(ws, death.id, "rejected")
    assert svc.due(ws, dt.date(2026, 1, 30)) == []


def test_initial_report_refused_where_the_rule_does_not_allow_it(ws) -> None:  # type: ignore[no-untyped-def]
    pol = builtin_policy("illustrative")
    inc = svc.report(ws, make_report(critical_infrastructure=True), policy=pol)
    assert inc.rule_id == "ill-essential-service" and not inc.initial_report_allowed
    with pytest.raises(svc.IncidentError, match="does not allow an initial incomplete report"):
        svc.file_report(ws, inc.id, initial=True)
    not_severe = svc.report(ws, make_report())
    with pytest.raises(svc.IncidentError, match="not severe"):
        svc.file_report(ws, not_severe.id)


def test_a_failed_event_append_leaves_nothing_half_written(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from assay.store import incidents as rows

    inc = svc.report(ws, make_report())

    def boom(session, fields):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(rows, "add_event_row", boom)
    with pytest.raises(RuntimeError):
        svc.assign(ws, inc.id, "bob")
    with pytest.raises(RuntimeError):
        svc.report(ws, make_report(title="never stored"))
    monkeypatch.undo()
    after = svc.get_incident(ws, inc.id)
    assert after.assignee is None and after.event_count == 1
    assert [i.id for i in svc.list_incidents(ws)] == [inc.id]
    nxt = svc.report(ws, make_report())  # the failed report did not use up a number
    assert nxt.id.endswith("-0002")
    assert all(a.ok for a in svc.audit(ws))


def test_report_fields_are_checked_before_anything_is_stored(ws) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="title"):
        make_report(title=" \u200b ")  # nothing visible
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        make_report(occurred=20260101)
    with pytest.raises(ValidationError, match="became_aware .* is before detected"):
        make_report(detected=dt.date(2026, 2, 2), became_aware=dt.date(2026, 2, 1))
    with pytest.raises(svc.ReportInvalid) as err:
        svc.report(ws, make_report(occurred=dt.date.today() + dt.timedelta(days=30)))
    assert err.value.problems[0].field == "occurred" and "in the future" in str(err.value)
    with pytest.raises(svc.IncidentError, match="unknown kind 'bug'"):
        svc.list_incidents(ws, kind="bug")
    with pytest.raises(svc.IncidentError, match="unknown status closedd"):
        svc.list_incidents(ws, status=["closedd"])
    assert svc.list_incidents(ws) == []


def test_control_characters_are_refused_everywhere(ws) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="description holds the control character U\\+0000"):
        make_report(description="a\x00b")
    with pytest.raises(ValidationError, match="affected_groups\\[1\\] holds the control character U\\+001B"):
        make_report(affected_groups=["ok", "\x1b[31mred"])
    with pytest.raises(ValidationError, match=r"reporter\n.*name holds the control character U\+0007"):
        make_report(reporter={"name": "\x07"})
    inc = svc.report(ws, make_report(description="line one\n\tline two"))  # newlines and tabs are text
    with pytest.raises(svc.IncidentError, match="the comment holds the control character U\\+0000"):
        svc.comment(ws, inc.id, "a\x00")
    with pytest.raises(svc.IncidentError, match="the actor holds"):
        svc.assign(ws, inc.id, "bob", actor="x\x00")
    with pytest.raises(svc.IncidentError, match="the note is 20,001 characters"):
        svc.move(ws, inc.id, "triaged", note="n" * 20_001)
    with pytest.raises(svc.IncidentError, match="unknown severity 'huge'"):
        svc.triage(ws, inc.id, severity="huge")  # type: ignore[arg-type]
    assert svc.get_incident(ws, inc.id).event_count == 1
