"""The run index's rows through the standard library's `sqlite3`, for SQLite workspaces.

Every recorded run is copied into `run_index` / `run_samples` for the dashboard. A short command such as a
cached `assay eval run` otherwise writes to the database only through `chain_sqlite`, so indexing its run
through SQLAlchemy would bring back the import it avoids. This writes the same rows in the same formats
(SQLAlchemy's SQLite `DateTime` text, `JSON` as JSON text, booleans as 0/1) under SQLite's write lock, on
a file whose schema is current; anything else returns None and the caller uses `store.runs`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assay.store.chain_sqlite import connect_current, db_time

RUN_COLUMNS = (
    "run_id",
    "system_slug",
    "kind",
    "suite_id",
    "suite_title",
    "target_id",
    "status",
    "samples",
    "records",
    "failed",
    "score",
    "grade",
    "started_at",
    "finished_at",
    "metrics",
    "indexed_at",
)
SAMPLE_COLUMNS = (
    "run_id",
    "seq",
    "sample_id",
    "epoch",
    "category",
    "language",
    "prompt",
    "answer",
    "scorer",
    "score",
    "passed",
    "why",
    "error",
    "scores",
)
_JSON = {"metrics", "scores"}
_DEFAULTS: dict[str, Any] = {
    "suite_title": "",
    "failed": 0,
    "metrics": {},
    "epoch": 0,
    "category": "",
    "language": "en",
    "answer": "",
    "scorer": "",
    "why": "",
    "error": "",
    "scores": [],
}


def _value(column: str, value: Any) -> Any:
    if column in _JSON:
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return db_time(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _row(columns: tuple[str, ...], fields: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_value(c, fields[c] if c in fields else _DEFAULTS.get(c)) for c in columns)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def replace_run(path: Path, run: dict[str, Any], samples: Iterable[dict[str, Any]]) -> int | None:
    """Index a run afresh in the SQLite file at `path`; the samples added, or None when this path does
    not apply (missing file, older schema) and `store.runs.replace_run` must do it."""
    conn = connect_current(path)
    if conn is None:
        return None
    run = {**run, "indexed_at": run.get("indexed_at") or dt.datetime.now(dt.UTC)}
    run_id = run["run_id"]
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM run_samples WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM run_index WHERE run_id = ?", (run_id,))
            conn.execute(_insert("run_index", RUN_COLUMNS), _row(RUN_COLUMNS, run))
            rows = [_row(SAMPLE_COLUMNS, {**s, "run_id": run_id}) for s in samples]
            conn.executemany(_insert("run_samples", SAMPLE_COLUMNS), rows)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.IntegrityError as exc:  # the same error class callers of the SQLAlchemy path expect
        from sqlalchemy.exc import IntegrityError

        raise IntegrityError(None, None, exc) from exc
    finally:
        conn.close()
    return len(rows)
