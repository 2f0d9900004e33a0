"""The evidence index: rows that point at blobs. The domain model lives in `assay.assurance`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.tables import EvidenceRow

COLUMNS = (
    "id",
    "sha256",
    "kind",
    "name",
    "media_type",
    "size",
    "tool",
    "tool_version",
    "created_at",
    "summary",
    "key_id",
    "signature",
)


def add_evidence_row(session: Session, fields: dict[str, Any]) -> None:
    row = EvidenceRow(system_slug=fields.get("system"), **{k: fields[k] for k in COLUMNS})
    session.add(row)


def _as_dict(row: EvidenceRow) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in COLUMNS}
    out["system"] = row.system_slug
    return out


def query_evidence_rows(
    session: Session, system: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    q = select(EvidenceRow).order_by(EvidenceRow.created_at, EvidenceRow.id)
    if system:
        q = q.where(EvidenceRow.system_slug == system)
    if kind:
        q = q.where(EvidenceRow.kind == kind)
    return [_as_dict(r) for r in session.scalars(q.limit(limit))]


def get_evidence_row(session: Session, evidence_id: str) -> dict[str, Any] | None:
    row = session.get(EvidenceRow, evidence_id)
    return _as_dict(row) if row else None
