"""Marking generated outputs: watermark, sign and record each one, so it can be verified later.

- Text the bundled model generates gets the keyed watermark in its logits (`generate_marked_text`).
- Text from a model whose logits we cannot reach (a remote API) gets a signed text manifest embedded
  as invisible characters (`mark_text`); it has no hard binding and is lost if they are stripped.
- Images get a C2PA manifest and an invisible watermark carrying their ledger id (`mark_image`).

Every output is recorded in the ledger and as `provenance.mark` evidence.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from assay import __version__
from assay.workspace import Workspace

DEFAULT_GENERATOR = f"Assay {__version__}"
TRAINED = "trainedAlgorithmicMedia"


class MarkResult(BaseModel):
    """One marked output and where its records are."""

    ledger_id: int
    kind: Literal["text", "image"]
    media_type: str
    method: str
    sha256: str
    key_id: str = ""
    evidence_id: str | None = None
    output_path: str | None = None
    text: str | None = None
    prompt: str | None = None
    notes: list[str] = []


class MarkError(ValueError):
    """The input cannot be marked (not text or a supported image, no keys…); the message says why."""


def _evidence(
    ws: Workspace, content: bytes, *, system: str | None, name: str, media_type: str, summary: str
) -> str:
    from assay.assurance.evidence import record_evidence

    record = {"name": name, "summary": summary}
    ev = record_evidence(
        ws,
        content,
        kind="provenance.mark",
        system=system,
        name=name,
        media_type=media_type,
        summary=summary or json.dumps(record),
    )
    return ev.id


def _set_evidence(ws: Workspace, ledger_id: int, evidence_id: str) -> None:
    from assay.store.ledger import update_entry

    with ws.db.session() as s:
        update_entry(s, ledger_id, {"evidence_id": evidence_id})


def mark_text(
    ws: Workspace,
    text: str,
    *,
    system: str | None = None,
    system_version: str = "",
    model: str = "unknown model",
    generator: str = DEFAULT_GENERATOR,
    sidecar: bool = False,
) -> tuple[MarkResult, str, bytes | None]:
    """Sign a text we cannot re-generate and record it: (result, marked text, sidecar manifest or None).

    With `sidecar` the text is left as it is and the manifest is returned for a file beside it."""
    from assay.provenance import ledger
    from assay.provenance.c2pa_keys import load_signer
    from assay.provenance.text_manifest import NO_HARD_BINDING, extract, sign_text

    if not sidecar:
        found, _, problem = extract(text)
        if found is not None or problem is not None:
            raise MarkError("the text already carries an embedded C2PA manifest; mark the text without it")
    signer = load_signer(ws)
    ledger_id = ledger.reserve_entry(ws, kind="text", media_type="text/plain", system=system)
    signed = sign_text(
        text,
        signer,
        generator=generator,
        model=model,
        system=system,
        ledger_id=ledger_id,
        sidecar=sidecar,
    )
    marked, manifest = signed.text, signed.manifest
    raw = marked.encode("utf-8")
    method = "text-manifest (sidecar)" if sidecar else "text-manifest (embedded)"
    entry = ledger.record_mark(
        ws,
        ledger.text_fingerprint(marked, raw),
        media_type="text/plain",
        size=len(raw),
        system=system,
        system_version=system_version,
        model=model,
        method=method,
        key_id=signer.fingerprint_sha256[:16],
        params={"signer": signer.subject},
        meta={"generator": generator},
        ledger_id=ledger_id,
    )
    ev = _evidence(
        ws,
        raw,
        system=system,
        name=f"mark-{entry.id}.txt",
        media_type="text/plain",
        summary=f"text manifest for {entry.label()} ({model})",
    )
    _set_evidence(ws, entry.id, ev)
    result = MarkResult(
        ledger_id=entry.id,
        kind="text",
        media_type="text/plain",
        method=method,
        sha256=entry.sha256,
        key_id=entry.key_id,
        evidence_id=ev,
        text=marked,
        notes=[NO_HARD_BINDING],
    )
    return result, marked, (manifest if sidecar else None)


def generate_marked_text(
    ws: Workspace,
    prompts: Sequence[str],
    *,
    params: Any = None,
    key_id: str | None = None,
    system: str | None = None,
    system_version: str = "",
    system_prompt: str | None = None,
    max_new_tokens: int = 120,
    temperature: float = 0.7,
    seed: int | None = 0,
    model: Any = None,
) -> list[MarkResult]:
    """Generate answers with the bundled model and the text watermark, and record each one."""
    from assay.evals.bundled.engine import MODEL_NAME
    from assay.provenance import ledger
    from assay.provenance.keys import KeyNotFound, load_text_key
    from assay.provenance.text_watermark import WatermarkParams, generate_watermarked

    try:
        key = load_text_key(ws, key_id)
    except KeyNotFound as exc:
        raise MarkError(str(exc)) from exc
    params = (params or WatermarkParams()).model_copy(update={"key_id": key.key_id})
    chats: list[Any] = [
        ([{"role": "system", "content": system_prompt}] if system_prompt else [])
        + [{"role": "user", "content": p}]
        for p in prompts
    ]
    gens = generate_watermarked(
        chats, params, key, max_new_tokens, model=model, temperature=temperature, seed=seed
    )
    results: list[MarkResult] = []
    for prompt, gen in zip(prompts, gens, strict=True):
        raw = gen.text.encode("utf-8")
        entry = ledger.record_mark(
            ws,
            ledger.text_fingerprint(gen.text, raw),
            media_type="text/plain",
            size=len(raw),
            system=system,
            system_version=system_version,
            model=MODEL_NAME,
            method="kgw-watermark",
            key_id=key.key_id,
            params=params.model_dump(mode="json"),
            meta={"prompt": prompt, "temperature": temperature, "output_tokens": gen.output_tokens},
        )
        ev = _evidence(
            ws,
            raw,
            system=system,
            name=f"mark-{entry.id}.txt",
            media_type="text/plain",
            summary=f"watermarked answer, {entry.label()} (key {key.key_id})",
        )
        _set_evidence(ws, entry.id, ev)
        results.append(
            MarkResult(
                ledger_id=entry.id,
                kind="text",
                media_type="text/plain",
                method="kgw-watermark",
                sha256=entry.sha256,
                key_id=key.key_id,
                evidence_id=ev,
                text=gen.text,
                prompt=prompt,
            )
        )
    return results


def _encode(image: Any, media_type: str) -> bytes:
    buf = io.BytesIO()
    if media_type == "image/png":
        image.save(buf, format="PNG")
    elif media_type == "image/jpeg":
        image.convert("RGB").save(buf, format="JPEG", quality=95)
    else:
        image.save(buf, format="WEBP", quality=95)
    return buf.getvalue()


def mark_image(
    ws: Workspace,
    data: bytes,
    *,
    system: str | None = None,
    system_version: str = "",
    model: str = "unknown model",
    generator: str = DEFAULT_GENERATOR,
    filename: str | None = None,
    watermark: str | None = None,
) -> tuple[MarkResult, bytes]:
    """Watermark (ledger id in the pixels), C2PA-sign and record an image: (result, signed bytes).

    `watermark` names the image watermark method (`image_watermark.METHODS`; default `syncTile`).
    """
    from assay.provenance import ledger
    from assay.provenance.c2pa_keys import load_signer
    from assay.provenance.image_c2pa import sign_image
    from assay.provenance.image_io import ImageRejected, load_image
    from assay.provenance.image_watermark import DEFAULT_METHOD, METHODS, embed_watermark

    method = watermark or DEFAULT_METHOD
    if method not in METHODS:
        raise MarkError(f"unknown image watermark {method!r}; choose one of {', '.join(METHODS)}")
    try:
        loaded = load_image(data, filename)
    except ImageRejected as exc:
        raise MarkError(exc.reason) from exc
    signer = load_signer(ws)
    ledger_id = ledger.reserve_entry(ws, kind="image", media_type=loaded.media_type, system=system)
    marked = embed_watermark(loaded.image, ledger_id, method)  # type: ignore[arg-type]
    pixels = _encode(marked, loaded.media_type)
    signed = sign_image(
        pixels,
        loaded.media_type,
        signer=signer,
        generator_name=generator,
        model_name=model,
        digital_source_type=TRAINED,
        ledger_id=ledger_id,
    )
    signed_bytes = signed if isinstance(signed, bytes | bytearray) else getattr(signed, "data", signed)
    signed_bytes = bytes(signed_bytes)
    final = load_image(signed_bytes).image
    entry = ledger.record_mark(
        ws,
        ledger.image_fingerprint(signed_bytes, final),
        media_type=loaded.media_type,
        size=len(signed_bytes),
        system=system,
        system_version=system_version,
        model=model,
        method=f"c2pa+{method}",
        key_id=signer.fingerprint_sha256[:16],
        params={"watermark": method, "payload_id": ledger_id, "signer": signer.subject},
        meta={"generator": generator, "filename": filename},
        ledger_id=ledger_id,
    )
    ev = _evidence(
        ws,
        signed_bytes,
        system=system,
        name=f"mark-{entry.id}{Path(filename or 'x.png').suffix}",
        media_type=loaded.media_type,
        summary=f"C2PA-signed, watermarked image, {entry.label()}",
    )
    _set_evidence(ws, entry.id, ev)
    return MarkResult(
        ledger_id=entry.id,
        kind="image",
        media_type=loaded.media_type,
        method=f"c2pa+{method}",
        sha256=entry.sha256,
        key_id=entry.key_id,
        evidence_id=ev,
    ), signed_bytes


def marked_path(path: Path) -> Path:
    """`answer.txt` -> `answer.marked.txt`."""
    return path.with_name(f"{path.stem}.marked{path.suffix}")


def sidecar_path(path: Path) -> Path:
    """`answer.marked.txt` -> `answer.marked.c2pa`: C2PA's sidecar convention (same name, `.c2pa`)."""
    from assay.provenance.text_manifest import SIDECAR_SUFFIX

    return path.with_suffix(SIDECAR_SUFFIX)


def mark_file(
    ws: Workspace,
    path: Path,
    *,
    system: str | None = None,
    system_version: str = "",
    model: str = "unknown model",
    generator: str = DEFAULT_GENERATOR,
    sidecar: bool = False,
    image_watermark: str | None = None,
) -> MarkResult:
    """Mark a text or image file by its content and write `FILE.marked.ext` atomically beside it."""
    from assay.provenance.verify import sniff
    from assay.store.blobs import atomic_write

    data = path.read_bytes()
    kind = sniff(data)
    out = marked_path(path)
    if kind.kind == "image":
        result, signed = mark_image(
            ws,
            data,
            system=system,
            system_version=system_version,
            model=model,
            generator=generator,
            filename=path.name,
            watermark=image_watermark,
        )
        atomic_write(out, signed)
        return result.model_copy(update={"output_path": str(out)})
    if kind.kind == "text":
        from assay.provenance.fingerprints import visible_text

        if not visible_text(kind.text or ""):
            raise MarkError(f"{path} has no visible text to mark")
        result, marked, manifest = mark_text(
            ws,
            kind.text or "",
            system=system,
            system_version=system_version,
            model=model,
            generator=generator,
            sidecar=sidecar,
        )
        atomic_write(out, marked.encode("utf-8"))
        if manifest is not None:
            atomic_write(sidecar_path(out), manifest)
        return result.model_copy(update={"output_path": str(out)})
    raise MarkError(f"{path}: {kind.reason or 'not text or a supported image'}")
