"""The provenance ledger: every output Assay marks, recorded so it can be found again.

A watermark can be weakened and a manifest stripped; the ledger is the deployer's own memory of what
its system generated. Each entry keeps the content's SHA-256, a hash of its normalised form (the text
as a reader sees it, an image's pixels), and a fuzzy fingerprint with its LSH bands, so `lookup` finds
the exact bytes, a copy with metadata stripped, and a lightly edited or re-saved copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.provenance import fingerprints as fp
from assay.store import ledger as rows
from assay.workspace import Workspace

Kind = Literal["text", "image"]
TEXT_MATCH = 0.5  # estimated Jaccard of character 5-grams; unrelated texts sit near 0
IMAGE_MATCH = 0.85  # perceptual-hash similarity: at most 9 of 64 bits differ
# Measured by bench/ledger_similarity.py (bench/README.md): pairs of different photos (each also
# cropped, re-saved and rescaled) compared with IMAGE_MATCH, and how many of them matched. A match is a
# resemblance, never a mark: the original a marked copy was made from matches its copy too.
IMAGE_CALIBRATION = {"pairs": 4338, "false_matches": 0}


class LedgerEntry(BaseModel):
    """One marked output. `id` is small and permanent: an image watermark carries it."""

    id: int
    kind: Kind
    media_type: str
    sha256: str
    norm_sha256: str = ""
    size: int = 0
    fingerprint_kind: str = ""
    system: str | None = None
    system_version: str = ""
    model: str = ""
    method: str = Field("", description="how it was marked, e.g. 'kgw-watermark' or 'c2pa+dwtDctSvd'")
    key_id: str = ""
    params: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    evidence_id: str | None = None
    created_at: dt.datetime

    def label(self) -> str:
        """'output #12 of helpdesk v0.1.0' — how a person refers to it."""
        who = self.system or "an unnamed system"
        version = f" v{self.system_version}" if self.system_version else ""
        return f"output #{self.id} of {who}{version}"


class LedgerMatch(BaseModel):
    entry: LedgerEntry
    match: Literal["exact", "same_content", "similar"]
    similarity: float = Field(ge=0, le=1)
    sentence: str


class Fingerprint(BaseModel):
    """What the ledger stores and compares for one piece of content."""

    kind: Kind
    sha256: str
    norm_sha256: str
    fingerprint_kind: str
    fingerprint: bytes
    bands: list[tuple[int, int]]


def text_fingerprint(text: str, raw: bytes | None = None) -> Fingerprint:
    data = raw if raw is not None else text.encode("utf-8")
    sig = fp.minhash(text)
    norm = fp.normalise_text(text)
    return Fingerprint(
        kind="text",
        sha256=hashlib.sha256(data).hexdigest(),
        norm_sha256=hashlib.sha256(norm.encode("utf-8")).hexdigest() if norm else "",
        fingerprint_kind=f"minhash{fp.NUM_PERM}-char{fp.SHINGLE}",
        fingerprint=fp.signature_bytes(sig),
        bands=fp.text_bands(sig) if norm else [],
    )


def image_fingerprint(data: bytes, image: Any) -> Fingerprint:
    """`image` is a decoded PIL image of `data` (decoded safely by the caller)."""
    value = fp.phash(image)
    return Fingerprint(
        kind="image",
        sha256=hashlib.sha256(data).hexdigest(),
        norm_sha256=fp.pixel_sha256(image),
        fingerprint_kind="phash64",
        fingerprint=fp.phash_bytes(value),
        bands=fp.image_bands(value),
    )


def _entry(fields: dict[str, Any]) -> LedgerEntry:
    created = fields["created_at"]
    if created is not None and created.tzinfo is None:  # SQLite returns naive datetimes
        fields = {**fields, "created_at": created.replace(tzinfo=dt.UTC)}
    return LedgerEntry.model_validate({k: v for k, v in fields.items() if k not in ("fingerprint", "status")})


def reserve_entry(ws: Workspace, *, kind: Kind, media_type: str, system: str | None = None) -> int:
    """Take a ledger id before the output exists (an image watermark must carry it); `record_mark` with
    `ledger_id` completes the entry. A reserved id is never matched by `lookup`."""
    with ws.db.session() as s:
        return rows.insert_entry(
            s,
            {
                "status": rows.RESERVED,
                "kind": kind,
                "media_type": media_type,
                "system": system,
                "params": {},
                "meta": {},
                "created_at": dt.datetime.now(dt.UTC),
            },
        )


def record_mark(
    ws: Workspace,
    print_: Fingerprint,
    *,
    media_type: str,
    size: int,
    system: str | None = None,
    system_version: str = "",
    model: str = "",
    method: str = "",
    key_id: str = "",
    params: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    evidence_id: str | None = None,
    ledger_id: int | None = None,
) -> LedgerEntry:
    """Record one marked output (or complete a reserved id) with its fingerprint and LSH bands."""
    fields = {
        "status": rows.RECORDED,
        "kind": print_.kind,
        "media_type": media_type,
        "sha256": print_.sha256,
        "norm_sha256": print_.norm_sha256,
        "size": size,
        "fingerprint_kind": print_.fingerprint_kind,
        "fingerprint": print_.fingerprint,
        "system": system,
        "system_version": system_version,
        "model": model,
        "method": method,
        "key_id": key_id,
        "params": params or {},
        "meta": meta or {},
        "evidence_id": evidence_id,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
    }
    with ws.db.session() as s:
        if ledger_id is None:
            entry_id = rows.insert_entry(s, fields)
        else:
            if not rows.update_entry(s, ledger_id, fields):
                raise LookupError(f"no reserved ledger entry #{ledger_id}")
            entry_id = ledger_id
        rows.replace_bands(s, entry_id, print_.kind, print_.bands)
        stored = rows.get_entry_row(s, entry_id)
    assert stored is not None
    return _entry(stored)


def record_text(ws: Workspace, text: str, *, raw: bytes | None = None, **fields: Any) -> LedgerEntry:
    data = raw if raw is not None else text.encode("utf-8")
    return record_mark(
        ws,
        text_fingerprint(text, data),
        media_type=fields.pop("media_type", "text/plain"),
        size=len(data),
        **fields,
    )


def get_entry(ws: Workspace, entry_id: int) -> LedgerEntry | None:
    with ws.db.session() as s:
        row = rows.get_entry_row(s, entry_id)
    return _entry(row) if row else None


def list_entries(
    ws: Workspace, system: str | None = None, kind: Kind | None = None, limit: int = 1000
) -> list[LedgerEntry]:
    with ws.db.session() as s:
        return [_entry(r) for r in rows.list_entry_rows(s, system, kind, limit)]


def count_entries(ws: Workspace) -> int:
    with ws.db.session() as s:
        return rows.count_entry_rows(s)


def _similarity(print_: Fingerprint, stored: bytes) -> float:
    if print_.kind == "text":
        return fp.minhash_similarity(
            fp.signature_from_bytes(print_.fingerprint), fp.signature_from_bytes(stored)
        )
    return fp.phash_similarity(fp.phash_from_bytes(print_.fingerprint), fp.phash_from_bytes(stored))


def _sentence(entry: LedgerEntry, match: str, similarity: float) -> str:
    when = entry.created_at.strftime("%Y-%m-%d")
    if match == "exact":
        return f"Exactly matches {entry.label()}, marked on {when}."
    if match == "same_content":
        what = "text (ignoring invisible characters, spacing and case)" if entry.kind == "text" else "pixels"
        return f"Has the same {what} as {entry.label()}, marked on {when}."
    return f"Looks like {entry.label()}, {round(100 * similarity)}% similar (marked on {when})."


def lookup_fingerprint(ws: Workspace, print_: Fingerprint, limit: int = 5) -> list[LedgerMatch]:
    """Exact hash first, then the normalised hash, then LSH candidates ranked by fingerprint similarity."""
    threshold = TEXT_MATCH if print_.kind == "text" else IMAGE_MATCH
    found: dict[int, LedgerMatch] = {}
    with ws.db.session() as s:
        for row in rows.find_by_hash(s, print_.kind, print_.sha256, print_.norm_sha256):
            entry = _entry(row)
            match = "exact" if row["sha256"] == print_.sha256 else "same_content"
            found[entry.id] = LedgerMatch(
                entry=entry, match=match, similarity=1.0, sentence=_sentence(entry, match, 1.0)
            )
        if len(found) < limit:
            for row in rows.find_by_bands(s, print_.kind, print_.bands):
                if row["id"] in found or row["fingerprint_kind"] != print_.fingerprint_kind:
                    continue
                sim = _similarity(print_, row["fingerprint"])
                if sim >= threshold:
                    entry = _entry(row)
                    found[entry.id] = LedgerMatch(
                        entry=entry,
                        match="similar",
                        similarity=round(sim, 4),
                        sentence=_sentence(entry, "similar", sim),
                    )
    order = {"exact": 0, "same_content": 1, "similar": 2}
    ranked = sorted(found.values(), key=lambda m: (order[m.match], -m.similarity, -m.entry.id))
    return ranked[:limit]


def lookup(ws: Workspace, data: bytes, *, kind: Kind | None = None, limit: int = 5) -> list[LedgerMatch]:
    """Find marked outputs matching `data` (UTF-8 text or image bytes); [] when nothing matches."""
    if kind is None:
        from assay.provenance.verify import sniff

        sniffed = sniff(data)
        kind = "image" if sniffed.kind == "image" else "text"
    if kind == "text":
        text = data.decode("utf-8", errors="replace")
        return lookup_fingerprint(ws, text_fingerprint(text, data), limit)
    from assay.provenance.image_io import load_image

    image = load_image(data).image
    return lookup_fingerprint(ws, image_fingerprint(data, image), limit)


def similarity_to(ws: Workspace, entry_id: int, print_: Fingerprint) -> float | None:
    """How similar `print_` is to one recorded entry (None if there is no such entry or kind differs).

    A watermark can be copied onto other content; comparing with what was recorded under its id
    tells a genuine mark from a transplanted one."""
    with ws.db.session() as s:
        row = rows.get_entry_row(s, entry_id)
    if row is None or row["kind"] != print_.kind or row["fingerprint_kind"] != print_.fingerprint_kind:
        return None
    if row["sha256"] == print_.sha256 or (print_.norm_sha256 and row["norm_sha256"] == print_.norm_sha256):
        return 1.0
    return _similarity(print_, row["fingerprint"])
