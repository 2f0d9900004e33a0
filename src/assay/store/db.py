"""Opening the database: SQLite beside the manifest by default, PostgreSQL by URL; migrations applied.

SQLAlchemy is imported inside the functions that use it: the constants and URL helpers here are also
read by the plain-`sqlite3` evidence chain path (`assay.store.chain_sqlite`), which must not pay for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

ENV_URL = "ASSAY_DATABASE_URL"
HEAD_REVISION = "0009"
"""The newest migration; a test checks it against Alembic's own view, so it cannot drift."""
_migrate_lock = threading.Lock()
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock before giving up."""
_MIGRATE_LOCK_KEY = 0x61737361  # PostgreSQL advisory lock id ("assa") held while migrating


def default_url(home: Path) -> str:
    return f"sqlite:///{(home / 'assay.db').as_posix()}"


def resolve_url(home: Path, url: str | None = None) -> str:
    """An explicit URL wins, then ASSAY_DATABASE_URL, then SQLite in the workspace folder."""
    return url or os.environ.get(ENV_URL) or default_url(home)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def make_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if u.drivername in ("postgresql", "postgres"):
        url = u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call on every start.

    An up-to-date database is recognised with one query, without importing Alembic (which costs more
    than the rest of a short command)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    script_location = str(resources.files("assay.store").joinpath("migrations"))
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    with _migrate_lock, engine.begin() as conn:
        # Concurrent first starts: one process migrates, the others wait for it and then find the
        # schema current (Alembic re-reads the version after the lock is held).
        lock_for_writing(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class DatabaseUrlError(ValueError):
    """The database URL cannot be opened: one line naming where the URL came from and why it failed."""


def _describe_failure(url: str, exc: Exception) -> DatabaseUrlError:
    from sqlalchemy.engine import make_url

    source = ENV_URL if os.environ.get(ENV_URL) == url else "the database URL"
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: say so without echoing it (it may hold a password)
        shown = "(unparseable)"
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUrlError(f"{source} {shown} cannot be opened: {reason}")


def lock_for_writing(conn: Connection) -> None:
    """Take the database-wide write lock for the rest of this transaction, waiting for other writers.

    SQLite: `BEGIN IMMEDIATE` (waits up to the busy timeout; a deferred transaction that reads first
    and writes later would instead fail when another process wrote in between). PostgreSQL: a
    transaction-scoped advisory lock, used only around migrations; rows are locked with FOR UPDATE."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK_KEY})")


class Database:
    """An engine with its schema migrated, and transactional sessions."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
        from sqlalchemy.orm import sessionmaker

        self.url = url
        try:
            self.engine = make_engine(url)
            migrate(self.engine)
        except (ArgumentError, NoSuchModuleError, SQLAlchemyError, ImportError, OSError) as exc:
            raise _describe_failure(url, exc) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A transaction for read-then-write sequences that concurrent processes must not interleave
        (appending to an evidence chain, creating a system). On SQLite it holds the write lock from its
        first statement; on PostgreSQL the caller locks the rows it reads with FOR UPDATE."""
        with self._sessions() as s, s.begin():
            if self.backend == "sqlite":
                lock_for_writing(s.connection())
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
