"""API token rows; only SHA-256 hashes of tokens are ever stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.tables import ApiTokenRow, utcnow


def _as_dict(row: ApiTokenRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked": row.revoked,
        "systems": list(row.systems or []),
    }


def add_token_row(
    session: Session, name: str, role: str, prefix: str, token_hash: str, systems: list[str] | None = None
) -> dict[str, Any]:
    row = ApiTokenRow(
        name=name, role=role, prefix=prefix, token_hash=token_hash, revoked=False, systems=systems or []
    )
    session.add(row)
    session.flush()
    return _as_dict(row)


def token_name_taken(session: Session, name: str) -> bool:
    return session.scalars(select(ApiTokenRow.id).where(ApiTokenRow.name == name)).first() is not None


def find_token_by_hash(session: Session, token_hash: str, touch: bool = True) -> dict[str, Any] | None:
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)).one_or_none()
    if row is None:
        return None
    if touch:
        now = utcnow()
        last = row.last_used_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if last is None or (now - last).total_seconds() > 60:  # spare the database a write per request
            row.last_used_at = now
    return _as_dict(row)


def list_token_rows(session: Session) -> list[dict[str, Any]]:
    return [_as_dict(r) for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))]


def revoke_token_row(session: Session, name: str) -> bool:
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name)).one_or_none()
    if row is None:
        return False
    row.revoked = True
    return True
