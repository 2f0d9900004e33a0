"""C2PA manifests for text whose logits we cannot reach (remote APIs).

The manifest is a real C2PA manifest store (JUMBF, COSE-signed with the workspace's ES256 chain from
`assay keys init` or one the user brings), made by c2pa-rs: a `c2pa.created` action with digital
source type `trainedAlgorithmicMedia`, the model as software agent, the generator as claim generator,
an `org.assay.provenance` assertion with the ledger id, and a `c2pa.hash.data` hard binding over the
text's UTF-8 bytes.

It travels in one of two ways (C2PA 2.x, text embedding):

- embedded: appended to the NFC text as a `C2PATextManifestWrapper` of invisible Unicode variation
  selectors (the `c2pa-text` package encodes it); the data hash's exclusion range is exactly the
  wrapper's bytes, padded to a length fixed before signing;
- sidecar: the text is left alone and the manifest store is written beside it (`.c2pa`); the data
  hash then covers every byte of the text.

c2pa-python has no text asset handler, so signing goes through c2pa-rs's data-hashed embeddable API
(the same C library, called directly) and reading gives c2pa-rs the text and the manifest apart. c2pa-rs
then checks the signature, the certificate chain against the trust list and the data hash over the
text; the one thing it cannot do for text is find where the wrapper sits, so Assay checks that the
exclusion range is the wrapper's own bytes.

Either way it has NO HARD BINDING that survives stripping: the invisible characters are lost when
they are removed (by many editors, copy-paste paths, normalisers, or on purpose), and the text then
carries no provenance at all. The data hash only tells whether the visible text still matches what
was signed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel

from assay.provenance.c2pa_keys import C2paSigner
from assay.provenance.c2pa_manifest import (
    EXPLAIN,
    PARENT_LABEL,
    C2paError,
    C2paVerdict,
    ValidationCode,
    Verdict,
    judge,
    manifest_definition,
    read_store,
    sign_context,
    signer_info,
    verdict_from_store,
)
from assay.provenance.chain import ChainLink

MEDIA_TYPE = "text/plain"
STORE_MEDIA_TYPE = "application/x-c2pa-manifest-store"  # how c2pa-rs takes a bare store as ingredient
SIDECAR_SUFFIX = ".c2pa"
NO_HARD_BINDING = (
    "A text manifest has no hard binding to the text: it travels as invisible characters (or a file "
    "beside the text) and is lost if those characters are stripped, so its absence proves nothing."
)
MAX_MANIFEST_BYTES = 256 * 1024
_LOCATION_CODE = "assay.textWrapper.location"


class TextManifestResult(BaseModel):
    """What a text manifest says and whether it holds up; never raised, always returned."""

    verdict: Verdict
    where: Literal["embedded", "sidecar", "none"] = "none"
    explanation: str = ""
    signer: str | None = None
    issuer: str | None = None
    signed_at: dt.datetime | None = None
    generator: str | None = None
    model: str | None = None
    system: str | None = None
    digital_source_type: str | None = None
    actions: list[str] = []
    ledger_id: int | None = None
    hash_matches: bool | None = None
    problems: list[str] = []
    codes: list[ValidationCode] = []
    clean_text: str = ""
    chain: list[ChainLink] = []
    note: str = NO_HARD_BINDING


class SignedText(BaseModel):
    """The text to publish and its manifest store (inside the text, or for a file beside it)."""

    text: str
    manifest: bytes
    embedded: bool


# -- signing ---------------------------------------------------------------------------------------


def _data_hash(content: bytes, exclusion: tuple[int, int] | None) -> dict[str, Any]:
    """c2pa-rs's DataHash as JSON: SHA-256 over the content, which ends where the exclusion starts."""
    return {
        "exclusions": [{"start": exclusion[0], "length": exclusion[1]}] if exclusion else [],
        "name": "jumbf manifest",
        "alg": "sha256",
        "hash": list(hashlib.sha256(content).digest()),
        "pad": [],
    }


@functools.cache
def _native():  # type: ignore[no-untyped-def]
    """c2pa-rs's C functions for data-hashed signing, which c2pa-python 0.38 does not wrap.

    The library c2pa-python already loaded is opened again as a separate ctypes object (the same
    shared object, its own function prototypes), so the prototypes set here never touch c2pa-python's.
    """
    import ctypes

    from c2pa import c2pa as binding

    loaded = getattr(binding, "_lib", None)
    name = getattr(loaded, "_name", None)
    if not name or not hasattr(loaded, "c2pa_builder_sign_data_hashed_embeddable"):
        raise C2paError("this c2pa-python build does not expose c2pa-rs's data-hashed signing")
    lib = ctypes.CDLL(name)
    bytes_out = ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))
    lib.c2pa_builder_data_hashed_placeholder.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        bytes_out,
    ]
    lib.c2pa_builder_data_hashed_placeholder.restype = ctypes.c_int64
    lib.c2pa_builder_sign_data_hashed_embeddable.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_void_p,
        bytes_out,
    ]
    lib.c2pa_builder_sign_data_hashed_embeddable.restype = ctypes.c_int64
    lib.c2pa_error.argtypes = []
    lib.c2pa_error.restype = ctypes.c_void_p
    lib.c2pa_free.argtypes = [ctypes.c_void_p]
    lib.c2pa_free.restype = ctypes.c_int
    lib.c2pa_string_free.argtypes = [ctypes.c_void_p]
    lib.c2pa_string_free.restype = None
    return lib


def _take(lib: Any, size: int, ptr: Any, what: str) -> bytes:
    import ctypes

    if size < 0 or not ptr:
        err = lib.c2pa_error()
        message = "no message"
        if err:
            message = ctypes.string_at(err).decode("utf-8", "replace")
            lib.c2pa_string_free(err)
        raise C2paError(f"C2PA {what} failed: {message}")
    try:
        return ctypes.string_at(ptr, size)
    finally:
        lib.c2pa_free(ptr)


def _sign_data_hashed(
    definition: dict[str, Any],
    signer: C2paSigner,
    content: bytes,
    embedded: bool,
    parent: bytes | None = None,
    roots: str = "",
) -> tuple[bytes, int | None]:
    """(manifest store, wrapper byte length or None) for `content` with the data-hash binding.

    For an embedded manifest the wrapper's length must be in the signed exclusion range, so the
    manifest's size comes first from c2pa-rs's placeholder (the signed store has the same size) and
    the wrapper is padded to the worst-case length for that size. `parent` is an earlier manifest
    store for the same text (a re-mark), kept as the `parentOf` ingredient; it is checked against
    `roots` and the result recorded.
    """
    import ctypes
    import io

    import c2pa
    from c2pa_text import worst_case_wrapper_byte_length

    lib = _native()
    fmt = b"application/c2pa"
    try:
        with (
            c2pa.Signer.from_info(signer_info(signer)) as c_signer,
            c2pa.Builder(definition, sign_context(roots)) as builder,
        ):
            if parent is not None:
                ingredient = {
                    "title": "the earlier manifest",
                    "relationship": "parentOf",
                    "label": PARENT_LABEL,
                }
                builder.add_ingredient(ingredient, STORE_MEDIA_TYPE, io.BytesIO(parent))
            reserve = c_signer.reserve_size()
            placeholder = ctypes.POINTER(ctypes.c_ubyte)()
            size = lib.c2pa_builder_data_hashed_placeholder(
                builder._handle, reserve, fmt, ctypes.byref(placeholder)
            )
            planned = len(_take(lib, size, placeholder, "placeholder"))
            wrapper_len = worst_case_wrapper_byte_length(planned) if embedded else None
            exclusion = (len(content), wrapper_len) if wrapper_len is not None else None
            out = ctypes.POINTER(ctypes.c_ubyte)()
            size = lib.c2pa_builder_sign_data_hashed_embeddable(
                builder._handle,
                c_signer._handle,
                json.dumps(_data_hash(content, exclusion)).encode(),
                fmt,
                None,
                ctypes.byref(out),
            )
            manifest = _take(lib, size, out, "signing")
    except c2pa.C2paError as e:
        raise C2paError(f"C2PA signing failed: {e}") from e
    except AttributeError as e:  # the wrapper's handles moved: a c2pa-python outside the pinned range
        raise C2paError(
            f"this c2pa-python build cannot sign text manifests ({e}); use c2pa-python 0.38"
        ) from e
    if wrapper_len is not None and worst_case_wrapper_byte_length(len(manifest)) > wrapper_len:
        raise C2paError(f"the signed manifest ({len(manifest)} bytes) outgrew its placeholder ({planned})")
    return manifest, wrapper_len


def sign_text(
    text: str,
    signer: C2paSigner,
    *,
    generator: str,
    model: str,
    system: str | None = None,
    ledger_id: int | None = None,
    title: str = "",
    sidecar: bool = False,
    parent: bytes | None = None,
    roots: str = "",
) -> SignedText:
    """Sign `text` with a C2PA manifest, embedded as invisible characters or for a sidecar file.

    Embedding normalises the text to NFC first (as C2PA's text embedding asks); a sidecar signs the
    text exactly as given, byte for byte. `parent` is the text's earlier manifest store (a re-mark):
    the new manifest opens it as its `parentOf` ingredient instead of dropping it.
    """
    from c2pa_text import encode_wrapper_padded, find_wrapper_info

    extra = {"system": system} if system else None
    definition = manifest_definition(
        generator_name=generator,
        model_name=model,
        ledger_id=ledger_id,
        title=title or f"{generator} output",
        media_type=MEDIA_TYPE,
        extra=extra,
        parent=parent is not None,
    )
    if sidecar:
        manifest, _ = _sign_data_hashed(
            definition, signer, text.encode("utf-8"), embedded=False, parent=parent, roots=roots
        )
        return SignedText(text=text, manifest=manifest, embedded=False)
    body = unicodedata.normalize("NFC", text)
    try:
        already = find_wrapper_info(body)
    except ValueError:
        already = True  # more than one wrapper
    if already:
        raise C2paError("the text already carries a C2PA manifest; sign the text without it")
    manifest, wrapper_len = _sign_data_hashed(
        definition, signer, body.encode("utf-8"), embedded=True, parent=parent, roots=roots
    )
    assert wrapper_len is not None
    return SignedText(
        text=body + encode_wrapper_padded(manifest, wrapper_len), manifest=manifest, embedded=True
    )


# -- reading -----------------------------------------------------------------------------------------


class _Wrapper(BaseModel):
    manifest: bytes
    start: int  # byte offset in the UTF-8 text
    length: int  # byte length of the whole wrapper, padding included
    clean: str


def _find(text: str) -> tuple[_Wrapper | None, str | None]:
    """(the embedded wrapper or None, a problem if one is there but unusable)."""
    from c2pa_text import find_wrapper_info

    try:
        found = find_wrapper_info(text)
    except ValueError as exc:  # two wrappers in one text
        return None, str(exc)
    except Exception as exc:  # the reader must never take verification down
        return None, f"the embedded manifest could not be read: {exc}"
    if found is None:
        return None, None
    manifest, start, length = found  # byte offset and byte length of the wrapper in the UTF-8 text
    raw = text.encode("utf-8")
    clean = (raw[:start] + raw[start + length :]).decode("utf-8")
    return _Wrapper(manifest=manifest, start=start, length=length, clean=clean), None


def extract(text: str) -> tuple[bytes | None, str, str | None]:
    """(manifest bytes or None, the text without the wrapper, a problem if the wrapper is malformed)."""
    wrapper, problem = _find(text)
    if wrapper is None:
        return None, text, problem
    return wrapper.manifest, wrapper.clean, None


def _exclusions(detailed: dict[str, Any] | None) -> list[tuple[int, int]] | None:
    """The active manifest's data-hash exclusions, from c2pa-rs's detailed report."""
    if not detailed:
        return None
    manifest = (detailed.get("manifests") or {}).get(detailed.get("active_manifest")) or {}
    store = manifest.get("assertion_store") or {}
    data_hash = store.get("c2pa.hash.data")
    if not isinstance(data_hash, dict):
        return None
    return [(int(e["start"]), int(e["length"])) for e in data_hash.get("exclusions") or []]


def _check_location(
    verdict: C2paVerdict, expected: list[tuple[int, int]], found: list[tuple[int, int]] | None
) -> None:
    """Replace c2pa-rs's 'exclusion does not match the manifest location' (it cannot locate a text
    wrapper) with Assay's own check: the exclusion must be exactly the wrapper's bytes."""
    located = found == expected
    kept = []
    for code in verdict.codes:
        is_location = code.code == "assertion.dataHash.mismatch" and "location" in code.explanation
        if not (is_location and located):
            kept.append(code)
    kept.append(
        ValidationCode(
            kind="success" if located else "failure",
            code=f"{_LOCATION_CODE}.{'match' if located else 'mismatch'}",
            explanation=(
                "the data hash excludes exactly the embedded manifest's bytes"
                if located
                else f"the data hash excludes {found} but the manifest sits at {expected} (offset, length)"
            ),
        )
    )
    verdict.codes = kept


def verify_manifest(text: str, roots_pem: str, sidecar: bytes | None = None) -> TextManifestResult:
    """Check the embedded (or sidecar) C2PA manifest against the text and the trust roots."""
    import c2pa

    wrapper, problem = _find(text)
    clean = unicodedata.normalize("NFC", wrapper.clean if wrapper else text)
    if wrapper is not None:
        manifest, where = wrapper.manifest, "embedded"
    elif sidecar is not None:
        manifest, where = sidecar, "sidecar"
    else:
        return TextManifestResult(
            verdict="invalid" if problem else "no_manifest",
            explanation=problem or "no C2PA manifest is embedded in the text",
            problems=[problem] if problem else [],
            clean_text=clean,
        )
    if len(manifest) > MAX_MANIFEST_BYTES:
        return _unreadable(where, clean, f"the manifest is larger than {MAX_MANIFEST_BYTES // 1024} KB")
    try:
        read = read_store(MEDIA_TYPE, text.encode("utf-8"), manifest, roots_pem)
    except c2pa.C2paError as exc:
        return _unreadable(where, clean, f"the manifest cannot be read: {exc}")
    except Exception as exc:  # never a crash on hostile input
        return _unreadable(where, clean, f"the manifest cannot be read: {type(exc).__name__}: {exc}")
    if read is None:
        return _unreadable(where, clean, "the manifest cannot be read: no C2PA manifest store in it")
    store, cr, detailed = read
    verdict = verdict_from_store(store, cr, MEDIA_TYPE)
    expected = [(wrapper.start, wrapper.length)] if wrapper is not None else []
    _check_location(verdict, expected, _exclusions(detailed))
    failures = [c for c in verdict.codes if c.kind == "failure"]
    state = verdict.validation_state
    if state == "Invalid" and not failures:  # the only failure was the location c2pa-rs cannot check
        state = "Trusted" if any(c.code == "signingCredential.trusted" for c in verdict.codes) else "Valid"
    judge(verdict, state, "text")
    return _result(verdict, where, clean)


def _unreadable(where: Any, clean: str, problem: str) -> TextManifestResult:
    return TextManifestResult(
        verdict="invalid", where=where, explanation=problem, problems=[problem], clean_text=clean
    )


def _result(v: C2paVerdict, where: Any, clean: str) -> TextManifestResult:
    failures = [c for c in v.codes if c.kind == "failure" and c.code != "signingCredential.untrusted"]
    hash_failed = any(c.code == "assertion.dataHash.mismatch" for c in failures)
    hash_ok = any(c.code == "assertion.dataHash.match" for c in v.codes if c.kind == "success")
    problems = []
    if hash_failed:  # an edit also moves the wrapper, so its location is not a separate problem then
        problems.append("the visible text is not the text that was signed (it was edited afterwards)")
        failures = [c for c in failures if not c.code.startswith(("assertion.dataHash", _LOCATION_CODE))]
    if v.certificate_expired or any("outsideValidity" in c.code for c in failures):
        problems.append("the signing certificate was not valid when the manifest was checked")
    problems += [_plain(c) for c in failures]
    ledger = v.ledger_id
    return TextManifestResult(
        verdict=v.verdict,
        where=where,
        explanation=v.explanation,
        signer=v.signer.subject if v.signer else None,
        issuer=v.signer.issuer if v.signer else None,
        signed_at=v.signed_at or v.claimed_time,
        generator=v.generator,
        model=v.model,
        system=v.system,
        digital_source_type=v.digital_source_type,
        actions=v.actions,
        ledger_id=ledger if isinstance(ledger, int) else None,
        hash_matches=False if hash_failed else (True if hash_ok else None),
        problems=list(dict.fromkeys(problems)),
        codes=v.codes,
        clean_text=clean,
        chain=v.chain,
    )


def _plain(code: ValidationCode) -> str:
    return EXPLAIN.get(code.code, f"{code.code}: {code.explanation}" if code.explanation else code.code)


__all__ = [
    "MEDIA_TYPE",
    "NO_HARD_BINDING",
    "SIDECAR_SUFFIX",
    "SignedText",
    "TextManifestResult",
    "extract",
    "sign_text",
    "verify_manifest",
]
