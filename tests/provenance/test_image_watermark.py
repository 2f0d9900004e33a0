"""The invisible watermark: it carries the ledger id through JPEG, resizing and metadata stripping,
and unmarked images are not flagged."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pywt")
pytest.importorskip("scipy")
skdata = pytest.importorskip("skimage.data")

from assay.provenance.image_watermark import (  # noqa: E402
    MAX_PAYLOAD_ID,
    N_BITS,
    WatermarkError,
    decode_payload,
    detect_watermark,
    embed_watermark,
    encode_payload,
)

PHOTOS = ["astronaut", "coffee", "chelsea"]
PAYLOAD = 3_141_592


def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skdata, name)()).convert("RGB")


def _jpeg(img: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _down_up(img: Image.Image, factor: float = 0.9) -> Image.Image:
    w, h = img.size
    small = img.resize((round(w * factor), round(h * factor)), Image.Resampling.BICUBIC)
    return small.resize((w, h), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def marked() -> dict[str, Image.Image]:
    return {name: embed_watermark(_photo(name), PAYLOAD) for name in PHOTOS}


def test_payload_round_trip_and_checksum() -> None:
    for pid in (0, 1, 42, PAYLOAD, MAX_PAYLOAD_ID):
        bits = encode_payload(pid)
        assert len(bits) == N_BITS
        assert decode_payload(bits) == (pid, True)
        flipped = bits.copy()
        flipped[5] ^= 1
        assert decode_payload(flipped)[1] is False
    # Blank bit patterns (what a flat image could decode to) never pass the checksum.
    assert not decode_payload(np.zeros(N_BITS, np.uint8))[1]
    assert not decode_payload(np.ones(N_BITS, np.uint8))[1]
    with pytest.raises(WatermarkError):
        encode_payload(MAX_PAYLOAD_ID + 1)


@pytest.mark.parametrize("name", PHOTOS)
def test_clean_jpeg_q75_and_resize_keep_the_payload(marked: dict[str, Image.Image], name: str) -> None:
    img = marked[name]
    diff = np.asarray(img, float) - np.asarray(_photo(name), float)
    assert 10 * np.log10(255**2 / np.mean(diff**2)) > 38  # PSNR: invisible to the eye
    for attacked in (img, _jpeg(img), _down_up(img), _jpeg(_down_up(img))):
        reading = detect_watermark(attacked, expected_id=PAYLOAD)
        assert reading.detected, reading.explanation
        assert reading.payload_id == PAYLOAD
        assert reading.bit_accuracy == 1.0


def test_stripped_c2pa_metadata_leaves_the_watermark(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("c2pa")
    from assay.provenance.c2pa_keys import init_c2pa_chain, load_signer
    from assay.provenance.image_c2pa import sign_image, verify_c2pa
    from assay.workspace import Workspace

    ws = Workspace(tmp_path / ".assay")
    init_c2pa_chain(ws)
    buf = io.BytesIO()
    embed_watermark(_photo("chelsea"), PAYLOAD).save(buf, "PNG")
    signer = load_signer(ws)
    signed = sign_image(buf.getvalue(), "image/png", signer=signer, generator_name="g", model_name="m")
    assert verify_c2pa(signed, "image/png", ws).verdict == "trusted"
    stripped = io.BytesIO()
    Image.open(io.BytesIO(signed)).save(stripped, "JPEG", quality=85)
    assert verify_c2pa(stripped.getvalue(), "image/jpeg", ws).verdict == "no_manifest"
    reading = detect_watermark(Image.open(stripped))
    assert reading.detected and reading.payload_id == PAYLOAD


def test_rescale_method_survives_a_different_size() -> None:
    img = embed_watermark(_photo("coffee"), PAYLOAD, method="dwtDctSvd-rescale")
    w, h = img.size
    for size in ((round(w * 0.75), round(h * 0.75)), (round(w * 1.3), round(h * 1.3))):
        reading = detect_watermark(_jpeg(img.resize(size, Image.Resampling.LANCZOS), 85))
        assert reading.detected and reading.payload_id == PAYLOAD
        assert reading.method == "dwtDctSvd-rescale"


def test_unmarked_images_are_not_flagged() -> None:
    rng = np.random.default_rng(0)
    images = [_photo(n) for n in ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins")]
    images += [Image.new("RGB", (256, 200), (v, v, v)) for v in range(0, 256, 51)]
    images += [Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)) for _ in range(3)]
    grad = np.linspace(0, 255, 300)[None, :, None].repeat(200, 0).repeat(3, 2).astype(np.uint8)
    images.append(Image.fromarray(grad))
    for img in images:
        reading = detect_watermark(img)
        assert not reading.detected, reading.explanation
        assert reading.payload_id is None
        assert reading.bit_agreement < reading.threshold or not reading.checksum_ok


def test_alpha_kept_and_small_images_refused() -> None:
    rgba = _photo("chelsea").convert("RGBA")
    rgba.putalpha(128)
    out = embed_watermark(rgba, 7)
    assert out.mode == "RGBA" and np.all(np.asarray(out)[..., 3] == 128)
    assert detect_watermark(out).payload_id == 7
    with pytest.raises(WatermarkError, match="at least"):
        embed_watermark(Image.new("RGB", (100, 100)), 1)
    assert not detect_watermark(Image.new("RGB", (50, 50))).detected
