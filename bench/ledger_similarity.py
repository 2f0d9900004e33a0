"""Ledger similarity bench: the image threshold calibrated on unmarked near-duplicates (issue 9).

    .venv/bin/python bench/ledger_similarity.py           # 23 photos, ~2 min on 2 cores
    .venv/bin/python bench/ledger_similarity.py --quick   # 8 photos

Each real photo (the set `image_provenance.py` uses) is marked in a fresh workspace, the way
`assay mark` does. Then unmarked near-duplicates of each *original* -- the file before marking, JPEG
re-saves, a rescale, centre crops, a brightness change -- are verified as `assay verify` does:

- none may read "established": they carry no mark (the old code called every ledger match
  "established", which the "before" column counts);
- a resemblance to its own photo's entry is the intended `ledger_match`; one to another photo's entry
  is a false match. Every near-duplicate is also compared with every *other* photo's entry directly
  (no LSH pre-filter, so an upper bound), giving the false-match rate at several thresholds.

Photos that share content (the crops of one large photo, the two frames of the stereo pair) are one
family and are not counted as "different photos". Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_provenance import photos  # noqa: E402  (the bench photo set, nothing downloaded)

from assay.provenance import fingerprints as fp  # noqa: E402
from assay.provenance.c2pa_keys import init_c2pa_chain  # noqa: E402
from assay.provenance.ledger import IMAGE_MATCH  # noqa: E402
from assay.provenance.mark import mark_image  # noqa: E402
from assay.provenance.verify import verify_content  # noqa: E402
from assay.workspace import Workspace  # noqa: E402

THRESHOLDS = (0.75, 0.80, 0.85, 0.90, 0.95)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(quality: int) -> Callable[[Image.Image], bytes]:
    def save(img: Image.Image) -> bytes:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=quality)
        return buf.getvalue()

    return save


def _crop(keep: float) -> Callable[[Image.Image], bytes]:
    def crop(img: Image.Image) -> bytes:
        w, h = img.size
        dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
        return _png(img.crop((dx, dy, w - dx, h - dy)))

    return crop


VARIANTS: list[tuple[str, Callable[[Image.Image], bytes]]] = [
    ("original before marking (PNG)", _png),
    ("JPEG q90", _jpeg(90)),
    ("JPEG q75", _jpeg(75)),
    ("JPEG q50", _jpeg(50)),
    (
        "rescaled to 50%",
        lambda im: _png(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
    ),
    ("centre crop 95%", _crop(0.95)),
    ("centre crop 90%", _crop(0.90)),
    ("centre crop 80%", _crop(0.80)),
    ("brightness +10%", lambda im: _png(ImageEnhance.Brightness(im).enhance(1.10))),
]


def family(name: str) -> str:
    """Photos cut from one picture (retina crops, hubble halves, the stereo pair) share content."""
    return name.split()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 photos")
    args = ap.parse_args()
    images = photos()[: 8 if args.quick else None]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / ".assay", f"sqlite:///{Path(tmp) / 'assay.db'}")
        init_c2pa_chain(ws)
        entries: list[tuple[str, int, int]] = []  # (name, ledger id, phash of the marked copy)
        marked_ok = 0
        for name, img in images:
            result, signed = mark_image(ws, _png(img), system="bench", model="none", filename="p.png")
            entries.append((name, result.ledger_id, fp.phash(Image.open(io.BytesIO(signed)))))
            marked_ok += verify_content(ws, signed).verdict == "established"
        rows = []
        total = {"n": 0, "before": 0, "established": 0, "own": 0, "wrong": 0}
        pair_sims: list[float] = []
        for label, make in VARIANTS:
            sims, counts = [], {"n": 0, "before": 0, "established": 0, "own": 0, "wrong": 0, "none": 0}
            for (name, img), (_, own_id, own_hash) in zip(images, entries, strict=True):
                data = make(img)
                v = verify_content(ws, data)
                counts["n"] += 1
                counts["established"] += v.verdict == "established"
                direct = [h for h in v.ledger if h.match in ("exact", "same_content", "similar")]
                counts["before"] += v.verdict == "established" or bool(direct)  # old: any match established
                if v.verdict == "ledger_match" and direct:
                    counts["own" if direct[0].ledger_id == own_id else "wrong"] += 1
                elif v.verdict != "established":
                    counts["none"] += 1
                value = fp.phash(Image.open(io.BytesIO(data)))
                sims.append(fp.phash_similarity(value, own_hash))
                pair_sims += [
                    fp.phash_similarity(value, other_hash)
                    for other_name, _, other_hash in entries
                    if family(other_name) != family(name)
                ]
            for k in total:
                total[k] += counts[k]
            rows.append((label, counts, sims))
        ws.close()
    elapsed = time.perf_counter() - started

    print(f"# Ledger similarity vs unmarked near-duplicates ({dt.date.today()})\n")
    print(
        f"Python {platform.python_version()}, {len(images)} photos marked (`c2pa+dwtDctSvd`), "
        f"{len(VARIANTS)} unmarked variants of each original, IMAGE_MATCH = {IMAGE_MATCH:.2f}; "
        f"{elapsed:.0f} s. Marked copies verified as established: {marked_ok}/{len(images)}.\n"
    )
    print("| unmarked variant | n | similarity to own entry: mean / min | established before → now "
          "| ledger_match (own entry) | wrong entry | no match |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for label, c, sims in rows:
        print(
            f"| {label} | {c['n']} | {statistics.mean(sims):.3f} / {min(sims):.3f} | {c['before']} → "
            f"{c['established']} | {c['own']} | {c['wrong']} | {c['none']} |"
        )
    n = total["n"]
    print(
        f"| **all** | {n} | | **{total['before']} → {total['established']}** | {total['own']} | "
        f"{total['wrong']} | {n - total['own'] - total['wrong'] - total['established']} |\n"
    )
    pairs = len(pair_sims)
    print(
        f"Different photos: {pairs} (near-duplicate, other photo's marked copy) pairs; similarity mean "
        f"{statistics.mean(pair_sims):.3f}, max {max(pair_sims):.3f}.\n"
    )
    print("| threshold | false matches among different photos | rate | near-duplicates at or above |")
    print("|---|---|---|---|")
    own = [s for _, _, sims in rows for s in sims]
    for t in THRESHOLDS:
        fm = sum(s >= t for s in pair_sims)
        hit = sum(s >= t for s in own)
        print(f"| {t:.2f} | {fm} | {fm / pairs:.4f} | {hit}/{len(own)} ({hit / len(own):.0%}) |")
    chosen = sum(s >= IMAGE_MATCH for s in pair_sims)
    print(
        f'\nIMAGE_CALIBRATION for `assay.provenance.ledger`: {{"pairs": {pairs}, "false_matches": {chosen}}}'
    )


if __name__ == "__main__":
    main()
