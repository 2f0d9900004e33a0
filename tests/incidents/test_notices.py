"""Notices beyond the pack's contacts — the RACI's incident_response parties and the reporter — and
deadline reminders, delivered to a real SMTP server (aiosmtpd) and a real webhook receiver on 127.0.0.1.
Every backend."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from assay.incidents import notices
from assay.incidents import service as svc
from assay.incidents.policy import builtin_policy
from assay.incidents.reminders import due_at, remind
from assay.notify import deliver_due, list_notifications
from tests.incidents.conftest import make_report
from tests.notify.test_outbox import SECRET, Receiver, _free_port

from ..conftest import example_text

PARTY_MAIL = "incidents@lcb.example.sg"
REPORTER = "reporter@example.org"


class Smtp:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        self.got: list[Any] = []
        outer = self

        class Keep(Message):
            def handle_message(self, message: Any) -> None:
                outer.got.append(message)

        self.port = _free_port()
        self.ctl = Controller(Keep(), hostname="127.0.0.1", port=self.port)
        self.ctl.start()

    def to(self, address: str) -> list[Any]:
        return [m for m in self.got if m["To"] == address]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Smtp]:
    server = Smtp()
    monkeypatch.setenv("ASSAY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSAY_SMTP_PORT", str(server.port))
    yield server
    server.ctl.stop()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("ASSAY_WEBHOOK_SECRET_LION_CITY_BROADBAND", SECRET)
    r = Receiver()
    yield r
    r.close()


def _register(ws: Any, notify: str | None, extra: str = "") -> None:
    """The example, with the deployer's `notify:` (or none) and extra manifest text appended."""
    from assay.manifest import parse_manifest_text
    from assay.registry.service import register_system

    text = example_text()
    anchor = "    contact: ai-governance@lcb.example.sg\n"
    if notify is not None:
        text = text.replace(anchor, anchor + f"    notify: {notify}\n")
    register_system(ws, parse_manifest_text(text + extra))


def test_parties_and_the_reporter_hear_only_what_is_theirs(ws, smtp: Smtp, hook: Receiver) -> None:  # type: ignore[no-untyped-def]
    _register(ws, f"{{email: {PARTY_MAIL}, webhook: '{hook.url}'}}")
    inc = svc.report(ws, make_report(reporter={"name": "R", "email": REPORTER}))
    svc.triage(ws, inc.id, severity="medium", note="internal: looks like prompt injection")
    svc.assign(ws, inc.id, "alice-internal")
    svc.comment(ws, inc.id, "private triage comment")
    svc.move(ws, inc.id, "investigating", note="internal move note")
    assert deliver_due(ws).delivered == 5  # party e-mail + webhook, acknowledgement, two status changes
    assert deliver_due(ws).claimed == 0  # nothing twice

    # the accountable party (the RACI's incident_response), by e-mail and by signed webhook
    (party_mail,) = smtp.to(PARTY_MAIL)
    assert inc.id in party_mail["Subject"] and "New incident report" in party_mail["Subject"]
    ((mid, body),) = hook.received
    assert body["topic"] == "incident.reported" and body["payload"]["incident"]["id"] == inc.id
    assert body["payload"]["party"] == "lion-city-broadband" and body["payload"]["raci"] in ("A", "A/R")
    assert mid == notices.message_id(inc.id, 1, "incident.reported", "webhook", hook.url)

    # the reporter: an acknowledgement, then one message per public status change, nothing internal
    mails = smtp.to(REPORTER)
    assert [m["Subject"] for m in mails] == [
        f"We received your report {inc.id}",
        f"Your report {inc.id} is now triaged",
        f"Your report {inc.id} is now investigating",
    ]
    assert mails[0]["Assay-Message-Id"] == notices.message_id(inc.id, 1, "report.received", "email", REPORTER)
    text = "\n".join(m.get_payload() for m in mails)
    for secret in ("internal", "alice-internal", "private triage comment", "medium", "S$500"):
        assert secret not in text
    outbox = [n for n in list_notifications(ws) if n.destination == REPORTER]
    assert all(set(n.payload["report"]) <= {*notices.reporter_view(inc)} for n in outbox)
    assert all(a.ok for a in svc.audit(ws))


def test_the_raci_decides_who_is_told_and_unreachable_parties_are_named(ws) -> None:  # type: ignore[no-untyped-def]
    # No notify: and no e-mail contact for the party the override makes accountable: it is named, and
    # the deployer (now only responsible) is still told at its contact e-mail.
    override = """
responsibility:
  overrides:
    - risk_area: incident_response
      accountable: harbour-cloud
      responsible: [harbour-cloud, lion-city-broadband]
      rationale: the hosting contract puts the on-call incident desk at the cloud provider
      decided_by: governance board
      decided_on: 2026-11-01
"""
    _register(ws, None, override)
    with ws.db.session() as s:
        found = notices.recipients(s, "helpdesk")
    assert found.unreachable == ["harbour-cloud"]
    assert [(r.party, r.role, r.email) for r in found.reachable] == [
        ("lion-city-broadband", "R", "ai-governance@lcb.example.sg")
    ]
    # with a notify: address the overriding party is told, and the cached answer follows the change
    from assay.manifest import parse_manifest_text
    from assay.registry.service import register_system

    text = example_text().replace(
        "    roles: [cloud_provider]\n",
        "    roles: [cloud_provider]\n    notify: {email: desk@harbour.example}\n",
    )
    register_system(ws, parse_manifest_text(text + override))
    inc = svc.report(ws, make_report())
    assert sorted(n.destination for n in list_notifications(ws)) == [
        "ai-governance@lcb.example.sg",
        "desk@harbour.example",
    ]
    assert {n.topic for n in list_notifications(ws)} == {"incident.reported"}
    assert all(n.payload["incident"]["id"] == inc.id for n in list_notifications(ws))


def test_an_override_kept_over_the_api_changes_who_is_told(ws) -> None:  # type: ignore[no-untyped-def]
    """The remembered recipients are keyed by the manifest's digest and the kept overrides: an override
    added through the API (the manifest unchanged) is seen by the next report."""
    from assay.manifest.schema import AllocationDecision
    from assay.registry.service import add_override

    _register(ws, None)
    with ws.db.session() as s:
        before = notices.recipients(s, "helpdesk")
    assert "harbour-cloud" not in [r.party for r in before.reachable] + before.unreachable
    decision = AllocationDecision(
        risk_area="incident_response",
        accountable="harbour-cloud",
        responsible=["harbour-cloud"],
        rationale="the hosting contract puts the on-call incident desk at the cloud provider",
    )
    add_override(ws, "helpdesk", decision, decided_by="governance board")
    with ws.db.session() as s:
        after = notices.recipients(s, "helpdesk")
        assert notices.recipients(s, "nobody") == notices.Recipients(
            system="nobody", reachable=[], unreachable=[]
        )
    assert after.unreachable == ["harbour-cloud"] and after.reachable == []


def _severe(ws: Any, aware_days_ago: int = 9) -> Any:
    aware = dt.date.today() - dt.timedelta(days=aware_days_ago)
    return svc.report(ws, make_report(death=True, became_aware=aware.isoformat()))  # 10-day rule


def test_reminders_go_once_per_lead_time_with_a_controlled_clock(ws, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    inc = _severe(ws)
    end = due_at(inc.deadline)
    before = len(list_notifications(ws))
    assert remind(ws, now=end - dt.timedelta(hours=60)) == []  # before the first lead time
    (first,) = remind(ws, now=end - dt.timedelta(hours=47))
    assert first.lead_hours == [48] and first.notices == 1 and first.incident_id == inc.id
    assert remind(ws, now=end - dt.timedelta(hours=47)) == []  # a second pass queues nothing
    assert remind(ws, now=end - dt.timedelta(hours=13)) == []
    (second,) = remind(ws, now=end - dt.timedelta(hours=11))
    assert second.lead_hours == [12]
    assert remind(ws, now=end - dt.timedelta(hours=1)) == []
    assert remind(ws, now=end + dt.timedelta(hours=1)) == []  # overdue: `due` lists it, no reminder
    queued = [n for n in list_notifications(ws) if n.topic == "incident.deadline_reminder"]
    assert len(queued) == 2 and len(list_notifications(ws)) == before + 2
    deliver_due(ws)
    subjects = [m["Subject"] for m in smtp.to("ai-governance@lcb.example.sg")]
    assert sum("Reporting deadline near" in s for s in subjects) == 2
    log = [e for e in svc.events(ws, inc.id) if e.kind == "reminded"]
    assert [e.data["lead_hours"] for e in log] == [[48], [12]]
    assert all(a.ok for a in svc.audit(ws))


def test_a_late_first_pass_sends_one_reminder_and_filed_incidents_none(ws) -> None:  # type: ignore[no-untyped-def]
    late, filed = _severe(ws), _severe(ws)
    svc.file_report(ws, filed.id)
    end = due_at(late.deadline)
    (only,) = remind(ws, now=end - dt.timedelta(hours=5))
    assert only.incident_id == late.id and only.lead_hours == [48, 12]
    assert remind(ws, now=end - dt.timedelta(hours=4)) == []
    # a pack's own lead times
    custom = builtin_policy().model_copy(update={"reminder_hours": [3]})
    (again,) = remind(ws, now=end - dt.timedelta(hours=2), policy=custom)
    assert again.lead_hours == [3]


def test_lead_times_are_checked() -> None:
    from assay.incidents.policy import IncidentsPolicyInvalid, policy_choice

    base = builtin_policy().model_dump(mode="json")
    with pytest.raises(IncidentsPolicyInvalid, match="reminder_hours"):
        policy_choice({**base, "reminder_hours": [0]})
    with pytest.raises(IncidentsPolicyInvalid, match="more than once"):
        policy_choice({**base, "reminder_hours": [12, 12]})
    assert policy_choice({**base, "reminder_hours": [12, 48]}).policy.reminder_hours == [48, 12]


def test_cli_remind_is_idempotent(ws) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from assay.cli.main import app

    inc = _severe(ws)
    at = (due_at(inc.deadline) - dt.timedelta(hours=30)).isoformat()
    args = ["incidents", "remind", "--now", at, "--json", "--home", str(ws.home)]
    env = {"ASSAY_DATABASE_URL": ws.database_url}
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert [r["lead_hours"] for r in json.loads(first.stdout)] == [[48]]
    second = CliRunner().invoke(app, args, env=env)
    assert second.exit_code == 0 and json.loads(second.stdout) == []
    bad = CliRunner().invoke(app, ["incidents", "remind", "--now", "soon", "--home", str(ws.home)], env=env)
    assert bad.exit_code == 2 and "--now" in bad.output


def test_the_worker_loop_runs_the_reminder_pass(ws, smtp: Smtp) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from assay.cli.main import app

    _severe(ws, aware_days_ago=10)  # due by the end of today: within 24 h, both lead times crossed
    env = {"ASSAY_DATABASE_URL": ws.database_url}
    r = CliRunner().invoke(app, ["notify", "run", "--once", "--home", str(ws.home)], env=env)
    assert r.exit_code == 0, r.output
    assert any("Reporting deadline near" in m["Subject"] for m in smtp.got)


def test_an_imported_old_case_is_not_news_to_the_parties(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assay.incidents.exchange import import_aiid

    path = tmp_path / "aiid.json"
    path.write_text(
        json.dumps([{"incident_id": 7, "date": "2019-03-01", "title": "Old", "description": "Old."}])
    )
    (added,) = import_aiid(ws, path, "helpdesk")
    assert added[1] and list_notifications(ws) == []
    svc.report(ws, make_report())  # a new report still is
    assert [n.topic for n in list_notifications(ws)] == ["incident.reported"]
