"""The held-out photo folder for bench/image_provenance.py: real photographs that
bench/data/fetch_photos.sh copies out of Debian packages, each given a size the way it would
be met in the wild — some near camera resolution, most at a web size.

Kept apart from the bench so the size choice (which decides what the watermark is measured on)
can be tested without the photos, which are never committed.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

# A full-resolution photo is capped here (resampled once) so one detection stays bounded on CPU.
FULL_CAP = 2048
# Typical long sides of a photo served on the web or sent in a chat.
WEB_SIZES = (640, 800, 1024, 1280)
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass(frozen=True)
class Photo:
    """One photo as the bench uses it: its file stem, the package it came from, the image."""

    name: str
    source: str
    image: Image.Image
    original_size: tuple[int, int]


def target_long_side(name: str, width: int, height: int) -> int:
    """The long side a photo is measured at: fixed per file name (CRC-32), never upscaled.

    One photo in three keeps its own size up to FULL_CAP; the others get one of WEB_SIZES,
    so the set spans 640 px to 2048 px whatever the packages ship.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"{name}: image size {width}×{height} is empty")
    long_side = max(width, height)
    h = zlib.crc32(name.encode("utf-8"))
    wanted = FULL_CAP if h % 3 == 0 else WEB_SIZES[(h // 3) % len(WEB_SIZES)]
    return min(long_side, wanted)


def resized(name: str, img: Image.Image) -> Image.Image:
    """`img` in RGB at target_long_side (Lanczos, once); unchanged when already that size."""
    img = img.convert("RGB")
    w, h = img.size
    side = target_long_side(name, w, h)
    if side == max(w, h):
        return img
    scale = side / max(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def read_sources(folder: Path) -> dict[str, str]:
    """file name → Debian package, from the SOURCES.tsv fetch_photos.sh writes (empty if none)."""
    tsv = folder / "SOURCES.tsv"
    if not tsv.is_file():
        return {}
    with tsv.open(encoding="utf-8", newline="") as f:
        return {row["file"]: row["package"] for row in csv.DictReader(f, delimiter="\t")}


def load_photos(folder: Path) -> list[Photo]:
    """Every photo in `folder`, sorted by name, each at its target size.

    The source is the package named in SOURCES.tsv, else the part of the name before "__".
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such photo folder (run bench/data/fetch_photos.sh)")
    sources = read_sources(folder)
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SUFFIXES or path.name.startswith("."):
            continue
        with Image.open(path) as im:
            im.load()
            size = im.size
            img = resized(path.stem, im)
        source = sources.get(path.name) or (path.stem.split("__")[0] if "__" in path.stem else "photos")
        out.append(Photo(path.stem, source, img, size))
    return out
