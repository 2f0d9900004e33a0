"""Incident rows: records, their event logs, reporters' contacts, numbering and LSH bands.
The domain (`assay.incidents`) speaks pydantic; this module is the only place with their SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from assay.store.tables import (
    ComponentRow,
    IncidentBandRow,
    IncidentCounterRow,
    IncidentEventRow,
    IncidentReporterRow,
    IncidentRow,
    SystemRow,
    utcnow,
)
from assay.store.upsert import insert_ignoring_conflict

EVENT_COLUMNS = (
    "incident_id",
    "seq",
    "kind",
    "actor",
    "at",
    "data",
    "record_sha256",
    "prev_hash",
    "hash",
    "key_id",
    "signature",
)


def system_components(session: Session, slug: str) -> list[str] | None:
    """The registered system's component ids (None: no such system), read from the indexed rows rather
    than by parsing the stored manifest, because every report checks them: one query (a join), since on
    PostgreSQL each statement is a round trip."""
    q = (
        select(SystemRow.id, ComponentRow.key)
        .outerjoin(ComponentRow, ComponentRow.system_id == SystemRow.id)
        .where(SystemRow.slug == slug)
        .order_by(ComponentRow.id)
    )
    found = session.execute(q).all()
    if not found:
        return None
    return [key for _, key in found if key is not None]


def next_number(session: Session, system: str, year: int) -> int:
    """The next number for a system's incident this year, under a row lock: concurrent reporters take
    turns (PostgreSQL: FOR UPDATE; SQLite: the caller's write lock), so numbers never repeat."""
    return reserve_numbers(session, system, year, 1)


def reserve_numbers(session: Session, system: str, year: int, count: int) -> int:
    """Reserve `count` consecutive numbers under the counter's row lock; returns the first."""
    from sqlalchemy import update

    counter = IncidentCounterRow.__table__
    bump = (
        update(counter)
        .where(counter.c.system_slug == system, counter.c.year == year)
        .values(last=counter.c.last + count)
        .returning(counter.c.last)
    )
    # one statement takes the row lock and moves the counter (the first report of a year makes the row)
    last = session.execute(bump).scalar()
    if last is None:
        insert_ignoring_conflict(
            session,
            IncidentCounterRow,
            {"system_slug": system, "year": year, "last": 0},
            ["system_slug", "year"],
        )
        last = session.execute(bump).scalar_one()
    return int(last) - count + 1


def insert_reports(
    session: Session,
    incidents: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    reporters: Sequence[dict[str, Any]],
    keys: Sequence[dict[str, Any]],
    bands: Sequence[dict[str, Any]],
) -> None:
    """Many new reports at once, in the caller's transaction (`report_rows` says in what order)."""
    from assay.store.bulk import insert_many

    insert_many(session, report_rows(incidents, events, reporters, keys, bands))


def report_rows(
    incidents: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    reporters: Sequence[dict[str, Any]],
    keys: Sequence[dict[str, Any]],
    bands: Sequence[dict[str, Any]],
) -> list[tuple[Any, Sequence[dict[str, Any]]]]:
    """(table, rows) for `bulk.insert_many`: the records first, then what refers to them."""
    from assay.store.tables import IncidentIdempotencyRow

    return [
        (IncidentRow.__table__, incidents),
        (IncidentEventRow.__table__, [{k: e[k] for k in EVENT_COLUMNS} for e in events]),
        (IncidentReporterRow.__table__, reporters),
        (IncidentIdempotencyRow.__table__, keys),
        (IncidentBandRow.__table__, bands),
    ]


def get_idempotency_many(session: Session, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    from assay.store.tables import IncidentIdempotencyRow

    if not keys:
        return {}
    q = select(IncidentIdempotencyRow).where(IncidentIdempotencyRow.key.in_(list(keys)))
    return {
        r.key: {"request_sha256": r.request_sha256, "incident_id": r.incident_id} for r in session.scalars(q)
    }


def counters(session: Session) -> list[tuple[str, int, int]]:
    q = select(IncidentCounterRow).order_by(IncidentCounterRow.system_slug, IncidentCounterRow.year)
    return [(r.system_slug, r.year, r.last) for r in session.scalars(q)]


def numbers_in_use(session: Session, system: str, year: int) -> set[int]:
    q = select(IncidentRow.number).where(IncidentRow.system_slug == system, IncidentRow.year == year)
    return set(session.scalars(q))


def insert_incident(session: Session, fields: dict[str, Any]) -> None:
    session.add(IncidentRow(**fields))
    session.flush()


def lock_incident(session: Session, incident_id: str) -> IncidentRow | None:
    """The incident row, locked until the transaction ends, so its event chain never forks."""
    return session.scalars(
        select(IncidentRow)
        .where(IncidentRow.id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_incident_row(session: Session, incident_id: str) -> IncidentRow | None:
    return session.get(IncidentRow, incident_id)


def update_incident(
    session: Session, row: IncidentRow, record: dict[str, Any], head: tuple[int, str]
) -> None:
    row.record = record
    row.status = record["status"]
    row.severe = bool(record["severe"])
    row.deadline = dt.date.fromisoformat(record["deadline"]) if record.get("deadline") else None
    row.event_count, row.head_hash = head
    row.updated_at = utcnow()
    session.flush()


def list_incident_rows(
    session: Session,
    system: str | None = None,
    statuses: Sequence[str] | None = None,
    kind: str | None = None,
    limit: int = 10_000,
) -> list[IncidentRow]:
    q = select(IncidentRow).order_by(IncidentRow.received_at, IncidentRow.id)
    if system:
        q = q.where(IncidentRow.system_slug == system)
    if statuses:
        q = q.where(IncidentRow.status.in_(list(statuses)))
    if kind:
        q = q.where(IncidentRow.kind == kind)
    return list(session.scalars(q.limit(limit)))


def deadline_rows(session: Session) -> list[IncidentRow]:
    """Severe incidents with a deadline that are not duplicates or rejected (the reminder pass's
    candidates), by the indexed columns rather than by reading every record."""
    q = (
        select(IncidentRow)
        .where(
            IncidentRow.severe.is_(True),
            IncidentRow.deadline.is_not(None),
            IncidentRow.status.not_in(["duplicate", "rejected"]),
        )
        .order_by(IncidentRow.deadline, IncidentRow.id)
    )
    return list(session.scalars(q))


def incident_ids(session: Session) -> list[str]:
    return list(session.scalars(select(IncidentRow.id).order_by(IncidentRow.id)))


def add_event_row(session: Session, fields: dict[str, Any]) -> None:
    session.add(IncidentEventRow(**{k: fields[k] for k in EVENT_COLUMNS}))
    session.flush()


def event_rows(session: Session, incident_id: str) -> list[dict[str, Any]]:
    """One incident's events in stored chain order (seq, then insertion)."""
    q = (
        select(IncidentEventRow)
        .where(IncidentEventRow.incident_id == incident_id)
        .order_by(IncidentEventRow.seq, IncidentEventRow.id)
    )
    return [{k: getattr(r, k) for k in EVENT_COLUMNS} for r in session.scalars(q)]


def event_incident_ids(session: Session) -> list[str]:
    """Incidents that have events (a record deleted while its events remain still shows up here)."""
    return list(session.scalars(select(IncidentEventRow.incident_id).distinct()))


def put_reporter(session: Session, incident_id: str, name: str, email: str | None, other: str) -> None:
    session.add(IncidentReporterRow(incident_id=incident_id, name=name, email=email, other_contact=other))
    session.flush()


def get_reporter(session: Session, incident_id: str) -> dict[str, Any] | None:
    row = session.get(IncidentReporterRow, incident_id)
    if row is None:
        return None
    return {"name": row.name, "email": row.email, "other_contact": row.other_contact}


def add_bands(session: Session, incident_id: str, bands: Sequence[tuple[int, int]]) -> None:
    session.add_all(IncidentBandRow(incident_id=incident_id, band=b, value=v) for b, v in bands)
    session.flush()


def band_candidates(
    session: Session, system: str, bands: Sequence[tuple[int, int]], limit: int = 50
) -> list[tuple[str, bytes]]:
    """Earlier reports of the system sharing at least one band, most shared first (an index lookup)."""
    if not bands:
        return []
    shared = (
        select(IncidentBandRow.incident_id, func.count().label("n"))
        .where(tuple_(IncidentBandRow.band, IncidentBandRow.value).in_(list(bands)))
        .group_by(IncidentBandRow.incident_id)
        .subquery()
    )
    q = (
        select(IncidentRow.id, IncidentRow.fingerprint)
        .join(shared, shared.c.incident_id == IncidentRow.id)
        .where(IncidentRow.system_slug == system)
        .order_by(shared.c.n.desc(), IncidentRow.received_at)
        .limit(limit)
    )
    return [(i, bytes(f)) for i, f in session.execute(q)]


def get_idempotency(session: Session, key: str) -> dict[str, Any] | None:
    from assay.store.tables import IncidentIdempotencyRow

    row = session.get(IncidentIdempotencyRow, key)
    return None if row is None else {"request_sha256": row.request_sha256, "incident_id": row.incident_id}


def put_idempotency(session: Session, key: str, request_sha256: str, incident_id: str) -> None:
    from assay.store.tables import IncidentIdempotencyRow

    session.add(IncidentIdempotencyRow(key=key, request_sha256=request_sha256, incident_id=incident_id))
