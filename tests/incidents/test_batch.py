"""Group commit of the public intake (`assay.incidents.batch`): a batch stores what `report` stores, keeps
Idempotency-Key semantics exact inside and across batches, and one bad report fails alone. Every backend."""

from __future__ import annotations

import hashlib
import json

from assay.incidents import service as svc
from assay.incidents.batch import Pending, write_batch
from assay.incidents.intake import IdempotencyConflict, PublicReport
from assay.incidents.service import ReportInvalid
from assay.notify import list_notifications


def _item(title: str, key: str | None = None, **extra: object) -> Pending:
    body = {
        "system": "helpdesk",
        "title": title,
        "description": "It quoted S$500 for the outage refund; the policy says S$5.",
        "reporter": {"email": "someone@example.org"},
        **extra,
    }
    rep = PublicReport.model_validate(body)
    digest = hashlib.sha256(json.dumps(rep.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return Pending(rep, idempotency_key=key, body_sha256=digest)


def test_a_batch_stores_each_report_as_report_does_and_keys_stay_exact(ws) -> None:  # type: ignore[no-untyped-def]
    single = svc.report(ws, _item("one on its own").report.as_report("api"))
    out = write_batch(
        ws,
        [
            _item("a", "k-a"),
            _item("b", "k-b"),
            _item("a", "k-a"),  # the same request again inside the batch
            _item("other body", "k-b"),  # the key again with another body
            _item("bad", system="nobody"),  # refused alone
            _item("c"),
            _item("v", kind="vulnerability"),
        ],
    )
    a, b, a_again, conflict, bad, c, v = out
    assert isinstance(conflict, IdempotencyConflict) and isinstance(bad, ReportInvalid)
    assert a_again == (a[0], True) and a[1] is False and b[1] is False  # type: ignore[index]
    ids = [a[0].id, b[0].id, c[0].id, v[0].id]  # type: ignore[index]
    numbers = sorted(int(i.rsplit("-", 1)[1]) for i in [single.id, *ids])
    assert numbers == [1, 2, 3, 4, 5]  # numbered after the single report, no gap, no repeat
    assert all(r.ok for r in svc.audit(ws))  # every first event signed and chained as report() does
    stored = svc.get_incident(ws, a[0].id)  # type: ignore[index]
    assert stored.model_dump() == a[0].model_dump()  # type: ignore[index]
    assert svc.reporter_contact(ws, c[0].id).email == "someone@example.org"  # type: ignore[index]
    # notices: each new report acknowledged and its accountable party told, in the same transaction
    acks = [n for n in list_notifications(ws) if n.topic == "report.received"]
    assert len(acks) == 5
    # a later batch answers the stored key with the same incident, another body with a conflict
    again, clash = write_batch(ws, [_item("a", "k-a"), _item("changed", "k-a")])
    assert again[0].id == stored.id and again[1] is True  # type: ignore[index]
    assert isinstance(clash, IdempotencyConflict)
    assert len(svc.list_incidents(ws)) == 5


def test_a_vulnerability_batch_flags_a_near_duplicate_within_the_batch(ws) -> None:  # type: ignore[no-untyped-def]
    text = "Prompt injection through the help-article search leaks the system prompt verbatim. " * 3
    first, second = write_batch(
        ws,
        [
            _item("leak", kind="vulnerability", description=text),
            _item("leak again", kind="vulnerability", description=text + "Seen twice."),
        ],
    )
    assert second[0].near_duplicate_of == first[0].id  # type: ignore[index]
    assert all(r.ok for r in svc.audit(ws))


def test_without_batching_the_api_stores_each_report_on_its_own(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.api.server import LiveServer

    monkeypatch.setenv("ASSAY_INTAKE_BATCH", "1")
    with LiveServer(ws) as server:
        assert not server._server.config.app.state.intake.running
        body = _item("direct").report.model_dump(mode="json")
        first = httpx.post(f"{server.url}/api/v1/incidents", json=body, headers={"Idempotency-Key": "d-1"})
        again = httpx.post(f"{server.url}/api/v1/incidents", json=body, headers={"Idempotency-Key": "d-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True


def test_a_bad_batch_size_stops_the_server_start(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from assay.cli.main import app

    monkeypatch.setenv("ASSAY_INTAKE_BATCH", "lots")
    r = CliRunner().invoke(app, ["serve", "--home", str(tmp_path / ".assay"), "--port", "0"])
    assert r.exit_code == 2 and "ASSAY_INTAKE_BATCH" in r.output


def test_two_reminder_passes_at_once_queue_one_reminder(ws) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt
    import threading

    from assay.incidents.reminders import due_at, remind

    aware = dt.date.today() - dt.timedelta(days=9)
    inc = svc.report(
        ws,
        _item("severe")
        .report.as_report("api")
        .model_copy(update={"death": True, "harm_types": ["death"], "became_aware": aware}),
    )
    at = due_at(inc.deadline) - dt.timedelta(hours=40)
    found: list[int] = []
    passes = [
        threading.Thread(target=lambda: found.extend(len(x.lead_hours) for x in remind(ws, now=at)))
        for _ in range(2)
    ]
    for t in passes:
        t.start()
    for t in passes:
        t.join()
    assert found == [1]  # one pass queued the 48 h reminder, the other found it done
    assert [e.kind for e in svc.events(ws, inc.id)].count("reminded") == 1
