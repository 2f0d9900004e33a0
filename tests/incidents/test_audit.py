"""`audit` proves an incident's log was not edited, removed from, reordered or added to, and that the
stored record is the one its last event signed; each test tampers with rows directly in SQL, as someone
with database access but not the workspace key would. Every backend."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from assay.incidents import service as svc

from .conftest import make_report


@pytest.fixture
def incident(ws):  # type: ignore[no-untyped-def]
    """An incident with five events, next to an untouched one."""
    inc = svc.report(ws, make_report())
    svc.triage(ws, inc.id, severity="medium")
    svc.assign(ws, inc.id, "alice")
    svc.comment(ws, inc.id, "first look")
    svc.move(ws, inc.id, "investigating")
    svc.report(ws, make_report(title="bystander"))
    assert all(a.ok for a in svc.audit(ws))
    return inc.id


def _sql(ws, statement: str, **params) -> None:  # type: ignore[no-untyped-def]
    with ws.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _broken(ws, ident: str):  # type: ignore[no-untyped-def]
    results = {a.incident_id: a for a in svc.audit(ws)}
    bad = [a for a in results.values() if not a.ok]
    assert [a.incident_id for a in bad] == [ident], bad  # only the tampered incident is named
    assert svc.audit(ws, ident)[0] == results[ident]
    return results[ident]


def test_an_edited_event_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(
        ws,
        "UPDATE incident_events SET data = :d WHERE incident_id = :i AND seq = 4",
        d=json.dumps({"text": "nothing to see"}),
        i=incident,
    )
    a = _broken(ws, incident)
    assert a.break_seq == 4 and "event #4 (commented by" in a.problem and "was edited" in a.problem


def test_an_edited_event_with_its_hash_recomputed_fails_the_signature(ws, incident) -> None:  # type: ignore[no-untyped-def]
    from assay.incidents.events import event_hash
    from assay.store.incidents import event_rows

    with ws.db.session() as s:
        row = event_rows(s, incident)[2]
    row["actor"] = "mallory"
    _sql(
        ws,
        "UPDATE incident_events SET actor = 'mallory', hash = :h WHERE incident_id = :i AND seq = 3",
        h=event_hash(row),
        i=incident,
    )
    a = _broken(ws, incident)
    assert a.break_seq == 3 and "not validly signed by this workspace's key" in a.problem


def test_a_removed_event_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "DELETE FROM incident_events WHERE incident_id = :i AND seq = 2", i=incident)
    a = _broken(ws, incident)
    assert a.break_seq == 2 and a.problem.startswith("event #2 removed: #1 is followed by event #3")


def test_events_removed_from_the_end_are_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "DELETE FROM incident_events WHERE incident_id = :i AND seq >= 4", i=incident)
    a = _broken(ws, incident)
    assert a.break_seq == 4 and "#4–#5 removed from the end" in a.problem


def test_reordered_events_are_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    # swap the positions of #2 and #3 (via a free position, for the unique constraint)
    _sql(ws, "UPDATE incident_events SET seq = 99 WHERE incident_id = :i AND seq = 2", i=incident)
    _sql(ws, "UPDATE incident_events SET seq = 2 WHERE incident_id = :i AND seq = 3", i=incident)
    _sql(ws, "UPDATE incident_events SET seq = 3 WHERE incident_id = :i AND seq = 99", i=incident)
    a = _broken(ws, incident)
    assert a.break_seq == 2 and "event #2 (assigned by" in a.problem


def test_an_inserted_event_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    # a copy of #3's row placed at #6: a well-formed but foreign entry at the end
    _sql(
        ws,
        "INSERT INTO incident_events (incident_id, seq, kind, actor, at, data, record_sha256, prev_hash,"
        " hash, key_id, signature) SELECT incident_id, 6, kind, actor, at, data, record_sha256, prev_hash,"
        " hash, key_id, signature FROM incident_events WHERE incident_id = :i AND seq = 3",
        i=incident,
    )
    a = _broken(ws, incident)
    assert a.break_seq == 6 and "event #6 (assigned by" in a.problem


def test_an_event_signed_by_another_key_is_named(ws, incident, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assay.assurance.chain import canonical_bytes
    from assay.assurance.keys import SigningKey
    from assay.incidents.events import _material
    from assay.store.incidents import event_rows

    other = SigningKey.load_or_create(tmp_path / "other-keys")
    with ws.db.session() as s:
        row = event_rows(s, incident)[0]
    _sql(
        ws,
        "UPDATE incident_events SET key_id = :k, signature = :s WHERE incident_id = :i AND seq = 1",
        k=other.key_id,
        s=other.sign(canonical_bytes(_material(row))),
        i=incident,
    )
    a = _broken(ws, incident)
    assert a.break_seq == 1 and "not validly signed" in a.problem


def test_an_edited_record_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    with ws.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT record FROM incidents WHERE id = :i"), {"i": incident}).scalar()
    record = json.loads(stored) if isinstance(stored, str) else stored
    record["severity"] = "low"
    _sql(ws, "UPDATE incidents SET record = :r WHERE id = :i", r=json.dumps(record), i=incident)
    a = _broken(ws, incident)
    assert "stored record was edited after event #5" in a.problem


def test_a_deleted_incident_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "DELETE FROM incident_events WHERE incident_id = :i", i=incident)
    _sql(ws, "DELETE FROM incidents WHERE id = :i", i=incident)
    results = [a for a in svc.audit(ws) if not a.ok]
    assert [(a.incident_id, a.problem) for a in results] == [
        (incident, f"{incident} was issued but its record and its log are gone")
    ]


def test_a_deleted_record_with_its_log_left_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "DELETE FROM incidents WHERE id = :i", i=incident)
    a = _broken(ws, incident)
    assert "was deleted; 5 event(s) remain" in a.problem


def test_an_edited_index_column_is_named(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "UPDATE incidents SET status = 'closed' WHERE id = :i", i=incident)
    a = _broken(ws, incident)
    assert a.problem.startswith("the status column says closed, but the signed record says investigating")


def test_a_record_edited_into_nonsense_is_named_not_a_crash(ws, incident) -> None:  # type: ignore[no-untyped-def]
    _sql(ws, "UPDATE incidents SET record = :r WHERE id = :i", r=json.dumps({"id": incident}), i=incident)
    a = _broken(ws, incident)
    assert "stored record was edited after event #5" in a.problem
    with pytest.raises(svc.IncidentError, match=f"the stored record of {incident} is not a valid incident"):
        svc.list_incidents(ws)
