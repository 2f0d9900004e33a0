"""bench/photo_set.py: the size each held-out photo is measured at, and how the folder is read.

The photos themselves (Debian packages, fetched by bench/data/fetch_photos.sh) are never needed
here: the folder tests write their own small images.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from PIL import Image

BENCH = Path(__file__).resolve().parents[2] / "bench" / "photo_set.py"
_spec = importlib.util.spec_from_file_location("bench_photo_set", BENCH)
assert _spec and _spec.loader
photo_set = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = photo_set  # dataclasses look their module up there
_spec.loader.exec_module(photo_set)

NAMES = [f"pkg__photo{i:03d}" for i in range(300)]


def test_size_is_fixed_per_name_and_never_upscales() -> None:
    for name in NAMES:
        side = photo_set.target_long_side(name, 4000, 3000)
        assert side == photo_set.target_long_side(name, 4000, 3000)
        assert side in (photo_set.FULL_CAP, *photo_set.WEB_SIZES)
        # a photo smaller than its target keeps its own size
        assert photo_set.target_long_side(name, 500, 300) == 500


def test_sizes_are_varied_about_a_third_full() -> None:
    sides = [photo_set.target_long_side(n, 6000, 4000) for n in NAMES]
    assert set(sides) == {photo_set.FULL_CAP, *photo_set.WEB_SIZES}
    full = sides.count(photo_set.FULL_CAP) / len(sides)
    assert 0.2 < full < 0.45, full


def test_empty_size_is_refused() -> None:
    with pytest.raises(ValueError, match="pkg__x"):
        photo_set.target_long_side("pkg__x", 0, 10)


def test_resized_keeps_aspect_and_leaves_small_images_alone() -> None:
    name = next(n for n in NAMES if photo_set.target_long_side(n, 3000, 2000) == 640)
    out = photo_set.resized(name, Image.new("L", (2000, 3000), 128))
    assert out.mode == "RGB"
    assert out.size == (427, 640)
    small = Image.new("RGB", (300, 200), (1, 2, 3))
    assert photo_set.resized(name, small).size == (300, 200)


def test_load_photos_reads_sources_and_skips_other_files(tmp_path: Path) -> None:
    Image.new("RGB", (3000, 1500), (10, 20, 30)).save(tmp_path / "mate__Big.jpg")
    Image.new("RGB", (320, 240), (10, 20, 30)).save(tmp_path / "opencv__small.png")
    Image.new("RGB", (320, 240)).save(tmp_path / "loose.webp")
    Image.new("RGB", (320, 240)).save(tmp_path / ".hidden.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "SOURCES.tsv").write_text(
        "file\tpackage\tversion\tpath\tlicence\nmate__Big.jpg\tmate-backgrounds\t1\t/x\tGPL-2+\n"
    )
    got = {p.name: p for p in photo_set.load_photos(tmp_path)}
    assert sorted(got) == ["loose", "mate__Big", "opencv__small"]
    assert got["mate__Big"].source == "mate-backgrounds"
    assert got["opencv__small"].source == "opencv"
    assert got["loose"].source == "photos"
    big = got["mate__Big"]
    assert big.original_size == (3000, 1500)
    assert max(big.image.size) == photo_set.target_long_side("mate__Big", 3000, 1500)
    assert got["opencv__small"].image.size == (320, 240)


def test_missing_folder_says_how_to_fill_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="fetch_photos.sh"):
        photo_set.load_photos(tmp_path / "nope")
