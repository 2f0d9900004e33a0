"""What image and text Content Credentials share: the manifest we write, how it is signed, and how
c2pa-rs's validation result becomes one of four verdicts.

    trusted          the signature holds, the content is unchanged, and the signer chains to a trusted root
    valid_untrusted  the signature holds and the content is unchanged, but nobody we trust vouches for
                     the signer (c2pa: `signingCredential.untrusted` and nothing else failed)
    invalid          something failed: the content changed after signing (`assertion.dataHash.mismatch`),
                     the signature does not match, or the certificate had expired or was revoked
    no_manifest      the content carries no C2PA manifest (never signed, or stripped)

Verification runs c2pa-rs (through c2pa-python 0.38) offline, with OCSP and remote manifests off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.provenance.c2pa_keys import C2paSigner, trust_roots
from assay.provenance.chain import ChainLink
from assay.workspace import Workspace

DigitalSourceType = Literal["trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"]
IPTC_DIGITAL_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
ASSAY_ASSERTION = "org.assay.provenance"
PARENT_LABEL = "assay.parent"
# How an ingredient that is a bare manifest store (no asset: a text's sidecar) is labelled.
BARE_STORE_FORMATS = frozenset({"application/x-c2pa-manifest-store", "application/c2pa", "c2pa"})
Verdict = Literal["trusted", "valid_untrusted", "invalid", "no_manifest"]

# Failure codes that say only "we do not know this signer"; every other failure is a broken manifest.
TRUST_ONLY_FAILURES = frozenset({"signingCredential.untrusted"})
EXPLAIN = {
    "assertion.dataHash.mismatch": "the content's bytes changed after it was signed",
    "assertion.boxesHash.mismatch": "the content's bytes changed after it was signed",
    "assertion.bmffHash.mismatch": "the content's bytes changed after it was signed",
    "assertion.hashedURI.mismatch": "an assertion in the manifest was altered after signing",
    "claimSignature.mismatch": "the signature does not match the manifest",
    "claimSignature.missing": "the manifest has no signature",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA signing",
    "signingCredential.untrusted": "the signer's certificate does not chain to a trusted root",
    "assay.textWrapper.location.mismatch": "the manifest's exclusion range is not where it sits in the text",
    "claimSignature.outsideValidity": "the signature was made outside the certificate's validity period",
}


class C2paError(ValueError):
    """Signing failed (bad chain, unsupported file); the message says why."""


class ValidationCode(BaseModel):
    kind: Literal["success", "informational", "failure"]
    code: str
    explanation: str = ""


class SignerIdentity(BaseModel):
    """Who signed, from the signing certificate inside the manifest."""

    subject: str = ""
    issuer: str = ""
    common_name: str | None = None
    organization: str | None = None
    serial_number: str | None = None
    algorithm: str | None = None
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None


class C2paVerdict(BaseModel):
    """One asset's C2PA result: the verdict, why, and what the manifest claims."""

    verdict: Verdict
    explanation: str
    media_type: str
    signer: SignerIdentity | None = None
    signed_at: dt.datetime | None = Field(None, description="from a trusted timestamp (RFC 3161), if any")
    claimed_time: dt.datetime | None = Field(None, description="the time the signer wrote into the manifest")
    actions: list[str] = []
    digital_source_type: str | None = None
    generator: str | None = None
    model: str | None = None
    system: str | None = Field(None, description="the AI system named in Assay's assertion, if any")
    ledger_id: int | str | None = None
    title: str | None = None
    content_intact: bool | None = Field(None, description="the hard binding (data hash) matched")
    certificate_expired: bool = False
    validation_state: str | None = None
    codes: list[ValidationCode] = []
    chain: list[ChainLink] = Field(
        [], description="earlier manifests, newest first, kept as parentOf ingredients (re-marks)"
    )


def codes_of(results: dict | None) -> list[ValidationCode]:
    active = (results or {}).get("activeManifest") or {}
    codes = []
    for kind in ("success", "informational", "failure"):
        for item in active.get(kind) or []:
            codes.append(
                ValidationCode(kind=kind, code=item.get("code", ""), explanation=item.get("explanation", ""))
            )
    return codes


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dn(parts: dict | None) -> str:
    if not parts:
        return ""
    order = ["CN", "OU", "O", "L", "ST", "C"]
    keys = sorted(parts, key=lambda k: order.index(k) if k in order else len(order))
    return ",".join(f"{k}={parts[k]}" for k in keys)


def signer_of(manifest: dict, cr: dict | None) -> SignerIdentity:
    sig = manifest.get("signature_info") or {}
    ident = SignerIdentity(
        common_name=sig.get("common_name"),
        organization=sig.get("issuer"),  # c2pa-rs names the subject's organisation "issuer"
        serial_number=sig.get("cert_serial_number"),
        algorithm=sig.get("alg"),
    )
    for m in (cr or {}).get("manifests") or []:
        if m.get("label") == manifest.get("label"):
            cert = (m.get("signature") or {}).get("certificateInfo") or {}
            ident.subject = _dn(cert.get("subject"))
            ident.issuer = _dn(cert.get("issuer"))
            validity = cert.get("validity") or {}
            ident.not_before = _parse_time(validity.get("notBefore"))
            ident.not_after = _parse_time(validity.get("notAfter"))
    if not ident.subject and ident.common_name:
        ident.subject = f"CN={ident.common_name}" + (f",O={ident.organization}" if ident.organization else "")
    return ident


def _as_dict(value: object) -> dict:
    """A damaged manifest can put a list or a number where a mapping belongs: read it as empty."""
    return value if isinstance(value, dict) else {}


def read_claims(manifest: dict, verdict: C2paVerdict) -> None:
    assertions = manifest.get("assertions")
    for assertion in assertions if isinstance(assertions, list) else []:
        assertion = _as_dict(assertion)
        label, body = str(assertion.get("label", "")), _as_dict(assertion.get("data"))
        if label.startswith("c2pa.actions"):
            actions = body.get("actions")
            for action in actions if isinstance(actions, list) else []:
                action = _as_dict(action)
                verdict.actions.append(str(action.get("action", "")))
                if action.get("action") == "c2pa.created":
                    verdict.digital_source_type = action.get("digitalSourceType")
                    agent = action.get("softwareAgent")
                    verdict.model = agent.get("name") if isinstance(agent, dict) else agent or verdict.model
                    verdict.claimed_time = verdict.claimed_time or _parse_time(action.get("when"))
        elif label == ASSAY_ASSERTION:
            ledger_id = body.get("ledger_id")
            verdict.ledger_id = ledger_id if isinstance(ledger_id, int | str) else None
            verdict.system = body.get("system") if isinstance(body.get("system"), str) else None
            verdict.model = verdict.model or body.get("model")
            verdict.claimed_time = verdict.claimed_time or _parse_time(body.get("signed_at"))
    gen = manifest.get("claim_generator_info") or []
    if isinstance(gen, dict):
        gen = [gen]
    if isinstance(gen, list) and gen:
        verdict.generator = _as_dict(gen[0]).get("name")
    verdict.title = manifest.get("title")
    verdict.signed_at = _parse_time(_as_dict(manifest.get("signature_info")).get("time"))


def verify_settings(roots: str) -> dict:
    settings: dict = {
        "verify": {"verify_trust": True, "ocsp_fetch": False, "remote_manifest_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if roots.strip():
        settings["trust"] = {"user_anchors": roots}
    return settings


def roots_pem(trust: str | bytes | Workspace | None) -> str:
    if trust is None:
        return ""
    if isinstance(trust, Workspace):
        return trust_roots(trust)
    return trust.decode("ascii") if isinstance(trust, bytes) else trust


def judge(verdict: C2paVerdict, state: str | None, noun: str = "image") -> None:
    """Set the verdict and its explanation from c2pa-rs's validation state and codes."""
    failures = [c.code for c in verdict.codes if c.kind == "failure"]
    successes = {c.code for c in verdict.codes if c.kind == "success"}
    hash_failed = any(c.endswith("Hash.mismatch") for c in failures)
    hash_ok = any(c.endswith("Hash.match") for c in successes)
    verdict.content_intact = False if hash_failed else (True if hash_ok else None)
    verdict.certificate_expired = "signingCredential.expired" in failures
    who = verdict.signer.subject if verdict.signer else "an unknown signer"
    if state == "Trusted" and not failures:
        verdict.verdict = "trusted"
        verdict.explanation = (
            f"signed by {who}, a signer on the trust list; the {noun} is unchanged since signing"
        )
        return
    if (state in ("Valid", "Trusted") and not failures) or (
        failures and set(failures) <= TRUST_ONLY_FAILURES
    ):
        verdict.verdict = "valid_untrusted"
        verdict.explanation = (
            f"the signature is valid and the {noun} is unchanged, but the signer ({who}) does not chain to "
            "a root on the trust list, so who made it cannot be confirmed"
        )
        return
    verdict.verdict = "invalid"
    reasons = list(dict.fromkeys(EXPLAIN.get(c, c) for c in failures if c not in TRUST_ONLY_FAILURES))
    if verdict.certificate_expired:
        until = verdict.signer.not_after if verdict.signer and verdict.signer.not_after else None
        when = f" on {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
        reasons = [
            f"the signing certificate expired{when} and no trusted timestamp shows the {noun} was signed "
            "before that" + (f" (the {noun} itself is unchanged)" if verdict.content_intact else "")
        ] + [r for r in reasons if r != EXPLAIN["signingCredential.expired"]]
    verdict.explanation = "the manifest does not verify: " + "; ".join(reasons or [f"c2pa says {state}"])


def manifest_definition(
    *,
    generator_name: str,
    model_name: str,
    digital_source_type: DigitalSourceType = "trainedAlgorithmicMedia",
    ledger_id: int | str | None = None,
    generator_version: str | None = None,
    title: str | None = None,
    media_type: str | None = None,
    extra: dict[str, Any] | None = None,
    parent: bool = False,
    edit: str | None = None,
) -> dict[str, Any]:
    """The manifest definition c2pa's Builder takes: who generated the content, with which model.

    `generator_name` is the AI system (claim generator), `model_name` the model (the `c2pa.created`
    action's software agent); `ledger_id` links the manifest to the ledger record.

    With `parent` the content was signed before (a re-mark): C2PA's model for that is a new manifest
    whose first action is `c2pa.opened` on the earlier asset, kept as the `parentOf` ingredient
    labelled `PARENT_LABEL` (the caller adds it), then `c2pa.edited` saying `edit` if the content
    changed (an image's new watermark). The model still goes into Assay's assertion; the creation
    facts stay in the parent's manifest.
    """
    from assay import __version__

    if digital_source_type not in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"):
        raise C2paError(f"digital source type {digital_source_type!r} is not an AI-generated type")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    generator: dict[str, str] = {"name": generator_name, "org.assay.toolkit": f"assay {__version__}"}
    if generator_version:
        generator["version"] = generator_version
    custom: dict[str, object] = {"generator": generator_name, "model": model_name, "signed_at": now}
    if ledger_id is not None:
        custom["ledger_id"] = ledger_id
    custom.update(extra or {})
    actions: list[dict[str, Any]] = [
        {
            "action": "c2pa.created",
            "digitalSourceType": IPTC_DIGITAL_SOURCE + digital_source_type,
            "softwareAgent": {"name": model_name},
            "when": now,
        }
    ]
    if parent:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}, "when": now}]
        if edit:
            actions.append(
                {
                    "action": "c2pa.edited",
                    "softwareAgent": {"name": f"assay {__version__}"},
                    "description": edit,
                    "when": now,
                }
            )
    definition: dict[str, Any] = {
        "claim_generator_info": [generator],
        "title": title or f"{generator_name} output",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": ASSAY_ASSERTION, "data": custom},
        ],
    }
    if media_type:
        definition["format"] = media_type
    return definition


def signer_info(signer: C2paSigner):  # type: ignore[no-untyped-def]
    import c2pa

    return c2pa.C2paSignerInfo(
        signer.alg, signer.cert_chain_pem.encode(), signer.private_key_pem.get_secret_value().encode(), None
    )


def sign_context(roots: str = ""):  # type: ignore[no-untyped-def]
    """c2pa's context for signing. `roots` (PEM) are the trust anchors an ingredient's manifest is
    checked against when a re-mark adds it: the result is recorded in the new manifest."""
    import c2pa

    settings: dict[str, Any] = {
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"verify_after_sign": False, "ocsp_fetch": False, "remote_manifest_fetch": False},
    }
    if roots.strip():
        settings["trust"] = {"user_anchors": roots}
    return c2pa.Context.from_dict(settings)


def read_store(
    media_type: str, data: bytes, manifest_data: bytes | None, trust: str | bytes | Workspace | None
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None] | None:
    """(store JSON, crJSON, detailed JSON) for the asset, or None when it carries no manifest.

    `manifest_data` is a manifest store kept apart from the asset (a sidecar, or one taken out of a
    text's invisible wrapper); c2pa-rs then checks it against `data`. Raises `c2pa.C2paError` when a
    manifest is there but cannot be parsed.
    """
    import c2pa

    with c2pa.Context.from_dict(verify_settings(roots_pem(trust))) as ctx:
        reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), manifest_data, ctx)
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
            cr = detailed = None
            with contextlib.suppress(c2pa.C2paError, ValueError):
                cr = json.loads(reader.crjson())
            if manifest_data is not None:
                detailed = json.loads(reader.detailed_json())
    return store, cr, detailed


def verdict_from_store(store: dict[str, Any], cr: dict[str, Any] | None, media_type: str) -> C2paVerdict:
    """The claims and codes of the active manifest, not yet judged (see `judge`)."""
    label = store.get("active_manifest")
    manifest = (store.get("manifests") or {}).get(label) or {}
    verdict = C2paVerdict(verdict="no_manifest", explanation="", media_type=media_type)
    verdict.validation_state = store.get("validation_state")
    verdict.codes = codes_of(store.get("validation_results"))
    if not verdict.codes:
        verdict.codes = [
            ValidationCode(kind="failure", code=s.get("code", ""), explanation=s.get("explanation", ""))
            for s in store.get("validation_status") or []
        ]
    verdict.signer = signer_of(manifest, cr)
    read_claims(manifest, verdict)
    verdict.chain = chain_of(store, manifest, cr)
    if verdict.digital_source_type is None:  # a re-mark: the creation is recorded in the parent
        verdict.digital_source_type = next(
            (link.digital_source_type for link in verdict.chain if link.digital_source_type), None
        )
    return verdict


def parent_ingredient(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's `parentOf` ingredient, if it has one with a manifest of its own."""
    for ingredient in manifest.get("ingredients") or []:
        if ingredient.get("relationship") == "parentOf" and ingredient.get("active_manifest"):
            return ingredient
    return None


def chain_of(store: dict[str, Any], manifest: dict[str, Any], cr: dict | None) -> list[ChainLink]:
    """The earlier manifests, newest first, following each one's parentOf ingredient (cycle-safe)."""
    manifests = store.get("manifests") or {}
    links: list[ChainLink] = []
    seen = {store.get("active_manifest")}
    ingredient = parent_ingredient(manifest)
    while ingredient is not None and ingredient["active_manifest"] not in seen and len(links) < 32:
        label = ingredient["active_manifest"]
        seen.add(label)
        earlier = manifests.get(label) or {}
        claims = C2paVerdict(verdict="no_manifest", explanation="", media_type="")
        read_claims(earlier, claims)
        ident = signer_of(earlier, cr)
        failures = [c.code for c in codes_of(ingredient.get("validation_results")) if c.kind == "failure"]
        bare = ingredient.get("format") in BARE_STORE_FORMATS
        if bare:  # kept without its asset: c2pa-rs had nothing to hash, so its verdict on that is moot
            failures = [f for f in failures if not f.startswith("assertion.dataHash")]
        links.append(
            ChainLink(
                label=label,
                title=ingredient.get("title") or claims.title,
                generator=claims.generator,
                model=claims.model,
                digital_source_type=claims.digital_source_type,
                signer=ident.subject or None,
                claimed_time=claims.claimed_time,
                ledger_id=claims.ledger_id,
                failures=failures,
                content_checked=not bare,
            )
        )
        ingredient = parent_ingredient(earlier)
    return links


def claims_of(media_type: str, data: bytes) -> C2paVerdict | None:
    """What an asset's existing manifest says (not judged, no trust list), or None if it has none."""
    import c2pa

    try:
        read = read_store(media_type, data, None, None)
    except (c2pa.C2paError, ValueError):
        return None
    if read is None:
        return None
    store, cr, _ = read
    return verdict_from_store(store, cr, media_type)
