"""Evidence: signed, content-addressed records, their bytes, and checks that nothing changed."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from assay.api.auth import read_access
from assay.api.deps import workspace
from assay.api.errors import INVALID, NOT_FOUND, ErrorMessage
from assay.assurance.chain_check import ChainCheck, verify_chains
from assay.assurance.evidence import Evidence, EvidenceCheck, check_evidence, get_evidence, list_evidence
from assay.store.blobs import sha256_bytes
from assay.workspace import Workspace

router = APIRouter(
    prefix="/evidence", tags=["evidence"], dependencies=[Depends(read_access)], responses=INVALID
)

MEDIA_TYPE = re.compile(r"^[a-zA-Z0-9!#$&^_.+-]+/[a-zA-Z0-9!#$&^_.+-]+$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _record(ws: Workspace, evidence_id: uuid.UUID) -> Evidence:
    ev = get_evidence(ws, str(evidence_id))
    if ev is None:
        raise HTTPException(status_code=404, detail=f"no evidence with id '{evidence_id}'")
    return ev


@router.get("", summary="Evidence records, oldest first")
def list_records(
    system: str | None = Query(None, description="only this system's evidence"),
    kind: str | None = Query(None, description="only this kind, e.g. registry.raci"),
    limit: int = Query(1000, ge=1, le=10_000),
    ws: Workspace = Depends(workspace),
) -> list[Evidence]:
    return list_evidence(ws, system=system, kind=kind, limit=limit)


@router.post("/verify", summary="Re-hash every blob and check every signature")
def verify_all(
    system: str | None = Query(None, description="only this system's evidence"),
    ws: Workspace = Depends(workspace),
) -> list[EvidenceCheck]:
    """A POST because it does work on the server, though it changes nothing; so reads' rules apply."""
    return [check_evidence(ws, ev) for ev in list_evidence(ws, system=system, limit=1_000_000)]


@router.post("/chains/verify", summary="Walk every evidence chain and name each one's first break")
def verify_chain_links(
    system: str | None = Query(None, description="only this system's chain"),
    ws: Workspace = Depends(workspace),
) -> list[ChainCheck]:
    """Shows what per-record checks cannot: a deleted, inserted or reordered record (docs/evidence.md)."""
    return verify_chains(ws, system=system)


@router.get("/{evidence_id:uuid}", summary="One evidence record", responses=NOT_FOUND)
def get_record(evidence_id: uuid.UUID, ws: Workspace = Depends(workspace)) -> Evidence:
    return _record(ws, evidence_id)


@router.post(
    "/{evidence_id:uuid}/verify", summary="Check one record's blob and signature", responses=NOT_FOUND
)
def verify_one(evidence_id: uuid.UUID, ws: Workspace = Depends(workspace)) -> EvidenceCheck:
    return check_evidence(ws, _record(ws, evidence_id))


@router.get(
    "/{evidence_id:uuid}/content",
    summary="The evidence's bytes, as stored",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The blob, hash-checked"},
        409: {"model": ErrorMessage, "description": "The stored bytes no longer match the recorded hash"},
    }
    | NOT_FOUND,
)
def get_content(evidence_id: uuid.UUID, ws: Workspace = Depends(workspace)) -> Response:
    """Served as a download and sandboxed: evidence may be HTML that nobody should run on this origin."""
    ev = _record(ws, evidence_id)
    try:
        data = ws.blobs.get(ev.sha256)
    except FileNotFoundError:
        raise HTTPException(
            status_code=404, detail=f"the blob {ev.sha256} is missing from the store"
        ) from None
    if sha256_bytes(data) != ev.sha256:
        raise HTTPException(status_code=409, detail=f"the blob {ev.sha256} was changed after it was recorded")
    media_type = ev.media_type if MEDIA_TYPE.match(ev.media_type) else "application/octet-stream"
    filename = SAFE_NAME.sub("_", ev.name).strip("._") or ev.sha256
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "ETag": f'"{ev.sha256}"',
            "X-Assay-SHA256": ev.sha256,
        },
    )
