"""A signed, C2PA-style provenance manifest for text whose logits we cannot reach (remote APIs).

The claim names the generator and model, states a `c2pa.created` action with digital source type
`trainedAlgorithmicMedia`, and carries the SHA-256 of the text. It is signed ES256 with the workspace's
C2PA signing chain (`assay keys init`), and the chain travels inside the manifest so anyone with the
trust roots can check it. The manifest is JSON compressed with zlib, not C2PA's binary JUMBF: Assay
reads it, generic C2PA tools do not.

It is carried either inside the text as invisible Unicode variation selectors, using the `c2pa-text`
package's wrapper (C2PA's text embedding), or in a file beside the text. Either way it has NO HARD
BINDING to the text: the invisible characters are lost when they are stripped (by many editors,
copy-paste paths, normalisers, or on purpose), and the text then carries no provenance at all. The
hash inside only tells whether the visible text still matches what was signed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import unicodedata
import zlib
from typing import Any, Literal

from pydantic import BaseModel

from assay import __version__

FORMAT = "assay-text-manifest/1"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
NO_HARD_BINDING = (
    "A text manifest has no hard binding to the text: it travels as invisible characters (or a file "
    "beside the text) and is lost if those characters are stripped, so its absence proves nothing."
)
MAX_MANIFEST_BYTES = 64 * 1024

Verdict = Literal["trusted", "valid_untrusted", "invalid", "no_manifest"]


class TextManifestResult(BaseModel):
    """What a text manifest says and whether it holds up; never raised, always returned."""

    verdict: Verdict
    where: Literal["embedded", "sidecar", "none"] = "none"
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
    clean_text: str = ""
    note: str = NO_HARD_BINDING


def _text_hash(text: str) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_manifest(
    text: str,
    signer: Any,
    *,
    generator: str,
    model: str,
    system: str | None = None,
    ledger_id: int | None = None,
    title: str = "",
) -> bytes:
    """The signed manifest bytes for `text` (`signer` is a `c2pa_keys.C2paSigner`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    claim = {
        "claim_generator": f"Assay/{__version__}",
        "title": title,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED,
                            "softwareAgent": {"name": generator},
                        }
                    ]
                },
            },
            {"label": "assay.generator", "data": {"generator": generator, "model": model, "system": system}},
        ],
        "content": {"alg": "sha256", "hash": _text_hash(text), "normalisation": "NFC"},
        "ledger_id": ledger_id,
    }
    key = serialization.load_pem_private_key(signer.private_key_pem.get_secret_value().encode(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("text manifests are signed ES256/384/512: the signer's key must be an EC key")
    signature = key.sign(_canonical(claim), ec.ECDSA(hashes.SHA256()))
    chain = [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
        for c in x509.load_pem_x509_certificates(signer.cert_chain_pem.encode())
    ]
    doc = {
        "format": FORMAT,
        "claim": claim,
        "signature": {"alg": "ES256", "sig": base64.b64encode(signature).decode(), "x5chain": chain},
    }
    return zlib.compress(_canonical(doc), 9)


def embed(text: str, manifest: bytes) -> str:
    """The text (NFC) with the manifest appended as invisible variation selectors (c2pa-text)."""
    from c2pa_text import embed_manifest

    return embed_manifest(text, manifest)


def extract(text: str) -> tuple[bytes | None, str, str | None]:
    """(manifest bytes or None, the text without the wrapper, a problem if the wrapper is malformed)."""
    try:
        from c2pa_text import extract_manifest

        manifest, clean = extract_manifest(text)
    except ValueError as exc:  # e.g. two wrappers in one text
        return None, unicodedata.normalize("NFC", text), str(exc)
    except Exception as exc:  # the reader must never take verification down
        return None, text, f"the embedded manifest could not be read: {exc}"
    return manifest, clean, None


def _load_doc(manifest: bytes) -> dict[str, Any]:
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise ValueError("the manifest is too large")
    try:
        raw = zlib.decompressobj().decompress(manifest, MAX_MANIFEST_BYTES * 4)
    except zlib.error:
        raw = manifest  # a sidecar may be plain JSON
    doc = json.loads(raw.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not an Assay text manifest")
    return doc


def _check_chain(chain: list[Any], roots_pem: str, at: dt.datetime) -> tuple[bool, list[str]]:
    """(trusted, problems): signatures along the chain, validity at `at` and now, and a trusted root."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    problems: list[str] = []
    now = dt.datetime.now(dt.UTC)
    for cert in chain:
        for when, what in ((at, "when it was signed"), (now, "now")):
            if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
                problems.append(
                    f"the certificate '{cert.subject.rfc4514_string()}' was not valid {what} "
                    f"(valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
                )
                break
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            problems.append(f"'{child.subject.rfc4514_string()}' is not issued by the next certificate")
    roots = x509.load_pem_x509_certificates(roots_pem.encode()) if roots_pem.strip() else []
    top = chain[-1]
    trusted = False
    for root in roots:
        if root == top:
            trusted = True
            break
        try:
            top.verify_directly_issued_by(root)
            trusted = True
            break
        except (ValueError, TypeError, InvalidSignature):
            continue
    return trusted, problems


def verify_manifest(text: str, roots_pem: str, sidecar: bytes | None = None) -> TextManifestResult:
    """Check the embedded (or sidecar) manifest against the text and the trust roots."""
    manifest, clean, problem = extract(text)
    where: Literal["embedded", "sidecar", "none"] = "embedded" if manifest is not None else "none"
    if manifest is None and sidecar is not None:
        manifest, where = sidecar, "sidecar"
    if manifest is None:
        problems = [problem] if problem else []
        return TextManifestResult(
            verdict="invalid" if problem else "no_manifest", problems=problems, clean_text=clean
        )
    try:
        return _verify_doc(_load_doc(manifest), clean, roots_pem, where)
    except Exception as exc:  # malformed JSON, base64, certificates: all "invalid", never raised
        return TextManifestResult(
            verdict="invalid", where=where, problems=[f"the manifest cannot be read: {exc}"], clean_text=clean
        )


def _verify_doc(doc: dict[str, Any], clean: str, roots_pem: str, where: Any) -> TextManifestResult:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    claim = doc["claim"]
    sig = doc["signature"]
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in sig["x5chain"]]
    if not chain:
        raise ValueError("no signing certificate")
    leaf = chain[0]
    signed_at = dt.datetime.fromisoformat(claim["created"])
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=dt.UTC)
    problems: list[str] = []
    public = leaf.public_key()
    try:
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        public.verify(base64.b64decode(sig["sig"]), _canonical(claim), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        problems.append("the signature does not match the claim (the manifest was altered)")
    trusted, chain_problems = _check_chain(chain, roots_pem, signed_at)
    problems += chain_problems
    hash_ok = claim.get("content", {}).get("hash") == _text_hash(clean)
    if not hash_ok:
        problems.append("the visible text is not the text that was signed (it was edited afterwards)")
    actions, source, generator = [], None, None
    info: dict[str, Any] = {}
    for a in claim.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            for act in a.get("data", {}).get("actions", []):
                actions.append(str(act.get("action")))
                source = source or act.get("digitalSourceType")
                generator = generator or (act.get("softwareAgent") or {}).get("name")
        elif a.get("label") == "assay.generator":
            info = a.get("data") or {}
    verdict: Verdict = "invalid" if problems else ("trusted" if trusted else "valid_untrusted")
    return TextManifestResult(
        verdict=verdict,
        where=where,
        signer=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        signed_at=signed_at,
        generator=generator or info.get("generator"),
        model=info.get("model"),
        system=info.get("system"),
        digital_source_type=source,
        actions=actions,
        ledger_id=claim.get("ledger_id") if isinstance(claim.get("ledger_id"), int) else None,
        hash_matches=hash_ok,
        problems=problems,
        clean_text=clean,
    )
