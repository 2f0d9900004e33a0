"""Advisory ids of public incidents: issued once per incident under a locked counter, never deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.tables import IncidentAdvisoryCounterRow, IncidentAdvisoryRow
from assay.store.upsert import insert_ignoring_conflict


def advisory_of(session: Session, incident_id: str) -> str | None:
    q = select(IncidentAdvisoryRow.advisory_id).where(IncidentAdvisoryRow.incident_id == incident_id)
    return session.scalars(q).one_or_none()


def issue_advisory(
    session: Session, incident_id: str, system: str, year: int, make_id: Callable[[str, int, int], str]
) -> str:
    """The incident's advisory id, issuing the next number of (system, year) if it has none yet.
    `make_id(system, year, number)` spells the id. The caller holds the incident's row lock."""
    found = advisory_of(session, incident_id)
    if found is not None:
        return found
    insert_ignoring_conflict(
        session,
        IncidentAdvisoryCounterRow,
        {"system_slug": system, "year": year, "last": 0},
        ["system_slug", "year"],
    )
    counter = session.scalars(
        select(IncidentAdvisoryCounterRow)
        .where(IncidentAdvisoryCounterRow.system_slug == system, IncidentAdvisoryCounterRow.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last += 1
    advisory = make_id(system, year, counter.last)
    session.add(
        IncidentAdvisoryRow(
            advisory_id=advisory,
            incident_id=incident_id,
            system_slug=system,
            year=year,
            number=counter.last,
            published_at=dt.datetime.now(dt.UTC),
        )
    )
    session.flush()
    return advisory
