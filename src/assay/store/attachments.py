"""Rows linking an incident to the blobs of its attachments (the bytes are in the blob store)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.store.tables import IncidentAttachmentRow

COLUMNS = ("sha256", "filename", "media_type", "size", "added_by", "created_at")


def _as_dict(row: IncidentAttachmentRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in COLUMNS}


def count_attachments(session: Session, incident_id: str) -> int:
    q = select(func.count()).where(IncidentAttachmentRow.incident_id == incident_id)
    return int(session.scalar(q) or 0)


def has_attachment(session: Session, incident_id: str, sha256: str) -> bool:
    q = select(IncidentAttachmentRow.id).where(
        IncidentAttachmentRow.incident_id == incident_id, IncidentAttachmentRow.sha256 == sha256
    )
    return session.scalars(q).first() is not None


def add_attachment_row(session: Session, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    row = IncidentAttachmentRow(incident_id=incident_id, **{k: fields[k] for k in COLUMNS})
    session.add(row)
    session.flush()
    return _as_dict(row)


def attachment_rows(session: Session, incident_id: str) -> list[dict[str, Any]]:
    q = (
        select(IncidentAttachmentRow)
        .where(IncidentAttachmentRow.incident_id == incident_id)
        .order_by(IncidentAttachmentRow.id)
    )
    return [_as_dict(r) for r in session.scalars(q)]


def find_attachment(session: Session, incident_id: str, sha256: str) -> dict[str, Any] | None:
    q = select(IncidentAttachmentRow).where(
        IncidentAttachmentRow.incident_id == incident_id, IncidentAttachmentRow.sha256 == sha256
    )
    row = session.scalars(q).first()
    return None if row is None else _as_dict(row)
