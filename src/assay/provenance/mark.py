"""Marking generated outputs: watermark, sign and record each one, so it can be verified later.

- Text the bundled model generates gets the keyed watermark in its logits (`generate_marked_text`).
- Text from a model whose logits we cannot reach (a remote API) gets a signed C2PA manifest
  (`mark_text`). By default it is a sidecar (`.c2pa` beside the text), which the reference C2PA SDK
  (c2pa-python / c2pa-rs) reads as valid; the embedded form (invisible characters) is verifiable by
  Assay only, because the SDK cannot locate a manifest inside plain text.
- Images get a C2PA manifest and an invisible watermark carrying their ledger id (`mark_image`). An
  image that is already signed keeps its manifest as the new one's `parentOf` ingredient.

Every output is recorded in the ledger and as `provenance.mark` evidence. The model is never guessed:
it is given, or (re-marking) taken from the earlier manifest.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay import __version__
from assay.workspace import Workspace

DEFAULT_GENERATOR = f"Assay {__version__}"
TRAINED = "trainedAlgorithmicMedia"
EMBEDDED_ONLY = (
    "The manifest is embedded as invisible characters: Assay-verifiable only. The reference C2PA SDK "
    "(c2pa-python) cannot locate a manifest inside plain text, so other C2PA readers will not show it; "
    "publish the sidecar form (the default) where others must check it."
)
KEPT_NOTE = "It was signed before ({parent}): that manifest is kept as the parent ingredient."
SIDECAR_NOTE = (
    "The manifest is in the sidecar {name}: publish it beside the text; C2PA readers (the reference "
    "SDK included) check the text against it."
)


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
    seed: int | None = None
    sidecar_path: str | None = None
    parent: str | None = Field(None, description="the earlier manifest kept as parentOf ingredient")
    notes: list[str] = []


class MarkError(ValueError):
    """The input cannot be marked (not text or a supported image, no keys…); the message says why."""


class OutputExists(MarkError):
    """An output file is already there and overwriting it was not asked for."""


def _model_name(model: str | None, earlier: str | None = None) -> str:
    """The model to sign: the one given, else the earlier manifest's; never a made-up 'unknown model'."""
    name = (model or "").strip() or (earlier or "").strip()
    if not name:
        raise MarkError(
            "name the model that produced the content (--model MODEL): it is signed into the manifest "
            "and recorded in the ledger"
        )
    return name


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


def _describe_parent(earlier: Any) -> str | None:
    """A few words on the manifest a re-mark keeps (its generator, model and ledger id)."""
    if earlier is None:
        return None
    who = earlier.generator or "an unnamed generator"
    ledger_id = f", ledger #{earlier.ledger_id}" if earlier.ledger_id is not None else ""
    return f"{who}, model {earlier.model or 'not named'}{ledger_id}"


def _text_parent_claims(text: str, parent: bytes) -> Any:
    """What the text's earlier manifest store says; a store that cannot be parsed, or that no longer
    matches the text, is refused."""
    from assay.provenance.c2pa_manifest import read_store, verdict_from_store
    from assay.provenance.text_manifest import MEDIA_TYPE

    try:
        read = read_store(MEDIA_TYPE, text.encode("utf-8"), parent, None)
    except Exception as exc:  # c2pa.C2paError and friends: the bytes are not a manifest store
        raise MarkError(f"the earlier manifest is not a readable C2PA manifest store: {exc}") from exc
    if read is None:
        raise MarkError("the earlier manifest is not a readable C2PA manifest store")
    store, cr, _ = read
    claims = verdict_from_store(store, cr, MEDIA_TYPE)
    # c2pa-rs cannot hash a store kept without its text, so the binding is checked here, once.
    if any(c.kind == "failure" and c.code.startswith("assertion.dataHash") for c in claims.codes):
        raise MarkError(
            "the earlier manifest does not match this text (it was edited after signing); mark the edited "
            "text without that manifest beside it"
        )
    return claims


def mark_text(
    ws: Workspace,
    text: str,
    *,
    system: str | None = None,
    system_version: str = "",
    model: str | None,
    generator: str = DEFAULT_GENERATOR,
    sidecar: bool = True,
    parent: bytes | None = None,
) -> tuple[MarkResult, str, bytes | None]:
    """Sign a text we cannot re-generate and record it: (result, marked text, sidecar manifest or None).

    With `sidecar` (the default) the text is left as it is and the manifest is returned for a file
    beside it, which standard C2PA readers accept. Without it the manifest is embedded as invisible
    characters, which only Assay can verify (see `EMBEDDED_ONLY`). `parent` is the text's earlier
    manifest store (its old sidecar): a re-mark keeps it as the new manifest's `parentOf` ingredient,
    and its model is kept unless `model` names another."""
    from assay.provenance import ledger
    from assay.provenance.c2pa_keys import load_signer, trust_roots
    from assay.provenance.text_manifest import NO_HARD_BINDING, extract, sign_text

    earlier = _text_parent_claims(text, parent) if parent is not None else None
    model = _model_name(model, earlier.model if earlier else None)
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
        parent=parent,
        roots=trust_roots(ws) if parent is not None else "",
    )
    marked, manifest = signed.text, signed.manifest
    raw = marked.encode("utf-8")
    method = "text-manifest (sidecar)" if sidecar else "text-manifest (embedded)"
    notes = [NO_HARD_BINDING] if sidecar else [EMBEDDED_ONLY, NO_HARD_BINDING]
    described = _describe_parent(earlier)
    if described:
        notes.insert(0, KEPT_NOTE.format(parent=described))
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
        meta={"generator": generator, "parent": described},
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
        parent=described,
        notes=notes,
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
    seed: int | None = None,
    model: Any = None,
    attempts: int = 1,
) -> list[MarkResult]:
    """Generate answers with the bundled model and the text watermark, and record each one.

    Without a `seed` a fresh random one is drawn, so two runs do not give the same answer; the seed
    used is recorded in each ledger entry's meta either way, so an answer can be reproduced.

    A short, low-entropy answer can carry too little of the watermark to be detected (the model had
    few choices to bias). With `attempts` > 1 each answer is checked with the detector the verifier
    uses and, when the mark is not found, generated again with the next seed (seed + attempt), so
    what gets published is an answer a member of the public can verify; the seed and the attempt
    that produced it are recorded."""
    from assay.evals.bundled.engine import MODEL_NAME
    from assay.provenance import ledger
    from assay.provenance.keys import KeyNotFound, load_text_key
    from assay.provenance.text_watermark import WatermarkParams, generate_watermarked

    try:
        key = load_text_key(ws, key_id)
    except KeyNotFound as exc:
        raise MarkError(str(exc)) from exc
    params = (params or WatermarkParams()).model_copy(update={"key_id": key.key_id})
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**31)
    chats: list[Any] = [
        ([{"role": "system", "content": system_prompt}] if system_prompt else [])
        + [{"role": "user", "content": p}]
        for p in prompts
    ]
    if attempts > 1 and model is None:
        from assay.evals.bundled.engine import BundledModel

        model = BundledModel.load()  # loaded once for every attempt
    gens = generate_watermarked(
        chats, params, key, max_new_tokens, model=model, temperature=temperature, seed=seed
    )
    seeds = [seed] * len(gens)
    tries = [1] * len(gens)
    if attempts > 1:
        from assay.provenance.text_watermark import detect_text, load_bundled_tokenizer, load_calibration

        tokenizer = load_bundled_tokenizer()
        calibration = load_calibration(ws, key.key_id)

        def weak(text: str) -> bool:
            return not detect_text(text, tokenizer, key, params, calibration=calibration).watermarked

        for attempt in range(1, attempts):
            redo = [i for i, g in enumerate(gens) if weak(g.text)]
            if not redo:
                break
            again = generate_watermarked(
                [chats[i] for i in redo],
                params,
                key,
                max_new_tokens,
                model=model,
                temperature=temperature,
                seed=seed + attempt,
            )
            for i, g in zip(redo, again, strict=True):
                gens[i], seeds[i], tries[i] = g, seed + attempt, attempt + 1
    results: list[MarkResult] = []
    for prompt, gen, used_seed, tried in zip(prompts, gens, seeds, tries, strict=True):
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
            meta={
                "prompt": prompt,
                "temperature": temperature,
                "seed": used_seed,
                "attempt": tried,
                "output_tokens": gen.output_tokens,
            },
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
                seed=used_seed,
            )
        )
    return results


def record_watermarked_text(
    ws: Workspace,
    text: str,
    *,
    key_id: str,
    params: Any,
    system: str | None = None,
    system_version: str = "",
    meta: dict[str, Any] | None = None,
) -> int:
    """Record in the ledger an answer the bundled model wrote with the watermark in its logits
    somewhere other than `generate_marked_text` (the gateway); returns its ledger id. Only the
    fingerprint and the watermark's settings are kept, never the text: the public checker finds the
    answer by the watermark and the fingerprint."""
    from assay.evals.bundled.engine import MODEL_NAME
    from assay.provenance import ledger

    raw = text.encode("utf-8")
    entry = ledger.record_mark(
        ws,
        ledger.text_fingerprint(text, raw),
        media_type="text/plain",
        size=len(raw),
        system=system,
        system_version=system_version,
        model=MODEL_NAME,
        method="kgw-watermark",
        key_id=key_id,
        params=params.model_dump(mode="json"),
        meta=meta or {},
    )
    return entry.id


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
    model: str | None = None,
    generator: str = DEFAULT_GENERATOR,
    filename: str | None = None,
    watermark: str | None = None,
) -> tuple[MarkResult, bytes]:
    """Watermark (ledger id in the pixels), C2PA-sign and record an image: (result, signed bytes).

    An image that already carries a C2PA manifest is re-marked the C2PA way: the new manifest opens
    the signed original as its `parentOf` ingredient, so the earlier manifest and its claims stay in
    the chain; without `model` the earlier manifest's model is kept.

    `watermark` names the image watermark method (`image_watermark.METHODS`; default `syncTile`).
    """
    from assay.provenance import ledger
    from assay.provenance.c2pa_keys import load_signer
    from assay.provenance.c2pa_manifest import claims_of
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
    earlier = claims_of(loaded.media_type, data)
    model = _model_name(model, earlier.model if earlier else None)
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
        parent=data if earlier is not None else None,
        parent_title=filename,
        trust=ws,
    )
    signed_bytes = signed if isinstance(signed, bytes | bytearray) else getattr(signed, "data", signed)
    signed_bytes = bytes(signed_bytes)
    final = load_image(signed_bytes).image
    parent = _describe_parent(earlier)
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
        meta={"generator": generator, "filename": filename, "parent": parent},
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
    notes = [KEPT_NOTE.format(parent=parent)] if parent else []
    return MarkResult(
        ledger_id=entry.id,
        kind="image",
        media_type=loaded.media_type,
        method=f"c2pa+{method}",
        sha256=entry.sha256,
        key_id=entry.key_id,
        evidence_id=ev,
        parent=parent,
        notes=notes,
    ), signed_bytes


def marked_path(path: Path) -> Path:
    """`answer.txt` -> `answer.marked.txt`."""
    return path.with_name(f"{path.stem}.marked{path.suffix}")


def sidecar_path(path: Path) -> Path:
    """`answer.marked.txt` -> `answer.marked.c2pa`: C2PA's sidecar convention (same name, `.c2pa`)."""
    from assay.provenance.text_manifest import SIDECAR_SUFFIX

    return path.with_suffix(SIDECAR_SUFFIX)


def _refuse_existing(paths: Sequence[Path], force: bool) -> None:
    if force:
        return
    there = [str(p) for p in paths if p.exists() or p.is_symlink()]
    if there:
        verb = "exists" if len(there) == 1 else "exist"
        raise OutputExists(f"{' and '.join(there)} already {verb}; pass --force to overwrite")


def mark_file(
    ws: Workspace,
    path: Path,
    *,
    system: str | None = None,
    system_version: str = "",
    model: str | None = None,
    generator: str = DEFAULT_GENERATOR,
    sidecar: bool = True,
    force: bool = False,
    image_watermark: str | None = None,
) -> MarkResult:
    """Mark a text or image file by its content and write `FILE.marked.ext` atomically beside it
    (and, for text, the sidecar manifest `FILE.marked.c2pa`), refusing to overwrite either unless
    `force`. Outputs are meant to be published, so they get ordinary (umask) permissions."""
    from assay.provenance.verify import sniff
    from assay.store.blobs import atomic_write

    data = path.read_bytes()
    kind = sniff(data)
    out = marked_path(path)
    if kind.kind == "image":
        _refuse_existing([out], force)
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
        side = sidecar_path(out)
        _refuse_existing([out, side], force)  # an old sidecar would describe another version
        own = sidecar_path(path)  # the input's own manifest: marking it again keeps it in the chain
        parent = own.read_bytes() if own != path and own.is_file() else None
        try:
            result, marked, manifest = mark_text(
                ws,
                kind.text or "",
                system=system,
                system_version=system_version,
                model=model,
                generator=generator,
                sidecar=sidecar,
                parent=parent,
            )
        except MarkError as exc:
            if parent is not None and "earlier manifest" in str(exc):
                raise MarkError(f"{own} (beside {path.name}): {exc}") from exc
            raise
        if manifest is not None:
            atomic_write(side, manifest)
            result.notes.insert(0, SIDECAR_NOTE.format(name=side.name))
        else:
            side.unlink(missing_ok=True)  # only with --force: the embedded manifest replaces it
        atomic_write(out, marked.encode("utf-8"))
        update: dict[str, Any] = {"output_path": str(out)}
        if manifest is not None:
            update["sidecar_path"] = str(side)
        return result.model_copy(update=update)
    raise MarkError(f"{path}: {kind.reason or 'not text or a supported image'}")
