"""`store.bulk.insert_many` (on PostgreSQL one JSON document per table, all in one pipeline) stores the
very rows the ORM stores: JSON nested as given, aware timestamps at their instant, dates, bytes, booleans,
64-bit numbers, NULLs and the columns' Python-side defaults. Runs on both backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select

from assay.notify.outbox import OutboxBatch, enqueue
from assay.store import incidents as rows
from assay.store.bulk import insert_many
from assay.store.tables import IncidentBandRow, IncidentRow, OutboxRow
from assay.workspace import Workspace

AT = dt.datetime(2026, 12, 4, 13, 5, 7, 123456, tzinfo=dt.UTC)
SINGAPORE = dt.timezone(dt.timedelta(hours=8))


def _incident(ident: str, number: int) -> dict[str, Any]:
    return {
        "id": ident,
        "system_slug": "helpdesk",
        "year": 2026,
        "number": number,
        "kind": "vulnerability",
        "status": "received",
        "severe": True,
        "deadline": dt.date(2026, 12, 6),
        "record": {"title": 'Ünïcode — 漏洞 "quoted" \\ back', "list": [1, 2.5, None, True], "n": {}},
        "fingerprint": bytes(range(256)),
        "event_count": 1,
        "head_hash": "ab" * 32,
        "received_at": AT,
        "updated_at": AT.replace(microsecond=0),  # SQLAlchemy still writes ".000000"
    }


def _columns(row: Any, table: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.key) for c in table.__table__.columns}


def test_bulk_rows_equal_the_orms(workspace: Workspace) -> None:
    with workspace.db.session() as s:
        s.add(IncidentRow(**_incident("HELPDESK-2026-0001", 1)))
        s.flush()
        insert_many(
            s,
            [
                (IncidentRow.__table__, [_incident("HELPDESK-2026-0002", 2)]),
                (
                    IncidentBandRow.__table__,
                    [{"incident_id": "HELPDESK-2026-0002", "band": 3, "value": 2**63 - 1}],
                ),
            ],
        )
    with workspace.db.session() as s:
        orm, bulk = (s.get(IncidentRow, f"HELPDESK-2026-000{n}") for n in (1, 2))
        a, b = _columns(orm, IncidentRow), _columns(bulk, IncidentRow)
        assert a.pop("id") != b.pop("id") and a.pop("number") == 1 and b.pop("number") == 2
        assert a == b
        band = s.scalars(select(IncidentBandRow)).one()
        assert (band.id, band.value) == (1, 2**63 - 1)  # the key is the database's, the number kept whole
        if s.connection().dialect.name == "sqlite":  # what is stored, not just what reads back
            names = [c.name for c in IncidentRow.__table__.columns]
            raw = s.connection().exec_driver_sql("SELECT * FROM incidents ORDER BY number").all()
            stored = [dict(zip(names, r, strict=True)) for r in raw]
            for r in stored:
                del r["id"], r["number"]
                r["record"] = json.loads(r["record"])  # the same JSON, whatever the spacing
            assert stored[0] == stored[1]


def test_a_time_in_another_zone_is_stored_as_its_instant(workspace: Workspace) -> None:
    with workspace.db.session() as s:
        row = {**_incident("HELPDESK-2026-0003", 3), "received_at": AT.astimezone(SINGAPORE)}
        insert_many(s, [(IncidentRow.__table__, [row])])
    with workspace.db.session() as s:
        got = s.get(IncidentRow, "HELPDESK-2026-0003").received_at
    assert (got if got.tzinfo else got.replace(tzinfo=dt.UTC)) == AT  # SQLite hands back naive UTC


def test_defaults_and_nulls_are_filled_as_the_orm_would(workspace: Workspace) -> None:
    batch = OutboxBatch()
    for n in range(3):
        enqueue(
            batch,
            topic="t",
            message_id=f"m-{n}",
            channel="email",
            destination=f"x{n}@example.sg",
            payload={"n": n},
        )
    with workspace.db.session() as s:
        enqueue(
            s, topic="t", message_id="m-orm", channel="email", destination="y@example.sg", payload={"n": 9}
        )
        s.flush()
        insert_many(s, [batch.take()])
        assert batch.values == []
    with workspace.db.session() as s:
        got = {r.message_id: r for r in s.scalars(select(OutboxRow))}
    assert sorted(got) == ["m-0", "m-1", "m-2", "m-orm"]
    for r in got.values():
        assert (r.status, r.attempts, r.claimed_until, r.claimed_by) == ("pending", 0, None, "")
        assert r.created_at is not None and r.next_attempt_at is not None
    assert got["m-2"].payload == {"n": 2} and len({r.id for r in got.values()}) == 4


def test_a_failing_bulk_insert_leaves_nothing(workspace: Workspace) -> None:
    with pytest.raises(Exception), workspace.db.session() as s:  # noqa: B017,PT011 - the driver's own error
        insert_many(
            s,
            [
                (IncidentRow.__table__, [_incident("HELPDESK-2026-0001", 1)]),
                (IncidentRow.__table__, [_incident("HELPDESK-2026-0001", 1)]),  # the same key again
            ],
        )
    with workspace.db.session() as s:
        assert s.scalars(select(IncidentRow)).all() == []


def test_an_unknown_column_is_named(workspace: Workspace) -> None:
    with workspace.db.session() as s, pytest.raises(ValueError, match="incident_bands: no column 'colour'"):
        insert_many(
            s, [(IncidentBandRow.__table__, [{"incident_id": "x", "band": 1, "value": 1, "colour": 2}])]
        )


def test_numbers_are_reserved_in_one_run_from_the_first_of_a_year(workspace: Workspace) -> None:
    with workspace.db.write_session() as s:
        assert rows.reserve_numbers(s, "helpdesk", 2026, 3) == 1  # makes the year's counter
        assert rows.reserve_numbers(s, "helpdesk", 2026, 2) == 4
        assert rows.reserve_numbers(s, "helpdesk", 2027, 1) == 1
    with workspace.db.session() as s:
        assert rows.counters(s) == [("helpdesk", 2026, 5), ("helpdesk", 2027, 1)]
