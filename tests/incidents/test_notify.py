"""A severe incident queues its notifications in the same transaction, and they reach real receivers."""

from __future__ import annotations

import json

import pytest

from assay.incidents.policy import Contact, builtin_policy
from assay.incidents.service import report, triage
from assay.notify import deliver_due, list_notifications
from tests.incidents.conftest import make_report
from tests.notify.test_outbox import SECRET, Receiver


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ASSAY_WEBHOOK_SECRET_IMDA", SECRET)
    r = Receiver()
    yield r
    r.close()


def _policy(url: str):  # type: ignore[no-untyped-def]
    contacts = [
        Contact(
            id="imda",
            name="Authority (test)",
            role="authority",
            email="ai-incidents@authority.example.sg",
            webhook=url,
        ),
    ]
    return builtin_policy().model_copy(update={"contacts": contacts})


def test_a_severe_report_queues_email_and_a_signed_webhook_that_arrive(ws, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    pol = _policy(receiver.url)
    inc = report(ws, make_report(death=True, harm_types=["death"]), policy=pol)
    assert inc.severe
    queued = list_notifications(ws)
    # the pack's authority (e-mail and webhook) and the accountable party of the RACI (its contact e-mail)
    assert sorted((n.channel, n.destination, n.topic) for n in queued) == [
        ("email", "ai-governance@lcb.example.sg", "incident.severe"),
        ("email", "ai-incidents@authority.example.sg", "incident.severe"),
        ("webhook", receiver.url, "incident.severe"),
    ]
    assert all(inc.id in json.dumps(n.payload) for n in queued)
    report_ = deliver_due(ws, senders={"email": lambda n: None})  # e-mail has its own test in tests/notify
    assert report_.delivered == 3
    (mid, body) = receiver.received[0]
    assert body["payload"]["incident"]["id"] == inc.id and body["topic"] == "incident.severe"


def test_a_minor_report_tells_only_the_parties_until_triage_makes_it_severe(ws, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    pol = _policy(receiver.url)
    inc = report(ws, make_report(), policy=pol)
    assert not inc.severe
    assert [n.topic for n in list_notifications(ws)] == ["incident.reported"]  # the accountable party only
    triaged = triage(ws, inc.id, death=True, policy=pol)
    assert triaged.severe
    severe = [n for n in list_notifications(ws) if n.topic == "incident.severe"]
    assert len(severe) == 3  # the authority twice, the accountable party once
    triage(ws, inc.id, severity="high", policy=pol)  # still severe: nothing new is sent
    assert len(list_notifications(ws)) == 4
