"""Evidence: every artifact an activity produces, stored by hash, signed and chained.

The signature covers the hash, the descriptive fields and the record's place in its system's chain
(`seq`, `prev_hash`), so changing the bytes, what is said about them or where the record stands is
detected by `verify_evidence` and `assay.assurance.chain.verify_chains`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from pydantic import BaseModel, Field

from assay import __version__
from assay.assurance.chain import (
    CHECKPOINT_EVERY,
    GENESIS,
    ChainTx,
    chain_key,
    link_hash,
    sign_checkpoint,
)
from assay.assurance.keys import verify_signature
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
    seq: int = Field(0, description="position in its system's evidence chain, from 1")
    prev_hash: str = Field("", description="hash of the record before it in the chain (zeros for the first)")
    link_signed: bool = Field(
        True,
        description="the signature covers seq and prev_hash (false: linked later, by the chain migration)",
    )

    def signed_payload(self) -> bytes:
        """The canonical bytes the signature covers (everything but the signature itself). Records made
        before the chain existed were signed without the chain fields, and are checked that way."""
        exclude = {"signature", "key_id"}
        if not self.link_signed:
            exclude |= {"seq", "prev_hash", "link_signed"}
        fields = self.model_dump(mode="json", exclude=exclude)
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
) -> Evidence:
    """Store `content` by hash, then append its signed record to its system's chain; one call per artifact.

    The append runs under the chain's lock, so concurrent writers (processes included) take turns and the
    chain never forks; every `CHECKPOINT_EVERY` records a signed checkpoint is added."""
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
    with ws.chain_transaction() as tx:
        append_to_chain(tx, key, ev)
    return ev


def append_to_chain(tx: ChainTx, key: Any, ev: Evidence) -> None:
    """Place `ev` at the end of its chain, sign it there and move the head; the one append rule, whichever
    storage `tx` writes to. The caller's transaction holds the chain's lock throughout."""
    chain = chain_key(ev.system)
    head = tx.lock_head(chain, GENESIS)
    ev.seq = head["length"] + 1
    ev.prev_hash = head["head_hash"]
    ev.key_id = key.key_id
    ev.signature = key.sign(ev.signed_payload())
    fields = ev.model_dump()
    tx.add_evidence(fields)
    new_head = link_hash(fields)
    tx.set_head(chain, ev.seq, new_head)
    if ev.seq % CHECKPOINT_EVERY == 0:
        sign_checkpoint(tx, key, chain, ev.seq, new_head)


def list_evidence(
    ws: Workspace, system: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[Evidence]:
    from assay.store.evidence_index import query_evidence_rows

    with ws.db.session() as s:
        return [_to_model(r) for r in query_evidence_rows(s, system, kind, limit)]


def get_evidence(ws: Workspace, evidence_id: str) -> Evidence | None:
    from assay.store.evidence_index import get_evidence_row

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
