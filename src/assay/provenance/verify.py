"""Verification for everyone: one verdict on a piece of content, from every check Assay can run.

Three independent parts look at the content: a provenance manifest (C2PA for images, the signed text
manifest for text), an invisible watermark (the keyed text watermark, the image watermark), and the
ledger of outputs this workspace marked. Each part reports what it found in plain words and never
raises; `combine` turns them into one of three verdicts:

- *AI provenance established*: at least one part positively ties the content to an AI generator
  (a trusted manifest that says so, a detected watermark, a ledger match);
- *AI provenance not established*: every part could run and found nothing. This is not proof that a
  person made it: marks can be stripped, and most AI content is never marked;
- *cannot tell*: a part could not decide (too short, no key, an untrusted or broken manifest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.workspace import Workspace

MAX_VERIFY_BYTES = 20 * 1000 * 1000
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")

Verdict = Literal["established", "not_established", "cannot_tell"]
Status = Literal["positive", "negative", "inconclusive", "error", "not_applicable"]
ContentKind = Literal["text", "image", "unsupported", "empty"]

HEADLINES: dict[Verdict, str] = {
    "established": "AI provenance established",
    "not_established": "AI provenance not established",
    "cannot_tell": "Cannot tell",
}
NOT_PROOF = (
    "'Not established' does not mean a person made it: watermarks and manifests can be removed, and "
    "most AI-generated content carries neither."
)

_IMAGE_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
]
_OTHER_MAGIC: list[tuple[bytes, str]] = [
    (b"GIF87a", "a GIF image (only PNG, JPEG and WebP images are supported)"),
    (b"GIF89a", "a GIF image (only PNG, JPEG and WebP images are supported)"),
    (b"II*\x00", "a TIFF image (only PNG, JPEG and WebP images are supported)"),
    (b"MM\x00*", "a TIFF image (only PNG, JPEG and WebP images are supported)"),
    (b"BM", "a BMP image (only PNG, JPEG and WebP images are supported)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio/video file"),
]
_TEXT_EXTENSIONS = {".txt", ".md", ".text", ".json", ".csv", ".html", ".htm", ".xml", ".yaml", ".yml", ".rst"}
_IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


class Sniffed(BaseModel):
    """What the bytes really are, whatever their name says."""

    kind: ContentKind
    media_type: str
    text: str | None = None
    reason: str = ""


def sniff(data: bytes) -> Sniffed:
    """Text or image by content: magic numbers for images, a strict decode for text."""
    if not data:
        return Sniffed(kind="empty", media_type="application/octet-stream", reason="the content is empty")
    for magic, at, media in _IMAGE_MAGIC:
        if data[at : at + len(magic)] == magic:
            return Sniffed(kind="image", media_type=media)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed(kind="image", media_type="image/webp")
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"heic", b"heix", b"mif1"):
        return Sniffed(
            kind="unsupported", media_type="image/avif", reason="AVIF/HEIC images are not supported"
        )
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return Sniffed(kind="text", media_type="text/plain", text=data.decode(codec))
            except UnicodeDecodeError:
                break
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _binary(data)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(2, len(text) // 20):
        return _binary(data)
    return Sniffed(kind="text", media_type="text/plain", text=text)


def _binary(data: bytes) -> Sniffed:
    """Name a binary format we recognise (checked only after the bytes failed as text, so a text that
    happens to start with 'BM' or 'MZ' stays text)."""
    for magic, what in _OTHER_MAGIC:
        if data.startswith(magic):
            return Sniffed(
                kind="unsupported", media_type="application/octet-stream", reason=f"this is {what}"
            )
    return Sniffed(
        kind="unsupported",
        media_type="application/octet-stream",
        reason="binary data that is neither UTF-8 text nor a supported image (PNG, JPEG, WebP)",
    )


# --- the report ---------------------------------------------------------------------------------------


class Credentials(BaseModel):
    """What a provenance manifest says: who signed, when, with what AI, and whether to trust it."""

    standard: Literal["c2pa", "text-manifest"]
    verdict: Literal["trusted", "valid_untrusted", "invalid", "no_manifest", "error"]
    signer: str | None = None
    issuer: str | None = None
    signed_at: dt.datetime | None = None
    generator: str | None = None
    model: str | None = None
    digital_source_type: str | None = None
    says_ai: bool = False
    actions: list[str] = []
    trusted: bool = False
    problems: list[str] = []
    ledger_id: int | None = Field(None, description="the ledger entry the manifest names")
    note: str = ""


class WatermarkFinding(BaseModel):
    method: str
    detected: bool | None = Field(description="None when the detector could not decide")
    key_id: str | None = None
    z_score: float | None = None
    p_value: float | None = None
    z_threshold: float | None = None
    bit_accuracy: float | None = None
    payload_id: int | None = None
    tokens_scored: int | None = None
    green_fraction: float | None = None
    false_positive_statement: str = ""
    highlight: list[tuple[str, bool]] = Field(
        default=[], description="(token text, green?) for the first tokens of a text, for display"
    )


class LedgerHit(BaseModel):
    ledger_id: int
    match: Literal["exact", "same_content", "similar", "watermark_payload", "manifest"]
    similarity: float
    system: str | None
    system_version: str
    model: str
    marked_at: dt.datetime
    method: str
    sentence: str


class Part(BaseModel):
    """One check and what it found; `status` is how it votes."""

    name: Literal["manifest", "watermark", "ledger"]
    title: str
    status: Status
    summary: str


class Verification(BaseModel):
    """The answer `assay verify`, the API and the /verify page give."""

    verdict: Verdict
    headline: str
    sentences: list[str]
    confidence: str
    content_type: ContentKind
    media_type: str
    size: int
    sha256: str
    filename: str | None = None
    type_note: str | None = Field(None, description="when the name or declared type disagrees with the bytes")
    bad_input: str | None = Field(None, description="why the content could not be checked properly")
    parts: list[Part]
    credentials: Credentials | None = None
    watermark: WatermarkFinding | None = None
    ledger: list[LedgerHit] = []
    notes: list[str] = []
    kept_as: str | None = Field(None, description="evidence id, only when the caller asked to keep it")
    checked_at: dt.datetime


# --- the parts ----------------------------------------------------------------------------------------


def _workspace_exists(ws: Workspace | None) -> bool:
    return ws is not None and ws.home.is_dir()


def _trust_roots(ws: Workspace | None) -> str:
    if not _workspace_exists(ws):
        return ""
    try:
        from assay.provenance.c2pa_keys import trust_roots

        return trust_roots(ws)  # type: ignore[arg-type]
    except Exception:
        return ""


def _text_manifest_part(
    text: str, ws: Workspace | None, sidecar: bytes | None
) -> tuple[Part, Credentials, str, int | None]:
    from assay.provenance.text_manifest import NO_HARD_BINDING, verify_manifest

    res = verify_manifest(text, _trust_roots(ws), sidecar)
    says_ai = any(s in (res.digital_source_type or "") for s in AI_SOURCE_TYPES)
    cred = Credentials(
        standard="text-manifest",
        verdict=res.verdict,
        signer=res.signer,
        issuer=res.issuer,
        signed_at=res.signed_at,
        generator=res.generator,
        model=res.model,
        digital_source_type=res.digital_source_type,
        says_ai=says_ai,
        actions=res.actions,
        trusted=res.verdict == "trusted",
        problems=res.problems,
        ledger_id=res.ledger_id,
        note=NO_HARD_BINDING,
    )
    if res.verdict == "no_manifest":
        part = Part(
            name="manifest",
            title="Text manifest",
            status="negative",
            summary="No provenance manifest is embedded in the text.",
        )
        return part, cred, res.clean_text, None
    elif res.verdict == "invalid":
        part = Part(
            name="manifest",
            title="Text manifest",
            status="inconclusive",
            summary="A manifest is there but does not hold up: " + "; ".join(res.problems),
        )
    else:
        who = res.signer or "an unknown signer"
        trusted = "a trusted signer" if res.verdict == "trusted" else "a signer that is NOT on the trust list"
        what = f"made by AI ({res.generator or 'generator not named'}, model {res.model or 'not named'})"
        status: Status = "positive" if res.verdict == "trusted" and says_ai else "inconclusive"
        part = Part(
            name="manifest",
            title="Text manifest",
            status=status,
            summary=f"Signed by {who}, {trusted}, saying it was {what}.",
        )
    ledger_id = res.ledger_id if res.verdict in ("trusted", "valid_untrusted") else None
    return part, cred, res.clean_text, ledger_id


def _c2pa_part(data: bytes, media_type: str, ws: Workspace | None) -> tuple[Part, Credentials]:
    title = "Content Credentials (C2PA)"
    try:
        from assay.provenance.image_c2pa import verify_c2pa

        v = verify_c2pa(data, media_type, _trust_roots(ws))
    except Exception as exc:
        msg = f"the C2PA check failed: {type(exc).__name__}: {exc}"
        return (
            Part(name="manifest", title=title, status="error", summary=msg),
            Credentials(standard="c2pa", verdict="error", problems=[msg]),
        )
    verdict = str(v.verdict)
    source = v.digital_source_type
    says_ai = any(a in (source or "") for a in AI_SOURCE_TYPES)
    problems = [
        f"{c.code}: {c.explanation}" if c.explanation else c.code for c in v.codes if c.kind == "failure"
    ]
    if v.certificate_expired:
        problems.insert(0, "the signing certificate has expired")
    if verdict in ("invalid", "valid_untrusted") and v.explanation and v.explanation not in problems:
        problems.insert(0, v.explanation)
    cred = Credentials(
        standard="c2pa",
        verdict=verdict if verdict in ("trusted", "valid_untrusted", "invalid", "no_manifest") else "error",  # type: ignore[arg-type]
        signer=v.signer.subject if v.signer else None,
        issuer=v.signer.issuer if v.signer else None,
        signed_at=v.signed_at or v.claimed_time,
        generator=v.generator,
        model=v.model,
        digital_source_type=source,
        says_ai=says_ai,
        actions=list(v.actions),
        trusted=verdict == "trusted",
        problems=problems,
        ledger_id=v.ledger_id if isinstance(v.ledger_id, int) else None,
    )
    if verdict == "no_manifest":
        return Part(
            name="manifest", title=title, status="negative", summary="No C2PA manifest in the file."
        ), cred
    if verdict == "invalid":
        why = "; ".join(problems[:3]) or "the manifest does not match the file"
        return Part(
            name="manifest",
            title=title,
            status="inconclusive",
            summary=f"A C2PA manifest is there but is invalid (tampered or broken): {why}.",
        ), cred
    if verdict in ("trusted", "valid_untrusted"):
        who = cred.signer or "an unnamed signer"
        trust = "on the trust list" if verdict == "trusted" else "NOT on the trust list"
        claim = "says it was made by AI" if says_ai else "does not say it was made by AI"
        status: Status = "positive" if verdict == "trusted" and says_ai else "inconclusive"
        if verdict == "trusted" and not says_ai:
            status = "negative"
        return Part(
            name="manifest",
            title=title,
            status=status,
            summary=f"Signed by {who} ({trust}); the manifest {claim}.",
        ), cred
    return Part(
        name="manifest", title=title, status="error", summary=f"Unexpected C2PA result {verdict!r}."
    ), cred


def _ledger_params(ws: Workspace, key_id: str) -> list[Any]:
    """Watermark settings to try for a key: those its marks were made with, else the defaults."""
    from assay.provenance.ledger import list_entries
    from assay.provenance.text_watermark import WatermarkParams

    seen: dict[tuple[float, int], Any] = {}
    for e in list_entries(ws, kind="text", limit=5000):
        if e.key_id != key_id or "gamma" not in e.params:
            continue
        try:
            p = WatermarkParams.model_validate(
                {k: v for k, v in e.params.items() if k in WatermarkParams.model_fields}
            )
        except Exception:
            continue
        seen.setdefault((p.gamma, p.context_width), p)
        if len(seen) >= 3:
            break
    return list(seen.values()) or [WatermarkParams()]


def _text_watermark_part(text: str, ws: Workspace | None) -> tuple[Part, WatermarkFinding | None]:
    title = "Text watermark"
    if not _workspace_exists(ws):
        return Part(
            name="watermark",
            title=title,
            status="inconclusive",
            summary="No workspace here, so no watermark key to check with.",
        ), None
    try:
        from assay.provenance.keys import list_keys, load_text_key
        from assay.provenance.text_watermark import detect_text, load_bundled_tokenizer, load_calibration

        infos = list_keys(ws)  # type: ignore[arg-type]
        if not infos:
            return Part(
                name="watermark",
                title=title,
                status="inconclusive",
                summary="This workspace has no text watermark key (`assay keys init`).",
            ), None
        tokenizer = load_bundled_tokenizer()
        best = None
        tried = 0
        for info in infos[-5:]:
            key = load_text_key(ws, info.key_id)  # type: ignore[arg-type]
            calibration = load_calibration(ws, key.key_id)  # type: ignore[arg-type]
            for params in _ledger_params(ws, key.key_id):  # type: ignore[arg-type]
                tried += 1
                det = detect_text(text, tokenizer, key, params, calibration=calibration)
                if best is None or (det.watermarked, det.z_score) > (best.watermarked, best.z_score):
                    best = det
    except Exception as exc:
        return Part(
            name="watermark",
            title=title,
            status="error",
            summary=f"The watermark check failed: {type(exc).__name__}: {exc}",
        ), None
    assert best is not None
    finding = WatermarkFinding(
        method="keyed green-list (KGW) text watermark",
        detected=None if best.verdict == "too short to tell" else best.watermarked,
        key_id=best.key_id,
        z_score=best.z_score,
        p_value=best.p_value,
        z_threshold=best.z_threshold,
        tokens_scored=best.n_scored,
        green_fraction=best.green_fraction,
        false_positive_statement=best.fpr_statement
        + (
            f" ({tried} key/setting combinations tried: the chance of a false alarm grows with each)"
            if tried > 1
            else ""
        ),
        highlight=list(zip(best.tokens[:400], best.green_mask[:400], strict=False)),
    )
    if best.verdict == "too short to tell":
        return Part(
            name="watermark",
            title=title,
            status="inconclusive",
            summary=f"Too short to tell: {best.n_scored} tokens scored, {best.min_scored_tokens} needed.",
        ), finding
    if best.watermarked:
        return Part(
            name="watermark",
            title=title,
            status="positive",
            summary=f"Watermark found (key {best.key_id}): {best.n_green} of {best.n_scored} tokens are "
            f"green, z = {best.z_score:.1f}, p = {best.p_value:.1e}.",
        ), finding
    return Part(
        name="watermark",
        title=title,
        status="negative",
        summary=f"No watermark of this workspace's keys (z = {best.z_score:.1f}, "
        f"threshold {best.z_threshold:.1f}).",
    ), finding


def _image_watermark_part(image: Any, ws: Workspace | None) -> tuple[Part, WatermarkFinding | None]:
    title = "Invisible image watermark"
    try:
        from assay.provenance.image_watermark import detect_watermark

        r = detect_watermark(image)
    except Exception as exc:
        return Part(
            name="watermark",
            title=title,
            status="error",
            summary=f"The watermark check failed: {type(exc).__name__}: {exc}",
        ), None
    detected = bool(r.detected)
    payload = r.payload_id if detected else None
    finding = WatermarkFinding(
        method=f"invisible watermark ({r.method})",
        detected=detected,
        payload_id=payload,
        # The DWT methods' block-vote agreement reads as a bit accuracy; syncTile's chip agreement
        # does not (noisy chips sit near 60% on a clean read), so its strength is in the explanation.
        bit_accuracy=r.bit_accuracy
        if r.bit_accuracy is not None or r.method == "syncTile"
        else r.bit_agreement,
        false_positive_statement=f"{r.explanation} {r.rule}".strip(),
    )
    if detected:
        tail = f" carrying ledger id #{payload}" if payload is not None else ""
        return Part(
            name="watermark",
            title=title,
            status="positive",
            summary=f"An Assay watermark is in the pixels{tail}.",
        ), finding
    return Part(
        name="watermark", title=title, status="negative", summary="No Assay watermark found in the pixels."
    ), finding


def _hit(m: Any, match: str | None = None, sentence: str | None = None) -> LedgerHit:
    e = m.entry if hasattr(m, "entry") else m
    return LedgerHit(
        ledger_id=e.id,
        match=match or m.match,
        similarity=getattr(m, "similarity", 1.0),
        system=e.system,
        system_version=e.system_version,
        model=e.model,
        marked_at=e.created_at,
        method=e.method,
        sentence=sentence or m.sentence,
    )


def _ledger_part(
    ws: Workspace | None, print_: Any, extra_ids: list[tuple[int, str]]
) -> tuple[Part, list[LedgerHit]]:
    title = "Provenance ledger"
    if not _workspace_exists(ws):
        return Part(
            name="ledger",
            title=title,
            status="inconclusive",
            summary="No workspace here, so no ledger to look in.",
        ), []
    try:
        from assay.provenance.ledger import count_entries, get_entry, lookup_fingerprint

        total = count_entries(ws)  # type: ignore[arg-type]
        hits = [_hit(m) for m in lookup_fingerprint(ws, print_)] if print_ is not None else []  # type: ignore[arg-type]
        for entry_id, how in extra_ids:
            if any(h.ledger_id == entry_id for h in hits):
                continue
            entry = get_entry(ws, entry_id)  # type: ignore[arg-type]
            if entry is not None:
                hits.append(
                    _hit(
                        entry,
                        how,
                        f"The {'watermark' if how == 'watermark_payload' else 'manifest'} "
                        f"names {entry.label()}.",
                    )
                )
    except Exception as exc:
        return Part(
            name="ledger",
            title=title,
            status="error",
            summary=f"The ledger lookup failed: {type(exc).__name__}: {exc}",
        ), []
    direct = [h for h in hits if h.match in ("exact", "same_content", "similar")]
    if direct:
        return Part(name="ledger", title=title, status="positive", summary=direct[0].sentence), hits
    if total == 0:
        return Part(
            name="ledger",
            title=title,
            status="negative",
            summary="This workspace's ledger is empty: nothing to match.",
        ), hits
    return Part(
        name="ledger",
        title=title,
        status="negative",
        summary=f"No match among the {total} outputs this workspace recorded.",
    ), hits


# --- combining ----------------------------------------------------------------------------------------


def _confidence(
    parts: list[Part], cred: Credentials | None, wm: WatermarkFinding | None, hits: list[LedgerHit]
) -> str:
    positive = {p.name for p in parts if p.status == "positive"}
    if "ledger" in positive and hits and hits[0].match in ("exact", "same_content"):
        return "Certain: the content is exactly what this workspace recorded when it marked it."
    if "manifest" in positive and cred is not None:
        return "High: a cryptographic signature checks out against a trusted root certificate."
    if "watermark" in positive and wm is not None:
        if wm.p_value is not None:
            one_in = f"about 1 in {_one_in(wm.p_value)}" if wm.p_value > 0 else "vanishingly small"
            return (
                f"High: text without this watermark scores this high by chance {one_in} "
                f"(p = {wm.p_value:.1e}). {wm.false_positive_statement}"
            )
        acc = f" ({wm.bit_accuracy:.0%} block-vote agreement)" if wm.bit_accuracy is not None else ""
        return f"High: the watermark's payload decodes with a valid checksum{acc}."
    if "ledger" in positive and hits:
        return (
            f"Medium: {round(hits[0].similarity * 100)}% similar to a recorded output (an estimate from "
            "fingerprints; similar wording is not the same origin)."
        )
    if any(p.status in ("inconclusive", "error") for p in parts):
        return "Low: at least one check could not decide, so the absence of a mark says little."
    return "The checks ran and found no mark; that is not proof of human authorship."


def _one_in(p: float) -> str:
    n = 1 / p
    if n >= 1e6:
        return f"10^{int(math.log10(n))}"
    return f"{round(n):,}"


def combine(parts: list[Part]) -> Verdict:
    """Any positive part establishes provenance; otherwise any undecided part means cannot tell."""
    applicable = [p for p in parts if p.status != "not_applicable"]
    if any(p.status == "positive" for p in applicable):
        return "established"
    if not applicable or any(p.status in ("inconclusive", "error") for p in applicable):
        return "cannot_tell"
    return "not_established"


def _type_note(kind: ContentKind, media_type: str, filename: str | None, declared: str | None) -> str | None:
    named = None
    if filename:
        ext = PurePath(filename).suffix.lower()
        if ext in _TEXT_EXTENSIONS:
            named = "text"
        elif ext in _IMAGE_EXTENSIONS:
            named = "image"
    if declared:
        d = declared.split(";")[0].strip().lower()
        if d.startswith("text/") or d == "application/json":
            named = named or "text"
        elif d.startswith("image/"):
            named = named or "image"
    if named and kind in ("text", "image") and named != kind:
        what = "a text file" if kind == "text" else f"an image ({media_type})"
        label = filename or declared
        return (
            f"'{label}' looks like {named} by its name or type, but its content is {what}: checked as {kind}."
        )
    return None


def _facts(data: bytes, sniffed: Sniffed, filename: str | None, note: str | None) -> dict[str, Any]:
    """What every verification states about the content itself, whatever the parts found."""
    return {
        "content_type": sniffed.kind,
        "media_type": sniffed.media_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "filename": filename,
        "type_note": note,
        "checked_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
    }


def _blank(
    data: bytes, sniffed: Sniffed, filename: str | None, reason: str, note: str | None
) -> Verification:
    parts = [Part(name="manifest", title="Provenance manifest", status="not_applicable", summary=reason)]
    return Verification(
        verdict="cannot_tell",
        headline="Cannot check this content",
        sentences=[reason[:1].upper() + reason[1:] + "."],
        confidence="None: nothing could be checked.",
        bad_input=reason,
        parts=parts,
        **_facts(data, sniffed, filename, note),
    )


def verify_content(
    ws: Workspace | None,
    data: bytes,
    *,
    filename: str | None = None,
    declared_type: str | None = None,
    sidecar_manifest: bytes | None = None,
    keep: bool = False,
) -> Verification:
    """Check `data` (text or image bytes) and return one verdict with its parts. Never raises.

    Nothing is written unless `keep` is true; then the content and this verification are stored as
    `provenance.verify` evidence. A workspace folder that does not exist is not created."""
    try:
        result = _verify(ws, data, filename, declared_type, sidecar_manifest)
    except Exception as exc:  # a last guard: every part already reports its own failures
        sniffed = Sniffed(kind="unsupported", media_type="application/octet-stream")
        result = _blank(
            data, sniffed, filename, f"the content could not be checked ({type(exc).__name__}: {exc})", None
        )
    if keep and ws is not None:
        result = _keep(ws, data, result)
    return result


def _keep(ws: Workspace, data: bytes, result: Verification) -> Verification:
    from assay.assurance.evidence import record_evidence

    try:
        ws.blobs.put(data)
        ev = record_evidence(
            ws,
            result.model_dump_json(indent=2).encode(),
            kind="provenance.verify",
            system=None,
            name=f"verify-{result.sha256[:12]}.json",
            media_type="application/json",
            summary=f"{result.headline}: {result.filename or result.content_type} ({result.sha256[:12]})",
        )
        return result.model_copy(update={"kept_as": ev.id})
    except Exception as exc:
        return result.model_copy(update={"notes": [*result.notes, f"could not keep the result: {exc}"]})


def _verify(
    ws: Workspace | None, data: bytes, filename: str | None, declared: str | None, sidecar: bytes | None
) -> Verification:
    sniffed = sniff(data)
    note = _type_note(sniffed.kind, sniffed.media_type, filename, declared)
    if len(data) > MAX_VERIFY_BYTES:
        return _blank(
            data,
            sniffed,
            filename,
            f"the content is too big ({len(data):,} bytes; the limit is {MAX_VERIFY_BYTES:,})",
            note,
        )
    if sniffed.kind in ("empty", "unsupported"):
        return _blank(data, sniffed, filename, sniffed.reason, note)
    if sniffed.kind == "text":
        return _verify_text(ws, data, sniffed, filename, note, sidecar)
    return _verify_image(ws, data, sniffed, filename, note)


def _finish(
    data: bytes,
    sniffed: Sniffed,
    filename: str | None,
    note: str | None,
    parts: list[Part],
    cred: Credentials | None,
    wm: WatermarkFinding | None,
    hits: list[LedgerHit],
    *,
    bad_input: str | None = None,
    extra: list[str] | None = None,
) -> Verification:
    verdict = combine(parts)
    sentences = [p.summary for p in parts if p.status != "not_applicable"]
    if extra:
        sentences = extra + sentences
    notes = []
    if verdict != "established":
        notes.append(NOT_PROOF)
    if cred is not None and cred.standard == "text-manifest":
        notes.append(cred.note)
    if note:
        sentences.insert(0, note)
    return Verification(
        verdict=verdict,
        headline=HEADLINES[verdict],
        sentences=sentences,
        confidence=_confidence(parts, cred, wm, hits),
        bad_input=bad_input,
        parts=parts,
        credentials=cred,
        watermark=wm,
        ledger=hits,
        notes=notes,
        **_facts(data, sniffed, filename, note),
    )


def _verify_text(
    ws: Workspace | None,
    data: bytes,
    sniffed: Sniffed,
    filename: str | None,
    note: str | None,
    sidecar: bytes | None,
) -> Verification:
    from assay.provenance import fingerprints as fp
    from assay.provenance.ledger import text_fingerprint

    text = sniffed.text or ""
    mpart, cred, clean, manifest_id = _text_manifest_part(text, ws, sidecar)
    visible = fp.visible_text(clean)
    if not visible:
        parts = [mpart] if cred.verdict != "no_manifest" else []
        parts += [
            Part(
                name="watermark",
                title="Text watermark",
                status="not_applicable",
                summary="There is no visible text to look for a watermark in.",
            ),
            Part(
                name="ledger",
                title="Provenance ledger",
                status="not_applicable",
                summary="There is no visible text to look up.",
            ),
        ]
        v = _finish(
            data,
            sniffed,
            filename,
            note,
            parts,
            cred,
            None,
            [],
            bad_input=None if cred.verdict != "no_manifest" else "no visible text",
        )
        if cred.verdict == "no_manifest":
            v = v.model_copy(
                update={
                    "headline": "No visible text",
                    "sentences": [
                        *([note] if note else []),
                        "The text has only invisible characters (spaces, zero-width characters or "
                        "variation selectors), so there is nothing to check.",
                    ],
                    "confidence": "None: nothing could be checked.",
                }
            )
        return v
    wpart, wm = _text_watermark_part(visible, ws)
    ids = [(manifest_id, "manifest")] if manifest_id is not None else []
    lpart, hits = _ledger_part(ws, text_fingerprint(clean, data), ids)
    return _finish(data, sniffed, filename, note, [mpart, wpart, lpart], cred, wm, hits)


def _check_payload(ws: Workspace | None, part: Part, payload_id: int, print_: Any) -> Part:
    """The image watermark is public, so anyone can copy it: it counts only when the ledger entry it
    names looks like this image."""
    if not _workspace_exists(ws) or print_ is None:
        return part.model_copy(
            update={
                "status": "inconclusive",
                "summary": part.summary + " There is no ledger here to confirm which output it names.",
            }
        )
    from assay.provenance.ledger import IMAGE_MATCH, similarity_to

    try:
        sim = similarity_to(ws, payload_id, print_)  # type: ignore[arg-type]
    except Exception:
        sim = None
    if sim is None:
        return part.model_copy(
            update={
                "status": "inconclusive",
                "summary": part.summary
                + f" This workspace's ledger holds no image #{payload_id}, so it cannot be confirmed.",
            }
        )
    if sim < IMAGE_MATCH - 0.1:
        return part.model_copy(
            update={
                "status": "inconclusive",
                "summary": part.summary + f" But the image does not look like ledger entry #{payload_id} "
                f"({sim:.0%} similar): the mark may have been copied onto another image.",
            }
        )
    return part.model_copy(update={"summary": part.summary + f" It matches ledger entry #{payload_id}."})


def _load_image(data: bytes) -> tuple[Any, str | None]:
    """(decoded image, None) or (None, why it cannot be decoded): Pillow's pixel limit is enforced."""
    try:
        from assay.provenance import image_io

        return image_io.load_image(data).image, None
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return None, f"the image could not be decoded: {reason}"


def _verify_image(
    ws: Workspace | None, data: bytes, sniffed: Sniffed, filename: str | None, note: str | None
) -> Verification:
    from assay.provenance.ledger import image_fingerprint

    mpart, cred = _c2pa_part(data, sniffed.media_type, ws)
    image, problem = _load_image(data)
    if image is None:
        wpart = Part(
            name="watermark",
            title="Invisible image watermark",
            status="error",
            summary=f"Not checked: {problem}.",
        )
        lpart = Part(
            name="ledger", title="Provenance ledger", status="error", summary=f"Not checked: {problem}."
        )
        return _finish(
            data, sniffed, filename, note, [mpart, wpart, lpart], cred, None, [], bad_input=problem
        )
    wpart, wm = _image_watermark_part(image, ws)
    try:
        print_ = image_fingerprint(data, image)
    except Exception:
        print_ = None
    ids = [(wm.payload_id, "watermark_payload")] if wm is not None and wm.payload_id is not None else []
    if cred.ledger_id is not None and cred.verdict in ("trusted", "valid_untrusted"):
        ids.append((cred.ledger_id, "manifest"))
    lpart, hits = _ledger_part(ws, print_, ids)
    if wpart.status == "positive" and wm is not None and wm.payload_id is not None:
        wpart = _check_payload(ws, wpart, wm.payload_id, print_)
    return _finish(data, sniffed, filename, note, [mpart, wpart, lpart], cred, wm, hits)
