"""C2PA signing and the four verdicts: trusted, valid_untrusted, invalid, no_manifest."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("c2pa")

from assay.provenance.c2pa_keys import (  # noqa: E402
    C2paKeyError,
    add_trust_root,
    import_signer_chain,
    init_c2pa_chain,
    load_signer,
    make_chain,
    trust_roots,
)
from assay.provenance.image_c2pa import IPTC_DIGITAL_SOURCE, sign_image, verify_c2pa  # noqa: E402
from assay.provenance.image_io import ImageRejected  # noqa: E402
from assay.workspace import Workspace  # noqa: E402

FORMATS = [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]


def _image(fmt: str) -> bytes:
    rng = np.random.default_rng(7)
    base = np.linspace(0, 255, 192 * 128).reshape(128, 192)
    rgb = np.dstack([base, base[::-1], rng.integers(0, 255, (128, 192))]).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("c2pa") / ".assay")
    init_c2pa_chain(ws)
    return ws


def test_chain_files_and_private_keys_are_0600(ws: Workspace) -> None:
    info = init_c2pa_chain(ws)  # a second call keeps the chain
    assert not info.created
    folder = Path(info.folder)
    for key in ("root-ca.key.pem", "intermediate-ca.key.pem", "signer.key.pem"):
        assert stat.S_IMODE(os.stat(folder / key).st_mode) == 0o600
    assert "Claim Signer" in info.subject and "Intermediate" in info.issuer
    signer = load_signer(ws)
    assert signer.alg == "es256"
    assert "PRIVATE" not in repr(signer)  # the key never shows up in logs
    assert trust_roots(ws).count("BEGIN CERTIFICATE") == 1


@pytest.mark.parametrize(("fmt", "media"), FORMATS)
def test_sign_then_verify_is_trusted(ws: Workspace, fmt: str, media: str) -> None:
    signed = sign_image(
        _image(fmt), media, signer=load_signer(ws), generator_name="helpdesk v0.1",
        model_name="tiny-diffusion", ledger_id=123,
    )  # fmt: skip
    v = verify_c2pa(signed, media, ws)
    assert v.verdict == "trusted", v.explanation
    assert v.actions == ["c2pa.created"]
    assert v.digital_source_type == IPTC_DIGITAL_SOURCE + "trainedAlgorithmicMedia"
    assert (v.generator, v.model, v.ledger_id) == ("helpdesk v0.1", "tiny-diffusion", 123)
    assert v.signer and "Claim Signer" in v.signer.subject and "Intermediate" in v.signer.issuer
    assert v.claimed_time is not None and v.content_intact
    assert any(c.code == "signingCredential.trusted" for c in v.codes)


def test_composite_source_type(ws: Workspace) -> None:
    signed = sign_image(
        _image("PNG"), "image/png", signer=load_signer(ws), generator_name="g", model_name="m",
        digital_source_type="compositeWithTrainedAlgorithmicMedia",
    )  # fmt: skip
    assert verify_c2pa(signed, None, ws).digital_source_type.endswith("/compositeWithTrainedAlgorithmicMedia")


@pytest.mark.parametrize(("fmt", "media"), FORMATS)
def test_one_changed_byte_is_invalid(ws: Workspace, fmt: str, media: str) -> None:
    signed = bytearray(
        sign_image(_image(fmt), media, signer=load_signer(ws), generator_name="g", model_name="m")
    )
    signed[len(signed) // 2] ^= 0x01  # in the pixel data, away from the manifest
    v = verify_c2pa(bytes(signed), media, ws)
    assert v.verdict == "invalid"
    assert v.content_intact is False
    assert "changed after it was signed" in v.explanation
    assert "assertion.dataHash.mismatch" in [c.code for c in v.codes if c.kind == "failure"]


@pytest.mark.parametrize(("fmt", "media"), FORMATS)
def test_resave_strips_the_manifest(ws: Workspace, fmt: str, media: str) -> None:
    signed = sign_image(_image(fmt), media, signer=load_signer(ws), generator_name="g", model_name="m")
    buf = io.BytesIO()
    Image.open(io.BytesIO(signed)).save(buf, fmt)
    v = verify_c2pa(buf.getvalue(), media, ws)
    assert v.verdict == "no_manifest"
    assert "watermark" in v.explanation


def test_unknown_ca_is_valid_but_untrusted(ws: Workspace) -> None:
    other = make_chain("Somebody Else Pte Ltd")
    signer = load_signer(None, other.signer_chain, other.signer_key.get_secret_value())
    signed = sign_image(_image("JPEG"), "image/jpeg", signer=signer, generator_name="g", model_name="m")
    v = verify_c2pa(signed, "image/jpeg", ws)
    assert v.verdict == "valid_untrusted"
    assert v.content_intact
    assert "Somebody Else" in v.signer.subject and "trust list" in v.explanation
    # Once the user trusts that root, the same file is trusted.
    extra = Workspace(ws.home.parent / "other" / ".assay")
    init_c2pa_chain(extra)
    add_trust_root(extra, other.root_cert)
    assert verify_c2pa(signed, "image/jpeg", extra).verdict == "trusted"
    assert verify_c2pa(signed, "image/jpeg", None).verdict == "valid_untrusted"


def test_expired_certificate_is_stated(ws: Workspace) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    short = make_chain("Short Lived Ltd", signer_not_before=now - dt.timedelta(days=1),
                       signer_not_after=now + dt.timedelta(seconds=2))  # fmt: skip
    signer = load_signer(None, short.signer_chain, short.signer_key.get_secret_value())
    signed = sign_image(_image("PNG"), "image/png", signer=signer, generator_name="g", model_name="m")
    time.sleep(max(0.0, (signer.not_after - dt.datetime.now(dt.UTC)).total_seconds()) + 1.2)
    v = verify_c2pa(signed, "image/png", short.root_cert)
    assert v.verdict == "invalid"
    assert v.certificate_expired
    assert "expired" in v.explanation and "unchanged" in v.explanation


def test_bring_your_own_chain(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".assay")
    mine = make_chain("Bring Your Own Pte Ltd")
    info = import_signer_chain(ws, mine.signer_chain, mine.signer_key.get_secret_value())
    assert "Bring Your Own" in info.subject
    add_trust_root(ws, mine.root_cert)
    signed = sign_image(
        _image("PNG"), "image/png", signer=load_signer(ws), generator_name="g", model_name="m"
    )
    assert verify_c2pa(signed, None, ws).verdict == "trusted"
    wrong_key = make_chain("x").signer_key.get_secret_value()
    with pytest.raises(C2paKeyError, match="does not belong"):
        load_signer(None, mine.signer_chain, wrong_key)
    with pytest.raises(C2paKeyError, match="self-signed|CA certificate"):
        load_signer(None, mine.root_cert, mine.root_key.get_secret_value())


def test_not_an_image_is_rejected(ws: Workspace) -> None:
    with pytest.raises(ImageRejected):
        verify_c2pa(b"just some text, saved as photo.png\n", "image/png", ws)
    with pytest.raises(ImageRejected):
        sign_image(_image("JPEG"), "image/png", signer=load_signer(ws), generator_name="g", model_name="m")


def test_garbage_manifest_is_a_verdict_not_a_crash(ws: Workspace) -> None:
    signed = bytearray(sign_image(_image("PNG"), "image/png", signer=load_signer(ws), generator_name="g",
                                  model_name="m"))  # fmt: skip
    start = signed.find(b"jumb")
    signed[start + 40 : start + 400] = b"\xff" * 360
    v = verify_c2pa(bytes(signed), "image/png", ws)
    assert v.verdict in ("invalid", "no_manifest")
    assert v.explanation
