"""Insert-if-absent that two processes can run at once without either failing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def insert_ignoring_conflict(session: Session, table: Any, values: dict[str, Any], key: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: the loser of a creation race finds the winner's row instead of
    raising IntegrityError (a select-then-insert has a window between the two)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"unsupported database backend {dialect}")
    session.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=key))
