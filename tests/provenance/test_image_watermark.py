"""The invisible watermark: it carries the ledger id through JPEG, resizing and metadata stripping,
crops, small rotations, kept resizes and brightness changes (syncTile), and unmarked images are not
flagged. Images marked with the older DWT methods still read."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pywt")
pytest.importorskip("scipy")
skdata = pytest.importorskip("skimage.data")

from assay.provenance.image_watermark import (  # noqa: E402
    DEFAULT_METHOD,
    MAX_PAYLOAD_ID,
    N_BITS,
    WatermarkError,
    decode_payload,
    detect_watermark,
    embed_watermark,
    encode_payload,
)
from assay.provenance.image_watermark_sync import conv_encode, viterbi  # noqa: E402

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
        assert reading.payload_id == PAYLOAD and reading.method == "syncTile"
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


def _crop(img: Image.Image, frac: float = 0.1) -> Image.Image:
    w, h = img.size
    return img.crop(
        (round(w * frac * 0.3), round(h * frac * 0.7), w - round(w * frac * 0.7), h - round(h * frac * 0.3))
    )


def _screenshot(img: Image.Image) -> Image.Image:
    w, h = img.size
    shown = img.resize((round(w * 0.8), round(h * 0.8)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (shown.width + 40, shown.height + 100), (236, 236, 240))
    canvas.paste(shown, (20, 80))
    buf = io.BytesIO()
    canvas.save(buf, "WEBP", quality=80)
    return Image.open(io.BytesIO(buf.getvalue()))


SYNC_EDITS = {
    "JPEG q50": lambda im: _jpeg(im, 50),
    "crop 10%": _crop,
    "rotate 2°": lambda im: im.rotate(2, Image.Resampling.BICUBIC),
    "rotate −3° + JPEG q75": lambda im: _jpeg(im.rotate(-3, Image.Resampling.BICUBIC)),
    "kept at 60% + JPEG q75": lambda im: _jpeg(im.resize((round(im.width * 0.6), round(im.height * 0.6)))),
    "brightness +20%": lambda im: Image.fromarray(
        np.clip(np.asarray(im, float) * 1.2, 0, 255).astype(np.uint8)
    ),
    "screenshot: 80%, border, WebP": _screenshot,
}


@pytest.fixture(scope="module")
def sync_marked() -> Image.Image:
    return embed_watermark(_photo("coffee"), PAYLOAD, method="syncTile")


@pytest.mark.parametrize("edit", list(SYNC_EDITS))
def test_sync_tile_survives_everyday_edits(sync_marked: Image.Image, edit: str) -> None:
    assert DEFAULT_METHOD == "syncTile"
    reading = detect_watermark(SYNC_EDITS[edit](sync_marked), expected_id=PAYLOAD)
    assert reading.detected, f"{edit}: {reading.explanation}"
    assert reading.method == "syncTile" and reading.payload_id == PAYLOAD
    assert reading.sync_z is not None and reading.sync_z >= reading.threshold


def test_sync_tile_finds_the_geometry(sync_marked: Image.Image) -> None:
    turned = detect_watermark(sync_marked.rotate(2, Image.Resampling.BICUBIC), "syncTile")
    assert turned.angle is not None and abs(abs(turned.angle) - 2.0) < 0.3
    cropped = detect_watermark(_crop(sync_marked, 0.2), "syncTile")  # short side 400 → 320: frame scale 1.25
    assert cropped.detected and cropped.scale is not None and abs(cropped.scale - 1.25) < 0.02
    diff = np.asarray(sync_marked, float) - np.asarray(_photo("coffee"), float)
    assert 10 * np.log10(255**2 / np.mean(diff**2)) > 38
    # Luminance only: R, G and B move together (except where a channel clips at 0 or 255).
    orig = np.asarray(_photo("coffee"), float)
    inside = np.all((orig > 20) & (orig < 235), axis=-1)
    assert inside.mean() > 0.5
    assert np.abs(diff[..., 0] - diff[..., 1])[inside].max() <= 1
    assert np.abs(diff[..., 1] - diff[..., 2])[inside].max() <= 1


def test_viterbi_corrects_what_the_code_can() -> None:
    rng = np.random.default_rng(3)
    bits = encode_payload(PAYLOAD)
    coded = conv_encode(bits)
    assert len(coded) == 108
    soft = 2.0 * coded - 1.0
    assert np.array_equal(viterbi(soft), bits)
    noisy = soft.copy()
    noisy[rng.choice(len(noisy), 6, replace=False)] *= -1  # six coded bits flipped, spread out
    assert decode_payload(viterbi(noisy + rng.normal(0, 0.2, len(noisy)))) == (PAYLOAD, True)


def test_images_marked_with_the_old_default_still_verify() -> None:
    img = embed_watermark(_photo("chelsea"), PAYLOAD, method="dwtDctSvd")
    reading = detect_watermark(_jpeg(img))
    assert reading.detected and reading.payload_id == PAYLOAD and reading.method == "dwtDctSvd"


def test_cli_mark_chooses_the_image_watermark(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("c2pa")
    from typer.testing import CliRunner

    from assay.cli.main import app

    runner = CliRunner()
    home = ["--home", str(tmp_path / ".assay")]
    assert runner.invoke(app, ["keys", "init", *home]).exit_code == 0
    src = tmp_path / "pic.png"
    _photo("chelsea").save(src)
    r = runner.invoke(
        app, ["mark", str(src), "--model", "diffuser", "--image-watermark", "dwtDctSvd-rescale", *home]
    )
    assert r.exit_code == 0, r.output
    assert "c2pa+dwtDctSvd-rescale" in r.output
    out = tmp_path / "pic.marked.png"
    reading = detect_watermark(Image.open(out).resize((300, 200)))
    assert reading.detected and reading.method == "dwtDctSvd-rescale"
    r = runner.invoke(
        app, ["mark", str(src), "--model", "diffuser", "--image-watermark", "nope", "--force", *home]
    )
    assert r.exit_code == 2 and "unknown image watermark" in r.output


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


def _brick_wall(width: int = 512, height: int = 512, brick: tuple[int, int] = (48, 20)) -> Image.Image:
    """A synthetic brick wall in running bond: courses every 20 px, so the 60 px tile folds them
    into the same few places, and its lattice competes with the pattern's."""
    rng = np.random.default_rng(5)
    bw, bh = brick
    yy, xx = np.mgrid[0:height, 0:width]
    row = yy // bh
    shifted = xx + (row % 2) * bw // 2
    mortar = (yy % bh < 3) | (shifted % bw < 3)
    shade = rng.normal(0, 18, (height // bh + 2, width // bw + 3))[row, shifted // bw]
    grain = rng.normal(0, 10, (height, width))
    grey = np.where(mortar, 200.0 + grain / 2, 140.0 + shade + grain) + 25 * (xx / width - 0.5)
    rgb = np.stack([grey, grey * 0.62, grey * 0.45], axis=-1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _kept(img: Image.Image, factor: float) -> Image.Image:
    return img.resize((round(img.width * factor), round(img.height * factor)), Image.Resampling.LANCZOS)


@pytest.mark.parametrize("edit", ["unedited", "kept at 50%", "screenshot: 80%, border, WebP"])
def test_sync_tile_reads_through_a_periodic_host(edit: str) -> None:
    """A brick wall's own repeats fold into the tile and outvote the pattern's lattice; the capped
    tile spectrum and the flattened autocorrelation find the mark anyway (the old detector: z ≈ 2)."""
    marked = embed_watermark(_brick_wall(), PAYLOAD, method="syncTile")
    attacked = {"unedited": marked, "kept at 50%": _kept(marked, 0.5)}.get(edit) or _screenshot(marked)
    reading = detect_watermark(attacked, "syncTile", expected_id=PAYLOAD)
    assert reading.detected, f"{edit}: {reading.explanation}"
    assert reading.payload_id == PAYLOAD


@pytest.mark.parametrize("payload", [1, 3_141_592])
def test_sync_tile_reads_a_picture_shrunk_to_128_px(payload: int) -> None:
    """A 256×512 picture marked, kept at 50% (128×256, the smallest the detector reads) and re-saved
    as JPEG q90: the chips are read only up to the small picture's Nyquist frequency."""
    half = _photo("camera").crop((0, 0, 256, 512))
    small = _jpeg(_kept(embed_watermark(half, payload, method="syncTile"), 0.5), 90)
    assert small.size == (128, 256)
    reading = detect_watermark(small, "syncTile", expected_id=payload)
    assert reading.detected, reading.explanation
    assert reading.payload_id == payload


def test_sync_tile_marks_made_before_the_detector_changed_still_read() -> None:
    """A file marked by the syncTile embedder as it was on main at 86c1ba4 (payload 271828, JPEG
    q92): detection changes must keep reading marks already published, also after a 2° turn."""
    path = Path(__file__).parent / "fixtures" / "synctile_main_86c1ba4_id271828.jpg"
    old = Image.open(path).convert("RGB")
    for img in (old, old.rotate(2, Image.Resampling.BICUBIC), _kept(old, 0.7)):
        reading = detect_watermark(img)
        assert reading.detected and reading.payload_id == 271828, reading.explanation
        assert reading.method == "syncTile"
