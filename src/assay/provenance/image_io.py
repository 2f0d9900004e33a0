"""Safe image loading for provenance: the bytes decide the format, and bad input is a clear refusal.

Verification takes images from anyone (a CLI argument, an upload on the public page), so nothing here
trusts the file name: the format comes from the magic bytes, only PNG, JPEG and WebP pass, the pixel
count is checked from the header before any pixel is decoded (a decompression bomb is a tiny file that
declares a huge image), and every decoder failure becomes `ImageRejected` with a reason a person can
read, never a crash.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

MediaType = Literal["image/png", "image/jpeg", "image/webp"]
SUPPORTED: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp")
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}

# 40 megapixels covers any camera or generator output in use; Pillow's own default (~89 MP, error
# only at twice that) lets a 4 KB PNG ask for gigabytes of memory.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 50 * 1024 * 1024
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_IMAGE_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

RejectCode = Literal[
    "empty", "not_an_image", "unsupported_format", "too_large", "decompression_bomb", "truncated", "corrupt"
]

# Magic numbers of formats we recognise only to name them in the refusal.
_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"), (b"\x00\x00\x01\x00", "ICO"), (b"\xff\x0a", "JPEG XL"), (b"8BPS", "PSD"),
    (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"),
)  # fmt: skip


class ImageRejected(ValueError):
    """The bytes are not an image Assay will read; `reason` says why in plain words."""

    def __init__(self, reason: str, code: RejectCode = "corrupt") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class LoadedImage(BaseModel):
    """A decoded image and what its bytes really are."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    media_type: MediaType
    width: int
    height: int
    mode: str
    image: Image.Image


def sniff_media_type(data: bytes) -> MediaType | None:
    """PNG, JPEG or WebP from the first bytes, else None. The file name is never consulted."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the 4 KB boundary is still text.
        try:
            text = head[:-4].decode("utf-8") if len(head) > 4 else ""
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return bool(text) and printable / len(text) > 0.95


def _cut_short(data: bytes, media_type: MediaType) -> bool:
    """Whether the file visibly ends before its format says it should."""
    if media_type == "image/webp":
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if media_type == "image/png":
        return b"IEND" not in data[-16:]
    return not data.rstrip(b"\x00").endswith(b"\xff\xd9")


def check_image_bytes(data: bytes, filename: str | None = None) -> MediaType:
    """The real media type of `data`, or `ImageRejected` before any decoding is attempted."""
    named = f" ({filename})" if filename else ""
    if not data:
        raise ImageRejected(f"the file{named} is empty", "empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(
            f"the file{named} is {len(data) / 1e6:.0f} MB; images over {MAX_IMAGE_BYTES // 2**20} MiB "
            "are not read",
            "too_large",
        )
    media_type = sniff_media_type(data)
    if media_type is not None:
        return media_type
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            raise ImageRejected(
                f"the file{named} is {name}; only PNG, JPEG and WebP images are supported",
                "unsupported_format",
            )
    if _looks_like_text(data):
        raise ImageRejected(f"this is not an image{named}: the bytes are text", "not_an_image")
    raise ImageRejected(f"this is not an image{named}: its bytes are not PNG, JPEG or WebP", "not_an_image")


def load_image(data: bytes, filename: str | None = None, max_pixels: int = MAX_IMAGE_PIXELS) -> LoadedImage:
    """Decode PNG/JPEG/WebP bytes fully, or raise `ImageRejected`; never any other exception."""
    media_type = check_image_bytes(data, filename)
    named = f" ({filename})" if filename else ""
    kind = media_type.split("/")[1].upper()
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it; a warning here must stop the decode.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=[kind])
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageRejected(f"the {kind} image{named} declares no pixels", "corrupt")
            if width * height > max_pixels:
                raise ImageRejected(
                    f"the {kind} image{named} declares {width}×{height} pixels "
                    f"({width * height / 1e6:.0f} MP), over the {max_pixels / 1e6:.0f} MP limit: "
                    "refused as a possible decompression bomb",
                    "decompression_bomb",
                )
            img.load()
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageRejected(
                f"the {kind} image{named} is too large to decode safely: {e}", "decompression_bomb"
            ) from e
        except UnidentifiedImageError as e:
            code0: RejectCode = "truncated" if _cut_short(data, media_type) else "corrupt"
            what0 = "is truncated" if code0 == "truncated" else "has a damaged header"
            raise ImageRejected(f"the {kind} image{named} {what0}", code0) from e
        except Exception as e:  # noqa: BLE001 - zlib.error, struct.error, OSError…: all mean a bad file
            text = str(e)
            cut = "truncated" in text.lower() or isinstance(e, EOFError) or _cut_short(data, media_type)
            code: RejectCode = "truncated" if cut else "corrupt"
            what = "is truncated" if code == "truncated" else "is damaged"
            raise ImageRejected(f"the {kind} image{named} {what}: {text or type(e).__name__}", code) from e
    return LoadedImage(media_type=media_type, width=width, height=height, mode=img.mode, image=img)
