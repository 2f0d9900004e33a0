"""C2PA Content Credentials for generated images: sign PNG, JPEG and WebP, and read them back as a verdict.

The manifest says what made the image: a `c2pa.created` action with the IPTC digital source type
(`trainedAlgorithmicMedia`, or `compositeWithTrainedAlgorithmicMedia` when AI output was composited
with other material), the model as the action's software agent, the generator (the AI system) as the
claim generator, and an `org.assay.provenance` assertion with the ledger id. No thumbnail is embedded
(it would copy the image into its own metadata and cost time for nothing a verifier needs).

The four verdicts (trusted, valid_untrusted, invalid, no_manifest) and the mapping from c2pa-rs's
validation codes live in `assay.provenance.c2pa_manifest`, shared with text manifests.
"""

from __future__ import annotations

from assay.provenance.c2pa_keys import C2paSigner
from assay.provenance.c2pa_manifest import (
    ASSAY_ASSERTION,
    IPTC_DIGITAL_SOURCE,
    PARENT_LABEL,
    C2paError,
    C2paVerdict,
    DigitalSourceType,
    SignerIdentity,
    ValidationCode,
    Verdict,
    judge,
    manifest_definition,
    read_store,
    roots_pem,
    sign_context,
    signer_info,
    verdict_from_store,
)
from assay.provenance.image_io import ImageRejected, MediaType, check_image_bytes
from assay.workspace import Workspace

__all__ = [
    "ASSAY_ASSERTION",
    "IPTC_DIGITAL_SOURCE",
    "C2paError",
    "C2paVerdict",
    "DigitalSourceType",
    "SignerIdentity",
    "ValidationCode",
    "Verdict",
    "sign_image",
    "verify_c2pa",
]


def _media_type(data: bytes, media_type: str | None) -> MediaType:
    real = check_image_bytes(data)
    if media_type is not None:
        given = media_type.lower().replace("image/jpg", "image/jpeg")
        if given != real:
            raise ImageRejected(f"the bytes are {real}, not {media_type}", "unsupported_format")
    return real


def sign_image(
    data: bytes,
    media_type: str | None,
    *,
    signer: C2paSigner,
    generator_name: str,
    model_name: str,
    digital_source_type: DigitalSourceType = "trainedAlgorithmicMedia",
    ledger_id: int | str | None = None,
    generator_version: str | None = None,
    title: str | None = None,
    parent: bytes | None = None,
    parent_title: str | None = None,
    trust: str | bytes | Workspace | None = None,
) -> bytes:
    """The same image with a signed C2PA manifest embedded (PNG, JPEG or WebP; format from the bytes).

    `generator_name` is the AI system (claim generator), `model_name` the model that made the pixels
    (the `c2pa.created` action's software agent); `ledger_id` links the manifest to the ledger record.
    `parent` is the earlier, already signed version of the image (a re-mark): it becomes the new
    manifest's `parentOf` ingredient, so its manifest stays in the chain instead of being dropped;
    how that manifest checked out against `trust` (roots, or a workspace's trust list) is recorded.
    """
    import io

    import c2pa

    real = _media_type(data, media_type)
    manifest = manifest_definition(
        generator_name=generator_name,
        model_name=model_name,
        digital_source_type=digital_source_type,
        ledger_id=ledger_id,
        generator_version=generator_version,
        title=title,
        parent=parent is not None,
        edit="re-marked: a new invisible watermark carrying a new ledger id",
    )
    out = io.BytesIO()
    try:
        with (
            c2pa.Signer.from_info(signer_info(signer)) as c_signer,
            c2pa.Builder(manifest, sign_context(roots_pem(trust))) as builder,
        ):
            if parent is not None:
                ingredient = {
                    "title": parent_title or "the earlier version",
                    "relationship": "parentOf",
                    "label": PARENT_LABEL,
                }
                builder.add_ingredient(ingredient, _media_type(parent, None), io.BytesIO(parent))
            builder.sign(c_signer, real, io.BytesIO(data), out)
    except c2pa.C2paError as e:
        raise C2paError(f"C2PA signing failed: {e}") from e
    return out.getvalue()


def verify_c2pa(
    data: bytes, media_type: str | None = None, trust_roots: str | bytes | Workspace | None = None
) -> C2paVerdict:
    """Read and validate the image's C2PA manifest offline. `trust_roots` is a PEM bundle of trusted
    root CAs (or a workspace, whose trust list is used); without it no signer can be *trusted*.

    Raises `ImageRejected` if the bytes are not a PNG, JPEG or WebP image; every manifest problem is
    a verdict, not an exception.
    """
    import c2pa

    real = check_image_bytes(data)  # the bytes decide; a wrong hint is not worth refusing a verify
    try:
        read = read_store(real, data, None, trust_roots)
    except c2pa.C2paError as e:
        return C2paVerdict(
            verdict="invalid",
            explanation=f"a C2PA manifest is present but cannot be read: {e}",
            media_type=real,
        )
    if read is None:
        return C2paVerdict(
            verdict="no_manifest",
            explanation=(
                "no C2PA manifest in this file: it was never signed, or its metadata was removed "
                "(a screenshot or re-save does that; check the watermark)"
            ),
            media_type=real,
        )
    store, cr, _ = read
    verdict = verdict_from_store(store, cr, real)
    judge(verdict, verdict.validation_state, "image")
    return verdict
