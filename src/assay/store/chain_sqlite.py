"""The evidence chain's rows through the standard library's `sqlite3`, for SQLite workspaces.

Appending a record (and reading a chain head) is the one database write that short commands such as a
cached `assay eval run` make, and importing SQLAlchemy with the table definitions costs them more than
everything else they do. This module writes the same rows, in the same formats, under the same lock as
the SQLAlchemy path in `evidence_index` (SQLite's write lock, taken with `BEGIN IMMEDIATE` before the
head is read), so the two can append to one chain at the same time from different processes.

It is used only on a database file whose schema is already at `HEAD_REVISION`; anything else (a new
file, an older schema, a URL with options, PostgreSQL) goes through SQLAlchemy, which migrates.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from assay.store.db import BUSY_TIMEOUT_MS, HEAD_REVISION

_PREFIX = "sqlite:///"
_EVIDENCE_COLUMNS = (
    "id",
    "sha256",
    "kind",
    "system_slug",
    "name",
    "media_type",
    "size",
    "tool",
    "tool_version",
    "created_at",
    "summary",
    "key_id",
    "signature",
    "seq",
    "prev_hash",
    "link_signed",
)
_INSERT_EVIDENCE = (
    f"INSERT INTO evidence ({', '.join(_EVIDENCE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_EVIDENCE_COLUMNS))})"
)
_HEAD_COLUMNS = ("chain", "length", "head_hash", "origin", "origin_note", "started_at")


def sqlite_file(url: str) -> Path | None:
    """The database file of a plain `sqlite:///PATH` URL (as `default_url` writes them); None for any
    other URL (PostgreSQL, in-memory, a driver or query options, escapes), which keeps SQLAlchemy."""
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX) :]
    if not path or path == ":memory:" or any(c in path for c in "?%#"):
        return None
    return Path(path)


def db_time(value: dt.datetime) -> str:
    """A timestamp as SQLAlchemy's SQLite `DateTime` stores it: UTC, no zone, always microseconds."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    text = value.isoformat(" ")  # strftime's equal, four times faster; it leaves out zero microseconds
    return text if value.microsecond else text + ".000000"


def _from_db_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)  # naive, as SQLAlchemy hands SQLite values back


def connect_current(path: Path) -> sqlite3.Connection | None:
    """A connection with the pragmas `store.db` sets, or None when the file is missing or its schema is
    not the current one (the caller then opens the database through SQLAlchemy, which migrates)."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # not an Assay database yet (no alembic_version): let SQLAlchemy say why
        conn.close()
        return None
    if row is None or row[0] != HEAD_REVISION:
        conn.close()
        return None
    return conn


class SqliteChainTx:
    """One transaction on the chain tables; the same operations as `evidence_index.SessionChainTx`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def lock_head(self, chain: str, genesis: str) -> dict[str, Any]:
        """The chain's head, created if new. The write lock is already held (`BEGIN IMMEDIATE`)."""
        self._conn.execute(
            "INSERT INTO evidence_chains (chain, length, head_hash, origin, origin_note, started_at) "
            "VALUES (?, 0, ?, 'genesis', '', ?) ON CONFLICT (chain) DO NOTHING",
            (chain, genesis, db_time(dt.datetime.now(dt.UTC))),
        )
        head = self.read_head(chain)
        assert head is not None
        return head

    def read_head(self, chain: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            f"SELECT {', '.join(_HEAD_COLUMNS)} FROM evidence_chains WHERE chain = ?", (chain,)
        ).fetchone()
        if row is None:
            return None
        head = dict(zip(_HEAD_COLUMNS, row, strict=True))
        head["started_at"] = _from_db_time(head["started_at"])
        return head

    def add_evidence(self, fields: dict[str, Any]) -> None:
        values = {**fields, "system_slug": fields.get("system"), "created_at": db_time(fields["created_at"])}
        values["link_signed"] = 1 if values["link_signed"] else 0
        self._conn.execute(_INSERT_EVIDENCE, tuple(values[c] for c in _EVIDENCE_COLUMNS))

    def set_head(self, chain: str, length: int, head_hash: str) -> None:
        cur = self._conn.execute(
            "UPDATE evidence_chains SET length = ?, head_hash = ? WHERE chain = ?", (length, head_hash, chain)
        )
        assert cur.rowcount == 1, "lock_head first"

    def add_checkpoint(self, fields: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO evidence_checkpoints (chain, length, head_hash, created_at, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                fields["chain"],
                fields["length"],
                fields["head_hash"],
                db_time(fields["created_at"]),
                fields["key_id"],
                fields["signature"],
            ),
        )

    def last_checkpoint_length(self, chain: str) -> int | None:
        row = self._conn.execute(
            "SELECT length FROM evidence_checkpoints WHERE chain = ? ORDER BY length DESC, id DESC LIMIT 1",
            (chain,),
        ).fetchone()
        return None if row is None else int(row[0])


def chain_transaction(path: Path, *, write: bool) -> AbstractContextManager[SqliteChainTx] | None:
    """A transaction on the chain tables of the database at `path`, or None when this path does not apply
    (missing file, older schema): the caller then uses SQLAlchemy.

    `write`: take SQLite's write lock first (`BEGIN IMMEDIATE`, waiting up to the busy timeout), exactly
    as `Database.write_session` does, so every appender, on either path, takes its turn."""
    conn = connect_current(path)
    return None if conn is None else _transaction(conn, write)


@contextmanager
def _transaction(conn: sqlite3.Connection, write: bool) -> Iterator[SqliteChainTx]:
    """Committed when the block ends normally, rolled back on any error; the connection is closed."""
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield SqliteChainTx(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
