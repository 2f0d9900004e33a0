"""Assessments as stored: one row per `assay assess` run, updated as each step finishes."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.assurance.assessment import AssessmentRecord, AssessmentStep
from assay.store.tables import AssessmentRow, utcnow


def _record(row: AssessmentRow) -> AssessmentRecord:
    return AssessmentRecord(
        id=row.id,
        system=row.system_slug,
        manifest_sha256=row.manifest_sha256,
        out_dir=row.out_dir,
        status=row.status,  # type: ignore[arg-type]
        started_at=row.started_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        host=row.host,
        pid=row.pid,
        steps=[AssessmentStep.model_validate(s) for s in row.steps or []],
        resumed=row.resumed,
        error=row.error,
        index_evidence_id=row.index_evidence_id,
    )


def start_assessment(session: Session, system: str, manifest_sha256: str, out_dir: str) -> AssessmentRecord:
    row = AssessmentRow(
        id=str(uuid.uuid4()),
        system_slug=system,
        manifest_sha256=manifest_sha256,
        out_dir=out_dir,
        status="running",
        started_at=utcnow(),
        updated_at=utcnow(),
        host=socket.gethostname(),
        pid=os.getpid(),
        steps=[],
    )
    session.add(row)
    session.flush()
    return _record(row)


def resumable_assessment(
    session: Session, system: str, manifest_sha256: str, out_dir: str
) -> AssessmentRecord | None:
    """The newest unfinished assessment of this very manifest into this folder whose process is gone."""
    rows = session.scalars(
        select(AssessmentRow)
        .where(
            AssessmentRow.system_slug == system,
            AssessmentRow.manifest_sha256 == manifest_sha256,
            AssessmentRow.out_dir == out_dir,
            AssessmentRow.status != "completed",
        )
        .order_by(AssessmentRow.started_at.desc())
    ).all()
    for row in rows:
        rec = _record(row)
        if rec.effective_status() in ("interrupted", "failed"):
            return rec
    return None


def claim_assessment(session: Session, assessment_id: str) -> AssessmentRecord:
    """Take over an unfinished assessment: this process now runs it."""
    row = session.get(AssessmentRow, assessment_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no assessment {assessment_id}")
    row.status, row.host, row.pid, row.error = "running", socket.gethostname(), os.getpid(), ""
    row.resumed += 1
    row.updated_at = utcnow()
    return _record(row)


def save_step(session: Session, assessment_id: str, step: AssessmentStep) -> None:
    """Record one finished step (replacing an earlier record of the same step)."""
    row = session.get(AssessmentRow, assessment_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no assessment {assessment_id}")
    steps: list[dict[str, Any]] = [s for s in row.steps or [] if s.get("name") != step.name]
    steps.append(step.model_dump(mode="json"))
    row.steps = steps
    row.updated_at = utcnow()


def finish_assessment(
    session: Session,
    assessment_id: str,
    status: str,
    *,
    error: str = "",
    index_evidence_id: str | None = None,
) -> None:
    row = session.get(AssessmentRow, assessment_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no assessment {assessment_id}")
    row.status, row.error = status, error[:4000]
    row.index_evidence_id = index_evidence_id or row.index_evidence_id
    row.updated_at = utcnow()
    if status == "completed":
        row.finished_at = dt.datetime.now(dt.UTC)


def list_assessments(session: Session, system: str | None = None) -> list[AssessmentRecord]:
    query = select(AssessmentRow).order_by(AssessmentRow.started_at)
    if system:
        query = query.where(AssessmentRow.system_slug == system)
    return [_record(r) for r in session.scalars(query).all()]
