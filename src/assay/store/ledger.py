"""The provenance ledger's rows. The domain model (`assay.provenance.ledger`) speaks pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from assay.store.tables import LedgerBandRow, LedgerEntryRow

COLUMNS = (
    "id",
    "status",
    "kind",
    "media_type",
    "sha256",
    "norm_sha256",
    "size",
    "fingerprint_kind",
    "fingerprint",
    "system",
    "system_version",
    "model",
    "method",
    "key_id",
    "params",
    "meta",
    "evidence_id",
    "created_at",
)
RECORDED = "recorded"
RESERVED = "reserved"


def _as_dict(row: LedgerEntryRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in COLUMNS}


def insert_entry(session: Session, fields: dict[str, Any]) -> int:
    """Add one entry and return its id (assigned by the database, so ids are never reused)."""
    row = LedgerEntryRow(**{k: v for k, v in fields.items() if k in COLUMNS and k != "id"})
    session.add(row)
    session.flush()
    return int(row.id)


def update_entry(session: Session, entry_id: int, fields: dict[str, Any]) -> bool:
    row = session.get(LedgerEntryRow, entry_id)
    if row is None:
        return False
    for k, v in fields.items():
        if k in COLUMNS and k != "id":
            setattr(row, k, v)
    return True


def replace_bands(session: Session, entry_id: int, kind: str, bands: Sequence[tuple[int, int]]) -> None:
    session.query(LedgerBandRow).filter(LedgerBandRow.entry_id == entry_id).delete()
    session.add_all(LedgerBandRow(entry_id=entry_id, kind=kind, band=b, value=v) for b, v in bands)


def get_entry_row(session: Session, entry_id: int) -> dict[str, Any] | None:
    row = session.get(LedgerEntryRow, entry_id)
    return _as_dict(row) if row is not None and row.status == RECORDED else None


def find_by_hash(session: Session, kind: str, sha256: str, norm_sha256: str = "") -> list[dict[str, Any]]:
    """Entries whose bytes, or whose normalised content, hash to the given digests."""
    conds = [LedgerEntryRow.sha256 == sha256]
    if norm_sha256:
        conds.append(LedgerEntryRow.norm_sha256 == norm_sha256)
    q = (
        select(LedgerEntryRow)
        .where(LedgerEntryRow.kind == kind, LedgerEntryRow.status == RECORDED, or_(*conds))
        .order_by(LedgerEntryRow.id)
        .limit(50)
    )
    return [_as_dict(r) for r in session.scalars(q)]


def find_by_bands(
    session: Session, kind: str, bands: Sequence[tuple[int, int]], limit: int = 200
) -> list[dict[str, Any]]:
    """Candidates sharing at least one LSH band, most shared bands first (an index lookup, not a scan)."""
    if not bands:
        return []
    shared = (
        select(LedgerBandRow.entry_id, func.count().label("n"))
        .where(LedgerBandRow.kind == kind, tuple_(LedgerBandRow.band, LedgerBandRow.value).in_(list(bands)))
        .group_by(LedgerBandRow.entry_id)
        .order_by(func.count().desc(), LedgerBandRow.entry_id)
        .limit(limit)
        .subquery()
    )
    q = (
        select(LedgerEntryRow)
        .join(shared, shared.c.entry_id == LedgerEntryRow.id)
        .where(LedgerEntryRow.status == RECORDED)
        .order_by(shared.c.n.desc(), LedgerEntryRow.id)
    )
    return [_as_dict(r) for r in session.scalars(q)]


def list_entry_rows(
    session: Session, system: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    q = select(LedgerEntryRow).where(LedgerEntryRow.status == RECORDED).order_by(LedgerEntryRow.id.desc())
    if system:
        q = q.where(LedgerEntryRow.system == system)
    if kind:
        q = q.where(LedgerEntryRow.kind == kind)
    return [_as_dict(r) for r in session.scalars(q.limit(limit))]


def count_entry_rows(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(LedgerEntryRow).where(LedgerEntryRow.status == RECORDED)
        )
        or 0
    )
