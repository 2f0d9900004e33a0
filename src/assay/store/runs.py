"""The run and sample index the dashboard reads (`run_index`, `run_samples`).

A run's folder stays the record of what happened; these rows are a copy made when the run is recorded,
so a page of one run's samples is one range read of the `(run_id, seq)` key however many samples exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, false, func, insert, select
from sqlalchemy.orm import Session

from assay.store.tables import RunIndexRow, RunSampleRow

RUN_COLUMNS = tuple(c.key for c in RunIndexRow.__table__.columns)
SAMPLE_COLUMNS = tuple(c.key for c in RunSampleRow.__table__.columns)
LIST_COLUMNS = tuple(c for c in SAMPLE_COLUMNS if c != "scores")
INSERT_CHUNK = 2_000


def _run(row: RunIndexRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in RUN_COLUMNS}


def replace_run(session: Session, run: dict[str, Any], samples: Iterable[dict[str, Any]]) -> int:
    """Index a run afresh (a resumed or re-scored run replaces its old rows); returns the samples added."""
    session.execute(delete(RunSampleRow).where(RunSampleRow.run_id == run["run_id"]))
    session.execute(delete(RunIndexRow).where(RunIndexRow.run_id == run["run_id"]))
    session.add(RunIndexRow(**{k: v for k, v in run.items() if k in RUN_COLUMNS}))
    session.flush()
    added, chunk = 0, []
    for sample in samples:
        chunk.append({k: sample[k] for k in SAMPLE_COLUMNS if k in sample} | {"run_id": run["run_id"]})
        if len(chunk) >= INSERT_CHUNK:
            session.execute(insert(RunSampleRow), chunk)
            added, chunk = added + len(chunk), []
    if chunk:
        session.execute(insert(RunSampleRow), chunk)
        added += len(chunk)
    return added


def indexed_run_ids(session: Session) -> set[str]:
    return set(session.scalars(select(RunIndexRow.run_id)))


def list_run_rows(session: Session, system: str, limit: int = 500) -> list[dict[str, Any]]:
    """A system's runs, newest first (the `(system_slug, started_at)` index serves the order)."""
    q = (
        select(RunIndexRow)
        .where(RunIndexRow.system_slug == system)
        .order_by(RunIndexRow.started_at.desc(), RunIndexRow.run_id)
        .limit(limit)
    )
    return [_run(r) for r in session.scalars(q)]


def count_run_rows(session: Session, system: str) -> int:
    q = select(func.count()).select_from(RunIndexRow).where(RunIndexRow.system_slug == system)
    return int(session.scalar(q) or 0)


def get_run_row(session: Session, run_id: str) -> dict[str, Any] | None:
    row = session.get(RunIndexRow, run_id)
    return _run(row) if row else None


def sample_rows(
    session: Session,
    run_id: str,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    failed_only: bool = False,
) -> list[dict[str, Any]]:
    """Up to `limit` samples in log order, after `after` or (for the page before) before `before`.

    Keyset, not OFFSET: the database seeks to the key and reads `limit` rows, so the last page of a
    50,000-sample run costs what the first does."""
    cols = [getattr(RunSampleRow, c) for c in LIST_COLUMNS]
    q = select(*cols).where(RunSampleRow.run_id == run_id)
    if failed_only:
        q = q.where(RunSampleRow.passed == false())
    if before is not None:
        q = q.where(RunSampleRow.seq < before).order_by(RunSampleRow.seq.desc())
    else:
        q = q.where(RunSampleRow.seq > (after if after is not None else -1)).order_by(RunSampleRow.seq)
    rows = [dict(r._mapping) for r in session.execute(q.limit(limit))]
    return rows[::-1] if before is not None else rows


def get_sample_row(session: Session, run_id: str, seq: int) -> dict[str, Any] | None:
    row = session.get(RunSampleRow, (run_id, seq))
    return {k: getattr(row, k) for k in SAMPLE_COLUMNS} if row else None
