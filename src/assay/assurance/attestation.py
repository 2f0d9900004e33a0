"""Attestations: a named, accountable person's answer to a process check of one control.

Much of what the framework asks for is process (a policy exists, people are trained, a review
happens), which no test can observe. In the spirit of AI Verify's process checklist, a person
answers for it: who, in what role, when, the answer, and optionally a supporting document. The
attestation is recorded as signed evidence of kind `attestation` (its document goes to the blob
store), so it joins the system's evidence chain and cannot be edited afterwards without showing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.workspace import Workspace

Answer = Literal["yes", "partly", "no", "not_applicable"]
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class AttestationError(ValueError):
    """An attestation that cannot be recorded; the message names the field."""


class Attestation(BaseModel):
    """One answer to one control's process check."""

    model_config = ConfigDict(extra="forbid")

    control: str
    system: str
    answer: Answer
    statement: str = Field("", max_length=4000, description="what the person attests, in their words")
    reason: str = Field("", max_length=4000, description="required for not_applicable")
    by: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)
    at: dt.datetime
    document_name: str = ""
    document_sha256: str = ""
    evidence_id: str = Field("", description="set when read back from the store")
    evidence_sha256: str = Field("", description="the record's content hash, set when read back")


def record_attestation(
    ws: Workspace,
    *,
    system: str,
    control: str,
    answer: Answer,
    by: str,
    role: str,
    statement: str = "",
    reason: str = "",
    document: Path | None = None,
    now: dt.datetime | None = None,
) -> Attestation:
    """Check the control exists, store the document, and record the attestation as signed evidence."""
    from assay.assurance.evidence import record_evidence
    from assay.catalog import load_catalog

    catalog = load_catalog()
    if catalog.get(control) is None:
        near = catalog.suggest(control, limit=1)
        hint = f"; did you mean {near[0]}?" if near else " (`assay catalog list` shows them)"
        raise AttestationError(f"control: no control {control!r} in the catalog{hint}")
    if answer == "not_applicable" and not reason.strip():
        raise AttestationError("reason: a control declared not applicable needs the reason why")
    if not by.strip() or not role.strip():
        raise AttestationError("by/role: an attestation names the person and their role")
    doc_name, doc_sha = "", ""
    if document is not None:
        if not document.is_file():
            raise AttestationError(f"document: {document} is not a readable file")
        size = document.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise AttestationError(f"document: {document} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
        doc_name, doc_sha = document.name, ws.blobs.put(document.read_bytes())
    att = Attestation(
        control=control,
        system=system,
        answer=answer,
        statement=statement.strip(),
        reason=reason.strip(),
        by=by.strip(),
        role=role.strip(),
        at=(now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0),
        document_name=doc_name,
        document_sha256=doc_sha,
    )
    body = json.dumps(
        att.model_dump(mode="json", exclude={"evidence_id", "evidence_sha256"}),
        sort_keys=True,
        ensure_ascii=False,
    )
    ev = record_evidence(
        ws,
        body.encode(),
        kind="attestation",
        system=system,
        name=f"attestation-{control}.json",
        media_type="application/json",
        summary=f"{by} ({role}) answered '{answer}' for {control}",
    )
    return att.model_copy(update={"evidence_id": ev.id, "evidence_sha256": ev.sha256})


def list_attestations(ws: Workspace, system: str) -> list[Attestation]:
    """Every attestation of a system, oldest first (the newest per control is the one that counts)."""
    from assay.assurance.evidence import list_evidence

    out = []
    for ev in list_evidence(ws, system, kind="attestation", limit=100_000):
        try:
            data = json.loads(ws.blobs.get(ev.sha256))
            out.append(
                Attestation.model_validate({**data, "evidence_id": ev.id, "evidence_sha256": ev.sha256})
            )
        except (OSError, ValueError):
            continue  # an unreadable record is reported by `assay evidence verify`, not silently used
    return out
