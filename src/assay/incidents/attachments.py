"""Files attached to a report — screenshots and transcripts — within limits, known by their content.

What a file is comes from its first bytes (PNG, JPEG, WebP and PDF signatures; UTF-8 text, JSON),
never from the client's Content-Type or the file's name. The name must not contradict the content: a
PNG named `.txt`, or an HTML page named `.png`, is refused. Text that is itself a markup document (it
opens with a tag, as an HTML or SVG file does) is refused too; text that merely quotes markup, as a
transcript of a prompt injection may, is kept, and is only ever served as an attachment with
`nosniff`, never rendered. Every file of a request is checked before anything is stored; then the
blobs, their links to the incident and one signed `attached` event are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from assay.incidents.events import append_event
from assay.incidents.models import normalise_id
from assay.incidents.service import IncidentNotFound, _to_incident
from assay.store import attachments as store
from assay.store import incidents as rows
from assay.workspace import Workspace

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/json": (".json",),
    "text/plain": (".txt", ".text", ".log", ".md"),
}
"""The allow-list: each media type and the file-name endings that may name it."""
ALLOWED = "PNG, JPEG, WebP, PDF, JSON or plain UTF-8 text"
_MARKUP = re.compile(r"^\s*<(?:[!?]|/?[A-Za-z])")
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


class AttachmentLimits(BaseModel):
    """How large each file may be and how many one report may carry (`ASSAY_ATTACHMENT_MAX_BYTES`,
    `ASSAY_ATTACHMENTS_PER_REPORT`)."""

    max_bytes: int = Field(5_000_000, gt=0)
    per_report: int = Field(3, gt=0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AttachmentLimits:
        env = os.environ if env is None else env
        values: dict[str, int] = {}
        for name, field in (
            ("ASSAY_ATTACHMENT_MAX_BYTES", "max_bytes"),
            ("ASSAY_ATTACHMENTS_PER_REPORT", "per_report"),
        ):
            raw = (env.get(name) or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or int(raw) <= 0:
                raise ValueError(f"{name}={raw!r}: expected a positive whole number")
            values[field] = int(raw)
        return cls(**values)

    def body_cap(self) -> int:
        """The most a request carrying a full set of attachments may send (plus room for the form)."""
        return self.per_report * self.max_bytes + 256 * 1024


class Attachment(BaseModel):
    sha256: str
    filename: str
    media_type: str = Field(description="found from the content, one of the allow-list")
    size: int
    added_by: str
    created_at: dt.datetime


class CheckedFile(BaseModel):
    filename: str
    media_type: str
    data: bytes


class AttachmentRefused(ValueError):
    """A file (or a set of them) that is not accepted; `status` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


def safe_filename(name: str | None) -> str:
    """The last path part of the client's name, without controls or quotes, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C" and c not in '"<>')
    return base.strip().strip(".")[:200] or "attachment"


def sniff(data: bytes) -> str | None:
    """The media type the content is, by its own bytes; None when it is none of the allow-list."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if _BAD_TEXT.search(text) or _MARKUP.match(text):
        return None
    try:
        json.loads(text)
    except ValueError:
        return "text/plain"
    return "application/json"


def _what(data: bytes) -> str:
    """Why sniffing found nothing allowed, in words."""
    if b"\x00" in data[:4096]:
        return "binary content of a type not accepted"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "binary content of a type not accepted"
    if _MARKUP.match(text):
        return "an HTML/XML markup document"
    return "text with control characters"


def check_file(filename: str | None, data: bytes, limits: AttachmentLimits) -> CheckedFile:
    """One upload checked: size, type by content, and a name that agrees with the content."""
    name = safe_filename(filename)
    if not data:
        raise AttachmentRefused(f"attachment '{name}' is empty", 422)
    if len(data) > limits.max_bytes:
        raise AttachmentRefused(
            f"attachment '{name}' is {len(data):,} bytes; at most {limits.max_bytes:,} bytes each", 413
        )
    found = sniff(data)
    if found is None:
        raise AttachmentRefused(f"attachment '{name}' is {_what(data)}; accepted: {ALLOWED}")
    ext = os.path.splitext(name)[1].lower()
    if ext:
        if found == "application/json" and ext in EXTENSIONS["text/plain"]:
            found = "text/plain"  # JSON is text too: a transcript.txt that happens to be JSON stays text
        if ext not in EXTENSIONS[found]:
            raise AttachmentRefused(
                f"attachment '{name}' is named {ext} but its content is {found}; "
                f"name it {' or '.join(EXTENSIONS[found])}"
            )
    return CheckedFile(filename=name, media_type=found, data=data)


def check_files(files: Sequence[tuple[str | None, bytes]], limits: AttachmentLimits) -> list[CheckedFile]:
    """Every file of one request checked before any is stored."""
    if len(files) > limits.per_report:
        raise AttachmentRefused(
            f"{len(files)} attachments sent; a report carries at most {limits.per_report}", 422
        )
    return [check_file(name, data, limits) for name, data in files]


def attach(
    ws: Workspace, ident: str, files: Sequence[CheckedFile], *, actor: str, limits: AttachmentLimits
) -> list[Attachment]:
    """Store checked files and link them to the incident, with one signed `attached` event, in one
    transaction; a file the incident has already is not added twice. Refused (409) past the per-report
    limit, counting what the incident already carries."""
    from assay.store.blobs import sha256_bytes

    ident = normalise_id(ident)
    now = dt.datetime.now(dt.UTC)
    by_digest = {sha256_bytes(f.data): f for f in files}
    with ws.db.write_session() as s:
        row = rows.lock_incident(s, ident)
        if row is None:
            raise IncidentNotFound(ident)
        new = {d: f for d, f in by_digest.items() if not store.has_attachment(s, ident, d)}
        have = store.count_attachments(s, ident)
        if have + len(new) > limits.per_report:
            raise AttachmentRefused(
                f"{ident} has {have} attachment(s); a report carries at most {limits.per_report}", 409
            )
        added: list[dict[str, Any]] = []
        for digest, f in new.items():
            ws.blobs.put(f.data)  # content-addressed and atomic: a rollback leaves no half-written file
            fields = {
                "sha256": digest,
                "filename": f.filename,
                "media_type": f.media_type,
                "size": len(f.data),
                "added_by": actor,
                "created_at": now,
            }
            added.append(store.add_attachment_row(s, ident, fields))
        if added:
            listed = [{k: a[k] for k in ("sha256", "filename", "media_type", "size")} for a in added]
            append_event(
                s, ws.signing_key, row, _to_incident(row), "attached", actor, {"attachments": listed}, now
            )
    return [Attachment.model_validate(a) for a in added]


def list_attachments(ws: Workspace, ident: str) -> list[Attachment]:
    with ws.db.session() as s:
        return [Attachment.model_validate(a) for a in store.attachment_rows(s, normalise_id(ident))]


def attachment_content(ws: Workspace, ident: str, sha256: str) -> tuple[Attachment, bytes] | None:
    """The attachment's record and bytes, re-hashed on the way out (a changed blob is not served)."""
    from assay.store.blobs import sha256_bytes

    with ws.db.session() as s:
        found = store.find_attachment(s, normalise_id(ident), sha256)
    if found is None:
        return None
    data = ws.blobs.get(sha256)
    if sha256_bytes(data) != sha256:
        raise ValueError(f"the stored blob {sha256} no longer matches its hash: run `assay evidence verify`")
    return Attachment.model_validate(found), data
