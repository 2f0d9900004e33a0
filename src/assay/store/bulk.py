"""New rows of several tables in the caller's transaction, by the cheapest path each database has.

On PostgreSQL every table's rows travel as one JSON array that `json_populate_recordset` turns into
rows, and all the tables' statements go in one pipeline: one round trip for the lot. psycopg's
executemany spent about 0.4 ms of the server's CPU per report on protocol work alone (a Bind/Execute
per row, per table) and a COPY costs two round trips per table; a group-committed intake batch paid
some thirty round trips, each one a wait on a machine whose two cores the database shares with the
server (bench/README.md, "intake"). The statement text depends only on the table and its columns, so
PostgreSQL plans it once. On SQLite, in process, one prepared INSERT is stepped per row by `sqlite3`.

Both paths skip SQLAlchemy's type processing, so they put values in the form the column stores: on
PostgreSQL as each column takes them from JSON (JSON columns nested as they are, datetimes and dates in
ISO 8601 with their offset, bytes as hex text), on SQLite as SQLAlchemy's SQLite types write them; the
columns' Python-side defaults are filled in. Any other database takes SQLAlchemy's executemany.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

Rows = Sequence[dict[str, Any]]


def insert_many(session: Session, batches: Sequence[tuple[Table, Rows]]) -> None:
    """Insert each table's rows (dicts keyed by column name), in the order given (so rows referred to
    come first), in the session's transaction."""
    batches = [(t, r) for t, r in batches if r]
    if not batches:
        return
    plans = [[_plan(c) for c in _columns(t, r)] for t, r in batches]  # an unknown column fails here
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn, batches, plans)
        return
    if conn.dialect.name != "postgresql":
        from sqlalchemy import insert

        for table, rows in batches:
            session.execute(insert(table), list(rows))
        return
    import orjson

    quote = conn.dialect.identifier_preparer.quote
    statements = []
    for (table, rows), plan in zip(batches, plans, strict=True):
        names = ", ".join(quote(name) for name, _ in plan)
        target = conn.dialect.identifier_preparer.format_table(table)
        sql = (
            f"INSERT INTO {target} ({names}) SELECT {names} "
            f"FROM json_populate_recordset(NULL::{target}, %s::json)"
        )
        full = [{name: row[name] if name in row else fill() for name, fill in plan} for row in rows]
        statements.append((sql, orjson.dumps(full, default=_bytes_as_hex).decode()))
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.pipeline(), raw.cursor() as cur:
        for sql, payload in statements:
            cur.execute(sql, (payload,))


def _insert_sqlite(conn: Any, batches: Sequence[tuple[Table, Rows]], plans: list[list[Any]]) -> None:
    """One prepared INSERT stepped per row by sqlite3 itself, the values in the form SQLAlchemy's SQLite
    types store (JSON text, `chain_sqlite.db_time` timestamps, ISO dates, 0/1): its own executemany
    spent more on bind processing than SQLite on the rows."""
    from assay.store.chain_sqlite import db_time

    raw = conn.connection.driver_connection
    assert raw is not None
    for (table, rows), plan in zip(batches, plans, strict=True):
        kinds = [_sqlite_kind(table.columns[name].type) for name, _ in plan]
        names = ", ".join(f'"{name}"' for name, _ in plan)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(plan))})'
        values = []
        for row in rows:
            out = []
            for (name, fill), kind in zip(plan, kinds, strict=True):
                v = row[name] if name in row else fill()
                if kind == "json":  # None too: SQLAlchemy's JSON type writes it as the JSON text null
                    v = _json(v)
                elif v is not None and kind is not None:
                    v = db_time(v) if kind == "datetime" else kind(v)
                out.append(v)
            values.append(out)
        raw.executemany(sql, values)


def _json(value: Any) -> str:
    """JSON text for a JSON column (orjson: a fraction of json.dumps's time on a report's record)."""
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what only the standard encoder takes (a number beyond 64 bits …)
        return json.dumps(value)


def _sqlite_kind(type_: Any) -> Any:
    """How a column's Python value is stored in SQLite: "json", "datetime", a converter, or None."""
    from sqlalchemy import JSON, Boolean, Date, DateTime

    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return lambda d: d.isoformat()
    if isinstance(type_, Boolean):
        return int
    return None


def _columns(table: Table, rows: Rows) -> list[Any]:
    """The columns to write: every one the rows name, and every other that has a Python-side default
    (an autoincrementing key without a value is left to the database)."""
    named = set().union(*(r.keys() for r in rows))
    unknown = named - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{table.name}: no column {sorted(unknown)[0]!r}")
    return [c for c in table.columns if c.name in named or c.default is not None]


def _plan(column: Any) -> tuple[str, Callable[[], Any]]:
    """(name, the value when a row leaves it out)."""
    default = column.default
    if default is None:
        return column.name, lambda: None
    if default.is_callable:
        return column.name, functools.partial(default.arg, None)
    return column.name, functools.partial(lambda v: v, default.arg)


def _bytes_as_hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"cannot store a {type(value).__name__} in a bulk insert")
