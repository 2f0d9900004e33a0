"""Verification for everyone: one verdict on a piece of content, from every check Assay can run.

Three independent parts look at the content: a provenance manifest (C2PA for images, the signed text
manifest for text), an invisible watermark (the keyed text watermark, the image watermark), and the
ledger of outputs this workspace marked. Each part reports what it found in plain words and never
raises; `combine` turns them into one of four verdicts:

- *AI provenance established*: a mark in the content itself ties it to an AI generator (a trusted
  manifest that says so, or a detected watermark);
- *looks like a recorded output* (`ledger_match`): no mark in the content, but the ledger holds an output
  that is the same or similar. This is never "established": the untouched original a marked copy was
  made from, or the source text of a sidecar mark, matches the ledger too, and a person's photo must not
  be called AI-made because a marked copy of it exists;
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

from assay.provenance.chain import ChainLink, describe
from assay.workspace import Workspace

MAX_VERIFY_BYTES = 20 * 1000 * 1000
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")

Verdict = Literal["established", "ledger_match", "not_established", "cannot_tell"]
Status = Literal["positive", "match", "negative", "inconclusive", "error", "not_applicable"]
ContentKind = Literal["text", "image", "unsupported", "empty"]

FINDINGS = "findings"  # the catalogue (assay/web/i18n/findings.json) every sentence below comes from


class Message(BaseModel):
    """One finding as a string id and its values, so that a page can say it in the reader's language."""

    key: str
    args: dict[str, str | int | float] = {}

    def text(self, lang: str = "en") -> str:
        from assay.web.i18n import say

        return say(FINDINGS, self.key, self.args, lang)


def _m(key: str, **args: str | int | float) -> Message:
    return Message(key=key, args=args)


def _en(messages: list[Message]) -> str:
    return " ".join(m.text() for m in messages)


HEADLINES: dict[Verdict, str] = {
    "established": _m("headline_established").text(),
    "ledger_match": _m("headline_ledger_match").text(),
    "not_established": _m("headline_not_established").text(),
    "cannot_tell": _m("headline_cannot_tell").text(),
}
NOT_PROOF = _m("note_not_proof").text()

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
    chain: list[ChainLink] = Field([], description="earlier manifests kept as parentOf ingredients")
    note: str = ""


class TextSpanFinding(BaseModel):
    """Where a watermarked passage sits inside a longer text (the windowed search of `text_span.py`)."""

    char_start: int = Field(
        description="[char_start, char_end) of the visible text checked (invisible characters removed, "
        "outer whitespace stripped)"
    )
    char_end: int
    token_start: int = Field(description="[token_start, token_end) in the bundled tokenizer's tokens")
    token_end: int
    z_score: float = Field(
        description="z inside the span (descriptive: its edges are estimated from the data)"
    )
    p_adjusted: float = Field(description="Bonferroni-adjusted p-value of the window that passed")
    n_windows: int = Field(description="windows tested; each at alpha / n_windows")
    alpha: float = Field(description="family-wise false-positive rate of the windowed search")
    excerpt: str = Field(description="the span's first characters")


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
    false_positive_messages: list[Message] = Field(
        default=[], description="how often unmarked content is flagged, as string ids, for translation"
    )
    highlight: list[tuple[str, bool]] = Field(
        default=[], description="(token text, green?) for up to 400 tokens of a text, for display"
    )
    highlight_start: int = Field(
        0, description="token index of highlight[0]: 0, or just before a marked span found further on"
    )
    detected_by: Literal["whole text", "span", "both"] | None = Field(
        None, description="text watermark: the whole-text z, the windowed search for a passage, or both"
    )
    span: TextSpanFinding | None = Field(None, description="text watermark: where the marked passage is")


class LedgerHit(BaseModel):
    """A ledger entry the content resembles or names. A resemblance is not a mark: see `Verification`."""

    ledger_id: int
    match: Literal["exact", "same_content", "similar", "watermark_payload", "manifest"]
    similarity: float
    system: str | None
    system_version: str
    model: str
    marked_at: dt.datetime
    method: str
    sentence: str
    message: Message | None = None


class Part(BaseModel):
    """One check and what it found; `status` is how it votes ("match" is the ledger's resemblance, which
    is never a mark)."""

    name: Literal["manifest", "watermark", "ledger"]
    title: str
    status: Status
    summary: str
    messages: list[Message] = Field(default=[], description="`summary` as string ids, for translation")


def _part(name: Any, title: str, status: Status, *messages: Message) -> Part:
    return Part(name=name, title=title, status=status, summary=_en(list(messages)), messages=list(messages))


class Verification(BaseModel):
    """The answer `assay verify`, the API and the /verify page give."""

    verdict: Verdict
    mark_found: bool = Field(
        False,
        description="True only when the content itself carries a mark (a detected watermark or a trusted "
        "manifest saying AI); a ledger resemblance alone is `ledger_match` with no mark found",
    )
    headline: str
    sentences: list[str]
    confidence: str
    content_type: ContentKind
    media_type: str
    size: int
    sha256: str
    filename: str | None = None
    type_note: str | None = Field(None, description="when the name or declared type disagrees with the bytes")
    type_note_message: Message | None = None
    bad_input: str | None = Field(None, description="why the content could not be checked properly")
    parts: list[Part]
    credentials: Credentials | None = None
    watermark: WatermarkFinding | None = None
    ledger: list[LedgerHit] = []
    notes: list[str] = []
    headline_message: Message | None = None
    sentence_messages: list[list[Message]] = Field(
        default=[], description="each of `sentences` as string ids, for translation"
    )
    confidence_messages: list[Message] = []
    note_messages: list[Message] = []
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


def _chain_messages(chain: list[Any]) -> list[Message]:
    """One sentence per earlier version a re-marked file keeps as its parent ingredient."""
    return [_m("chain_earlier", i=i, desc=describe(link)) for i, link in enumerate(chain, 1)]


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
        chain=res.chain,
        note=NO_HARD_BINDING,
    )
    title = "Text manifest"
    if res.verdict == "no_manifest":
        part = _part(
            "manifest",
            title,
            "negative",
            _m("text_manifest_none" if sidecar is not None else "text_manifest_none_no_sidecar"),
        )
        return part, cred, res.clean_text, None
    elif res.verdict == "invalid":
        part = _part(
            "manifest", title, "inconclusive", _m("text_manifest_invalid", problems="; ".join(res.problems))
        )
    else:
        key = "text_manifest_trusted" if res.verdict == "trusted" else "text_manifest_untrusted"
        status: Status = "positive" if res.verdict == "trusted" and says_ai else "inconclusive"
        part = _part(
            "manifest",
            title,
            status,
            _m(key, signer=res.signer or "?", generator=res.generator or "—", model=res.model or "—"),
            *_chain_messages(res.chain),
            *([_m("embedded_only")] if res.where == "embedded" else []),
        )
    ledger_id = res.ledger_id if res.verdict in ("trusted", "valid_untrusted") else None
    return part, cred, res.clean_text, ledger_id


def _c2pa_part(data: bytes, media_type: str, ws: Workspace | None) -> tuple[Part, Credentials]:
    title = "Content Credentials (C2PA)"
    try:
        from assay.provenance.image_c2pa import verify_c2pa

        v = verify_c2pa(data, media_type, _trust_roots(ws))
    except Exception as exc:
        failed = _m("c2pa_failed", error=f"{type(exc).__name__}: {exc}")
        return (
            _part("manifest", title, "error", failed),
            Credentials(standard="c2pa", verdict="error", problems=[failed.text()]),
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
        chain=v.chain,
    )
    earlier = _chain_messages(v.chain)
    if verdict == "no_manifest":
        return _part("manifest", title, "negative", _m("c2pa_none")), cred
    if verdict == "invalid":
        why = "; ".join(problems[:3]) or "the manifest does not match the file"
        return _part("manifest", title, "inconclusive", _m("c2pa_invalid", problems=why)), cred
    if verdict in ("trusted", "valid_untrusted"):
        trust = "trusted" if verdict == "trusted" else "untrusted"
        claim = "ai" if says_ai else "not_ai"
        status: Status = "positive" if verdict == "trusted" and says_ai else "inconclusive"
        if verdict == "trusted" and not says_ai:
            status = "negative"
        key = f"c2pa_{trust}_{claim}"
        return _part("manifest", title, status, _m(key, signer=cred.signer or "?"), *earlier), cred
    return _part("manifest", title, "error", _m("c2pa_unexpected", verdict=repr(verdict))), cred


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
        return _part("watermark", title, "inconclusive", _m("wm_no_workspace")), None
    try:
        from assay.provenance.keys import list_keys, load_text_key
        from assay.provenance.text_watermark import detect_text, load_bundled_tokenizer, load_calibration

        infos = list_keys(ws)  # type: ignore[arg-type]
        if not infos:
            return _part("watermark", title, "inconclusive", _m("wm_no_key")), None
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
        return _part("watermark", title, "error", _m("wm_failed", error=f"{type(exc).__name__}: {exc}")), None
    assert best is not None
    search, span = best.span_search, None
    if search is not None and search.span is not None:
        sp = search.span
        span = TextSpanFinding(
            char_start=sp.char_start,
            char_end=sp.char_end,
            token_start=sp.token_start,
            token_end=sp.token_end,
            z_score=sp.z_score,
            p_adjusted=search.p_adjusted or 0.0,
            n_windows=search.n_windows,
            alpha=search.alpha,
            excerpt=text[sp.char_start : min(sp.char_end, sp.char_start + 120)],
        )
    # Show the marked span on the page: start the 400 highlighted tokens just before it.
    h0 = max(0, span.token_start - 40) if span is not None and span.token_end > 400 else 0
    by_span_only = best.detected_by == "span" and span is not None
    finding = WatermarkFinding(
        method="keyed green-list (KGW) text watermark",
        detected=None if best.verdict == "too short to tell" else best.watermarked,
        key_id=best.key_id,
        z_score=best.z_score,
        p_value=span.p_adjusted if by_span_only and span is not None else best.p_value,
        z_threshold=best.z_threshold,
        tokens_scored=best.n_scored,
        green_fraction=best.green_fraction,
        false_positive_statement=best.fpr_statement
        + (
            f" ({tried} key/setting combinations tried: the chance of a false alarm grows with each)"
            if tried > 1
            else ""
        ),
        highlight=list(zip(best.tokens[h0 : h0 + 400], best.green_mask[h0 : h0 + 400], strict=False)),
        highlight_start=h0,
        detected_by=best.detected_by,
        span=span,
        false_positive_messages=[
            _m(
                f"fp_text_{best.threshold_source}",
                threshold=best.z_threshold,
                rate=best.false_positive_rate,
            ),
            *(
                [_m("fp_text_span", windows=search.n_windows, alpha=search.alpha)]
                if search is not None and search.n_windows
                else []
            ),
            *([_m("fp_tries", tried=tried)] if tried > 1 else []),
        ],
    )
    if best.verdict == "too short to tell":
        short = _m("wm_too_short", n=best.n_scored, need=best.min_scored_tokens)
        return _part("watermark", title, "inconclusive", short), finding
    if by_span_only and span is not None:
        found = _m(
            "wm_text_span_found",
            key_id=best.key_id,
            start=span.char_start,
            end=span.char_end,
            z_span=span.z_score,
            p=span.p_adjusted,
            windows=span.n_windows,
            z=best.z_score,
        )
        return _part("watermark", title, "positive", found), finding
    if best.watermarked:
        found = _m(
            "wm_text_found",
            key_id=best.key_id,
            green=best.n_green,
            n=best.n_scored,
            z=best.z_score,
            p=best.p_value,
        )
        where = [_m("wm_text_span_where", start=span.char_start, end=span.char_end)] if span else []
        return _part("watermark", title, "positive", found, *where), finding
    absent = _m("wm_text_absent", z=best.z_score, threshold=best.z_threshold)
    return _part("watermark", title, "negative", absent), finding


def _image_watermark_part(image: Any, ws: Workspace | None) -> tuple[Part, WatermarkFinding | None]:
    title = "Invisible image watermark"
    try:
        from assay.provenance.image_watermark import detect_watermark

        r = detect_watermark(image)
    except Exception as exc:
        return _part("watermark", title, "error", _m("wm_failed", error=f"{type(exc).__name__}: {exc}")), None
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
        false_positive_messages=[
            _m("fp_image_sync", threshold=r.threshold, z=r.sync_z or 0.0)
            if r.method == "syncTile"
            else _m("fp_image", threshold=r.threshold, agreement=r.bit_agreement or 0.0)
        ],
    )
    if detected:
        found = _m("wm_image_found_id", ledger_id=payload) if payload is not None else _m("wm_image_found")
        return _part("watermark", title, "positive", found), finding
    return _part("watermark", title, "negative", _m("wm_image_absent")), finding


_HIT_KEYS = {
    "exact": "hit_exact",
    "similar": "hit_similar",
    "watermark_payload": "hit_named_by_watermark",
    "manifest": "hit_named_by_manifest",
}


def _hit(m: Any, match: str | None = None) -> LedgerHit:
    """A ledger entry as a finding; "similar" says "looks like", never "matches", on purpose."""
    e = m.entry if hasattr(m, "entry") else m
    how = match or m.match
    similarity = getattr(m, "similarity", 1.0)
    if how == "same_content":
        key = "hit_same_text" if e.kind == "text" else "hit_same_pixels"
    else:
        key = _HIT_KEYS[how]
    system = (e.system or "?") + (f" v{e.system_version}" if e.system_version else "")
    message = _m(
        key,
        ledger_id=e.id,
        system=system,
        when=e.created_at.strftime("%Y-%m-%d"),
        percent=round(100 * similarity),
    )
    return LedgerHit(
        ledger_id=e.id,
        match=how,
        similarity=similarity,
        system=e.system,
        system_version=e.system_version,
        model=e.model,
        marked_at=e.created_at,
        method=e.method,
        sentence=message.text(),
        message=message,
    )


def _ledger_part(
    ws: Workspace | None, print_: Any, extra_ids: list[tuple[int, str]]
) -> tuple[Part, list[LedgerHit]]:
    title = "Provenance ledger"
    if not _workspace_exists(ws):
        return _part("ledger", title, "inconclusive", _m("ledger_no_workspace")), []
    try:
        from assay.provenance.ledger import count_entries, get_entry, lookup_fingerprint

        total = count_entries(ws)  # type: ignore[arg-type]
        hits = [_hit(m) for m in lookup_fingerprint(ws, print_)] if print_ is not None else []  # type: ignore[arg-type]
        for entry_id, how in extra_ids:
            if any(h.ledger_id == entry_id for h in hits):
                continue
            entry = get_entry(ws, entry_id)  # type: ignore[arg-type]
            if entry is not None:
                hits.append(_hit(entry, how))
    except Exception as exc:
        failed = _m("ledger_failed", error=f"{type(exc).__name__}: {exc}")
        return _part("ledger", title, "error", failed), []
    direct = [h for h in hits if h.match in ("exact", "same_content", "similar")]
    if direct:  # a resemblance, not a mark: it votes "match", which can never establish provenance
        assert direct[0].message is not None
        return _part("ledger", title, "match", direct[0].message), hits
    if total == 0:
        return _part("ledger", title, "negative", _m("ledger_empty")), hits
    return _part("ledger", title, "negative", _m("ledger_no_match", total=total)), hits


# --- combining ----------------------------------------------------------------------------------------


def _confidence(
    parts: list[Part],
    cred: Credentials | None,
    wm: WatermarkFinding | None,
    hits: list[LedgerHit],
    kind: ContentKind,
) -> Message | list[Message]:
    positive = {p.name for p in parts if p.status == "positive"}
    direct = [h for h in hits if h.match in ("exact", "same_content", "similar")]
    if positive and direct and direct[0].match in ("exact", "same_content"):
        return _m("confidence_exact")
    if "manifest" in positive and cred is not None:
        return _m("confidence_manifest")
    if "watermark" in positive and wm is not None:
        if wm.p_value is not None:
            if wm.p_value > 0:
                chance = _m("confidence_text_watermark", one_in=_one_in(wm.p_value), p=wm.p_value)
            else:
                chance = _m("confidence_text_watermark_certain", p=wm.p_value)
            return [chance, *wm.false_positive_messages]
        return _m("confidence_image_watermark", agreement=wm.bit_accuracy or 0.0)
    if any(p.status == "match" for p in parts) and direct:
        from assay.provenance.ledger import IMAGE_CALIBRATION, IMAGE_MATCH, TEXT_MATCH

        top = direct[0]
        if top.match in ("exact", "same_content"):
            return _m("confidence_ledger_exact")
        percent = round(top.similarity * 100)
        if kind == "image":
            return _m(
                "confidence_similar_image",
                percent=percent,
                threshold=round(IMAGE_MATCH * 100),
                pairs=IMAGE_CALIBRATION["pairs"],
                false_matches=IMAGE_CALIBRATION["false_matches"],
            )
        return _m("confidence_similar_text", percent=percent, threshold=round(TEXT_MATCH * 100))
    if any(p.status in ("inconclusive", "error") for p in parts):
        return _m("confidence_low")
    return _m("confidence_none_found")


def _one_in(p: float) -> str:
    n = 1 / p
    if n >= 1e6:
        return f"10^{int(math.log10(n))}"
    return f"{round(n):,}"


def combine(parts: list[Part]) -> Verdict:
    """A mark (a positive part) establishes provenance; else a ledger resemblance is its own verdict;
    else any undecided part means cannot tell."""
    applicable = [p for p in parts if p.status != "not_applicable"]
    if any(p.status == "positive" for p in applicable):
        return "established"
    if any(p.status == "match" for p in applicable):
        return "ledger_match"
    if not applicable or any(p.status in ("inconclusive", "error") for p in applicable):
        return "cannot_tell"
    return "not_established"


def _type_note(
    kind: ContentKind, media_type: str, filename: str | None, declared: str | None
) -> Message | None:
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
        label = filename or declared or ""
        if kind == "text":
            return _m("type_note_text", label=label)
        return _m("type_note_image", label=label, media_type=media_type)
    return None


def _facts(data: bytes, sniffed: Sniffed, filename: str | None, note: Message | None) -> dict[str, Any]:
    """What every verification states about the content itself, whatever the parts found."""
    return {
        "content_type": sniffed.kind,
        "media_type": sniffed.media_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "filename": filename,
        "type_note": note.text() if note else None,
        "type_note_message": note,
        "checked_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
    }


def _blank(
    data: bytes, sniffed: Sniffed, filename: str | None, reason: str, note: Message | None
) -> Verification:
    parts = [Part(name="manifest", title="Provenance manifest", status="not_applicable", summary=reason)]
    said = _m("cannot_check", reason=reason)
    headline, confidence = _m("headline_cannot_check"), _m("confidence_nothing")
    return Verification(
        verdict="cannot_tell",
        headline=headline.text(),
        sentences=[said.text()],
        confidence=confidence.text(),
        bad_input=reason,
        parts=parts,
        headline_message=headline,
        sentence_messages=[[said]],
        confidence_messages=[confidence],
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
    note: Message | None,
    parts: list[Part],
    cred: Credentials | None,
    wm: WatermarkFinding | None,
    hits: list[LedgerHit],
    *,
    bad_input: str | None = None,
) -> Verification:
    verdict = combine(parts)
    said = [p.messages for p in parts if p.status != "not_applicable"]
    if verdict == "ledger_match":
        said.insert(0, [_m("ledger_only")])
    if note:
        said.insert(0, [note])
    notes = []
    if verdict != "established":
        notes.append(_m("note_not_proof"))
    if cred is not None and cred.standard == "text-manifest":
        notes.append(_m("note_no_hard_binding"))
    headline = _m(f"headline_{verdict}")
    found = _confidence(parts, cred, wm, hits, sniffed.kind)
    confidence = found if isinstance(found, list) else [found]
    return Verification(
        verdict=verdict,
        mark_found=verdict == "established",
        headline=headline.text(),
        sentences=[_en(ms) for ms in said],
        confidence=_en(confidence),
        bad_input=bad_input,
        parts=parts,
        credentials=cred,
        watermark=wm,
        ledger=hits,
        notes=[m.text() for m in notes],
        headline_message=headline,
        sentence_messages=said,
        confidence_messages=confidence,
        note_messages=notes,
        **_facts(data, sniffed, filename, note),
    )


def _verify_text(
    ws: Workspace | None,
    data: bytes,
    sniffed: Sniffed,
    filename: str | None,
    note: Message | None,
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
            _part("watermark", "Text watermark", "not_applicable", _m("no_visible_watermark")),
            _part("ledger", "Provenance ledger", "not_applicable", _m("no_visible_ledger")),
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
            said = [*([[note]] if note else []), [_m("only_invisible")]]
            headline, confidence = _m("headline_no_visible_text"), _m("confidence_nothing")
            v = v.model_copy(
                update={
                    "headline": headline.text(),
                    "sentences": [_en(ms) for ms in said],
                    "confidence": confidence.text(),
                    "headline_message": headline,
                    "sentence_messages": said,
                    "confidence_messages": [confidence],
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

    def said(status: Status, more: Message) -> Part:
        return _part(part.name, part.title, status, *part.messages, more)

    if not _workspace_exists(ws) or print_ is None:
        return said("inconclusive", _m("payload_no_ledger"))
    from assay.provenance.ledger import IMAGE_MATCH, similarity_to

    try:
        sim = similarity_to(ws, payload_id, print_)  # type: ignore[arg-type]
    except Exception:
        sim = None
    if sim is None:
        return said("inconclusive", _m("payload_unknown", ledger_id=payload_id))
    if sim < IMAGE_MATCH - 0.1:
        return said("inconclusive", _m("payload_mismatch", ledger_id=payload_id, similarity=sim))
    return said(part.status, _m("payload_confirmed", ledger_id=payload_id))


def _load_image(data: bytes) -> tuple[Any, str | None]:
    """(decoded image, None) or (None, why it cannot be decoded): Pillow's pixel limit is enforced."""
    try:
        from assay.provenance import image_io

        return image_io.load_image(data).image, None
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return None, f"the image could not be decoded: {reason}"


def _verify_image(
    ws: Workspace | None, data: bytes, sniffed: Sniffed, filename: str | None, note: Message | None
) -> Verification:
    from assay.provenance.ledger import image_fingerprint

    mpart, cred = _c2pa_part(data, sniffed.media_type, ws)
    image, problem = _load_image(data)
    if image is None:
        unchecked = _m("not_checked", problem=problem or "")
        wpart = _part("watermark", "Invisible image watermark", "error", unchecked)
        # the same cause, said once: the ledger lookup needs the decoded pixels too
        lpart = _part("ledger", "Provenance ledger", "error", _m("ledger_not_looked_up"))
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
