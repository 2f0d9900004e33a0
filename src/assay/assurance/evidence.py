"""Evidence: every artifact an activity produces, stored by hash and signed.

The signature covers the hash and the descriptive fields together, so changing either the bytes
or what is said about them is detected by `verify_evidence`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from pydantic import BaseModel, Field

from assay import __version__
from assay.assurance.keys import verify_signature
from assay.store.evidence_index import add_evidence_row, get_evidence_row, query_evidence_rows
from assay.workspace import Workspace


class Evidence(BaseModel):
    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: str
    system: str | None = None
    name: str = ""
    media_type: str = "application/octet-stream"
    size: int
    tool: str = "assay"
    tool_version: str = __version__
    created_at: dt.datetime
    summary: str = ""
    key_id: str = ""
    signature: str = ""

    def signed_payload(self) -> bytes:
        """The canonical bytes the signature covers (everything but the signature itself)."""
        fields = self.model_dump(mode="json", exclude={"signature", "key_id"})
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class EvidenceCheck(BaseModel):
    evidence_id: str
    sha256: str
    kind: str
    name: str
    ok: bool
    problems: list[str] = []


def _to_model(fields: dict) -> Evidence:  # type: ignore[type-arg]
    created = fields["created_at"]
    if created.tzinfo is None:  # SQLite returns naive datetimes
        fields = {**fields, "created_at": created.replace(tzinfo=dt.UTC)}
    return Evidence.model_validate(fields)


def record_evidence(
    ws: Workspace,
    content: bytes,
    *,
    kind: str,
    system: str | None,
    name: str = "",
    media_type: str = "application/octet-stream",
    summary: str = "",
    tool: str = "assay",
    tool_version: str = __version__,
    session=None,  # type: ignore[no-untyped-def]
) -> Evidence:
    """Store `content` by hash, sign its record, and index it; one call per artifact."""
    digest = ws.blobs.put(content)
    ev = Evidence(
        id=str(uuid.uuid4()),
        sha256=digest,
        kind=kind,
        system=system,
        name=name,
        media_type=media_type,
        size=len(content),
        tool=tool,
        tool_version=tool_version,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        summary=summary,
    )
    key = ws.signing_key
    ev.key_id = key.key_id
    ev.signature = key.sign(ev.signed_payload())
    fields = ev.model_dump()
    if session is not None:
        add_evidence_row(session, fields)
    else:
        with ws.db.session() as s:
            add_evidence_row(s, fields)
    return ev


def list_evidence(
    ws: Workspace, system: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[Evidence]:
    with ws.db.session() as s:
        return [_to_model(r) for r in query_evidence_rows(s, system, kind, limit)]


def get_evidence(ws: Workspace, evidence_id: str) -> Evidence | None:
    with ws.db.session() as s:
        row = get_evidence_row(s, evidence_id)
    return _to_model(row) if row else None


def check_evidence(ws: Workspace, ev: Evidence) -> EvidenceCheck:
    problems: list[str] = []
    blob = ws.blobs.check(ev.sha256)
    if not blob.ok:
        problems.append(f"{blob.problem} ({blob.path})")
    key = ws.signing_key
    if ev.key_id != key.key_id:
        problems.append(f"signed with key {ev.key_id}, not this workspace's key {key.key_id}")
    elif not verify_signature(key.public, ev.signed_payload(), ev.signature):
        problems.append("signature does not match the record (its fields were changed)")
    return EvidenceCheck(
        evidence_id=ev.id, sha256=ev.sha256, kind=ev.kind, name=ev.name, ok=not problems, problems=problems
    )


def verify_evidence(ws: Workspace, system: str | None = None) -> list[EvidenceCheck]:
    """Re-hash every blob and check every signature; a single changed byte fails its record."""
    return [check_evidence(ws, ev) for ev in list_evidence(ws, system=system, limit=1_000_000)]
