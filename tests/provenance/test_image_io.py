"""Safe image loading: the bytes decide the format, and every bad file is a clear refusal."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from assay.provenance.image_io import ImageRejected, check_image_bytes, load_image, sniff_media_type


def _encode(fmt: str, size: tuple[int, int] = (160, 120)) -> bytes:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes that declare a huge RGB image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "media"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_loads_each_format_by_its_bytes_not_its_name(fmt: str, media: str) -> None:
    data = _encode(fmt)
    loaded = load_image(data, filename="misnamed.gif")
    assert loaded.media_type == media == sniff_media_type(data)
    assert (loaded.width, loaded.height) == (160, 120)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_image_is_rejected_with_a_reason(fmt: str) -> None:
    data = _encode(fmt)
    with pytest.raises(ImageRejected) as err:
        load_image(data[: len(data) // 2], filename=f"cut.{fmt.lower()}")
    assert err.value.code == "truncated"
    assert "truncated" in err.value.reason


def test_corrupt_png_is_rejected() -> None:
    data = bytearray(_encode("PNG"))
    data[200:260] = b"\0" * 60
    with pytest.raises(ImageRejected) as err:
        load_image(bytes(data))
    assert err.value.code in ("corrupt", "truncated")


@pytest.mark.parametrize("declared", [(100_000, 100_000), (8_000, 6_000)])
def test_decompression_bomb_is_refused_before_decoding(declared: tuple[int, int]) -> None:
    bomb = _bomb_png(*declared)
    assert len(bomb) < 200
    with pytest.raises(ImageRejected) as err:
        load_image(bomb, filename="bomb.png")
    assert err.value.code == "decompression_bomb"
    assert "decompression bomb" in err.value.reason


def test_text_under_an_image_name_is_not_an_image() -> None:
    with pytest.raises(ImageRejected) as err:
        load_image(b"Hello, this is a note.\nNot a picture.\n", filename="photo.png")
    assert err.value.code == "not_an_image"
    assert "this is not an image" in err.value.reason


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "empty"), (b"GIF89a" + b"\0" * 40, "unsupported_format"), (bytes(range(256)) * 4, "not_an_image")],
)
def test_other_bytes_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(ImageRejected) as err:
        check_image_bytes(data)
    assert err.value.code == code
