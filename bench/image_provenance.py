"""Image provenance bench: the image watermark against everyday edits (held-out photos), its false
positives on unmarked images, embed + detect time, and C2PA sign + verify time per image.

    .venv/bin/python bench/image_provenance.py               # ~15 min on the shared 2-core machine
    .venv/bin/python bench/image_provenance.py --quick       # 6 held-out photos, 60 unmarked images
    .venv/bin/python bench/image_provenance.py --compare     # also the two DWT methods on the held-out half
    .venv/bin/python bench/image_provenance.py --tuning-only --unmarked 200   # for development
    bash bench/data/fetch_photos.sh   # once, optional: 71 more real photos from Debian packages

Photos (nothing is downloaded at run time): the 20 real photographs that scikit-image, scikit-learn
and matplotlib ship, plus the left and right (or top and bottom) halves of each that has a short side
of at least 400 px — 54 images, 300 px to 1411 px a side. Crops stay in the half of their source
photo. The half named TUNE_GROUPS (with the five photos the method was developed on) is the tuning
half; figures reported are for the other, held-out half. With `--photos DIR` (by default
bench/data/photos when fetch_photos.sh has filled it) every photo in DIR joins the held-out half —
none is ever tuned on — at a size fixed per photo (photo_set.py: a third near full size, capped at
2048 px, the rest at 640–1280 px), and the unmarked images are drawn from all the photos. Prints a
Markdown report.
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

import numpy as np
from photo_set import FULL_CAP, load_photos
from PIL import Image, ImageEnhance

from assay.provenance.c2pa_keys import init_c2pa_chain, load_signer
from assay.provenance.image_c2pa import sign_image, verify_c2pa
from assay.provenance.image_watermark import METHODS, Method, detect_watermark, embed_watermark
from assay.provenance.image_watermark_sync import Z_THRESHOLD
from assay.workspace import Workspace

PHOTO_DIR = Path(__file__).resolve().parent / "data" / "photos"
BUNDLED = "scikit-image, scikit-learn, matplotlib"

SKIMAGE_COLOUR = [
    "astronaut",
    "chelsea",
    "coffee",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "rocket",
]
SKIMAGE_GREY = ["camera", "coins", "moon", "grass", "gravel", "brick", "cell", "clock"]
# The tuning half: the five photos syncTile was developed on, then others until half the images.
TUNE_GROUPS = [
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "grass",
    "moon",
    "flower",
    "gravel",
    "clock",
]


def source_photos() -> list[tuple[str, Image.Image]]:
    """The 20 distinct real photographs, in RGB."""
    from skimage import data

    out = [(n, Image.fromarray(getattr(data, n)()).convert("RGB")) for n in SKIMAGE_COLOUR]
    left, right, _ = data.stereo_motorcycle()
    out += [("motorcycle_left", Image.fromarray(left)), ("motorcycle_right", Image.fromarray(right))]
    out += [(n, Image.fromarray(getattr(data, n)()).convert("RGB")) for n in SKIMAGE_GREY]
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        out.append(("grace_hopper", Image.open(f).convert("RGB")))
    from sklearn.datasets import load_sample_images

    sk = load_sample_images()
    out += [(Path(fn).stem, Image.fromarray(im)) for fn, im in zip(sk.filenames, sk.images, strict=True)]
    return out


def photos() -> list[tuple[str, str, Image.Image]]:
    """(name, source photo, image): each photo, then its two halves where its short side is ≥ 400."""
    out = []
    for group, im in source_photos():
        out.append((group, group, im))
        w, h = im.size
        if min(w, h) >= 400:
            if w >= h:
                halves = [("left", (0, 0, w // 2, h)), ("right", (w // 2, 0, w, h))]
            else:
                halves = [("top", (0, 0, w, h // 2)), ("bottom", (0, h // 2, w, h))]
            out += [(f"{group} {side}", group, im.crop(box)) for side, box in halves]
    return out


def jpeg(img: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def webp(img: Image.Image, quality: int = 75) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "WEBP", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def rescale(img: Image.Image, factor: float = 0.75) -> Image.Image:
    w, h = img.size
    return img.resize((round(w * factor), round(h * factor)), Image.Resampling.LANCZOS)


def down_up(img: Image.Image, factor: float = 0.9) -> Image.Image:
    w, h = img.size
    return rescale(img, factor).resize((w, h), Image.Resampling.BICUBIC)


def crop(img: Image.Image, frac: float = 0.1, seed: int = 0) -> Image.Image:
    """Cut `frac` of the width and of the height away, split unevenly between the two sides."""
    rng = np.random.default_rng(seed)
    w, h = img.size
    cw, ch = round(w * frac), round(h * frac)
    x, y = int(rng.integers(0, cw + 1)), int(rng.integers(0, ch + 1))
    return img.crop((x, y, x + w - cw, y + h - ch))


def rotate(img: Image.Image, degrees: float) -> Image.Image:
    """Turned about the centre, same canvas size: the corners that come in are black."""
    return img.rotate(degrees, Image.Resampling.BICUBIC, expand=False)


def screenshot(img: Image.Image, scale: float = 0.8, fmt: str = "WEBP") -> Image.Image:
    """Shown at 80% in a window (grey chrome: a title bar and a frame), captured and saved as WebP q80."""
    shown = rescale(img, scale)
    w, h = shown.size
    canvas = Image.new("RGB", (w + 48, h + 120), (236, 236, 240))
    canvas.paste((52, 54, 60), (0, 0, w + 48, 72))
    canvas.paste(shown, (24, 84))
    return webp(canvas, 80) if fmt == "WEBP" else canvas


ATTACKS: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "none": lambda im, s: im,
    "JPEG q75": lambda im, s: jpeg(im, 75),
    "JPEG q50": lambda im, s: jpeg(im, 50),
    "WebP q75": lambda im, s: webp(im, 75),
    "resize 90% and back": lambda im, s: down_up(im, 0.9),
    "kept at 90%": lambda im, s: rescale(im, 0.9),
    "kept at 70%": lambda im, s: rescale(im, 0.7),
    "kept at 50%": lambda im, s: rescale(im, 0.5),
    "crop 10% (w and h)": lambda im, s: crop(im, 0.1, s),
    "rotate 1°": lambda im, s: rotate(im, 1),
    "rotate −2°": lambda im, s: rotate(im, -2),
    "rotate 3°": lambda im, s: rotate(im, 3),
    "brightness +20%": lambda im, s: ImageEnhance.Brightness(im).enhance(1.2),
    "brightness −20%": lambda im, s: ImageEnhance.Brightness(im).enhance(0.8),
    "contrast +20%": lambda im, s: ImageEnhance.Contrast(im).enhance(1.2),
    "contrast −20%": lambda im, s: ImageEnhance.Contrast(im).enhance(0.8),
    "screenshot (80%, border, WebP q80)": lambda im, s: screenshot(im),
    "screenshot (100%, border, PNG)": lambda im, s: screenshot(im, 1.0, "PNG"),
    "crop 10% + rotate 2° + JPEG q75": lambda im, s: jpeg(rotate(crop(im, 0.1, s), 2), 75),
    "kept at 70% + JPEG q75": lambda im, s: jpeg(rescale(im, 0.7), 75),
}


def psnr(a: Image.Image, b: Image.Image) -> float:
    d = np.asarray(a.convert("RGB"), float) - np.asarray(b.convert("RGB"), float)
    return float(10 * np.log10(255**2 / max(np.mean(d**2), 1e-12)))


def split(images: list[tuple[str, str, Image.Image]]) -> tuple[list, list]:
    tune = [(n, im) for n, g, im in images if g in TUNE_GROUPS]
    held = [(n, im) for n, g, im in images if g not in TUNE_GROUPS]
    return tune, held


def unmarked_set(
    base: list[tuple[str, str, Image.Image]], n: int, seed: int = 1
) -> list[tuple[str, Image.Image]]:
    """`n` unmarked images, each with the photo it derives from: the images of `base` (name, photo,
    image) first, then random crops, rescales, small turns and JPEG/WebP re-saves of them."""
    rng = np.random.default_rng(seed)
    out = [(g, im) for _, g, im in base][:n]
    while len(out) < n:
        _, group, im = base[int(rng.integers(len(base)))]
        w, h = im.size
        cw, ch = int(rng.integers(min(200, w), w + 1)), int(rng.integers(min(200, h), h + 1))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = im.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            img = rescale(img, float(rng.uniform(0.7, 1.4)))
        if rng.random() < 0.2:
            img = rotate(img, float(rng.uniform(-3, 3)))
        r = rng.random()
        if r < 0.35:
            img = jpeg(img, int(rng.integers(50, 96)))
        elif r < 0.55:
            img = webp(img, int(rng.integers(60, 96)))
        if min(img.size) >= 128:
            out.append((group, img))
    return out


def bench_watermark(images: list[tuple[str, Image.Image]], method: Method, label: str) -> tuple[list, dict]:
    """Detection per attack for one method on one set of photos; returns table rows and stats."""
    rng = np.random.default_rng(0)
    hit: dict[str, int] = dict.fromkeys(ATTACKS, 0)
    acc: dict[str, list[float]] = {a: [] for a in ATTACKS}
    misses: dict[str, list[str]] = {a: [] for a in ATTACKS}
    psnrs = []
    for i, (name, img) in enumerate(images):
        pid = int(rng.integers(0, 2**32))
        marked = embed_watermark(img, pid, method)
        psnrs.append(psnr(img, marked))
        print(f"  {label} {i + 1}/{len(images)}: {name}", file=sys.stderr, flush=True)
        for attack, fn in ATTACKS.items():
            r = detect_watermark(fn(marked, i), method, expected_id=pid)
            ok = r.detected and r.payload_id == pid
            hit[attack] += int(ok)
            acc[attack].append(r.bit_accuracy or 0.0)
            if not ok:
                misses[attack].append(name)
    n = len(images)
    rows = [f"| `{method}` {label} | {a} | {hit[a]}/{n} ({hit[a] / n:.2f}) | {np.mean(acc[a]):.3f} | "
            f"{', '.join(misses[a][:3])}{' …' if len(misses[a]) > 3 else ''} |" for a in ATTACKS]  # fmt: skip
    stats = {"psnr_mean": float(np.mean(psnrs)), "psnr_min": float(min(psnrs)),
             "psnr_median": float(np.median(psnrs)),
             "misses": {a: m for a, m in misses.items() if m}}  # fmt: skip
    return rows, stats


def bench_false_positives(unmarked: list[tuple[str, Image.Image]], method: Method | None) -> list[str]:
    """Detection on unmarked images (each with the photo it derives from): flags, chance CRCs, z."""
    flagged, crc, zs, t, who_flagged = 0, 0, [], time.perf_counter(), []
    for k, (group, img) in enumerate(unmarked):
        if k % 100 == 0:
            print(f"  unmarked {k}/{len(unmarked)} ({method or 'all'})", file=sys.stderr, flush=True)
        r = detect_watermark(img, method)
        flagged += int(r.detected)
        if r.detected:
            who_flagged.append(group)
        crc += int(r.checksum_ok)
        if r.sync_z is not None:
            zs.append(r.sync_z)
    who = f"`{method}` only" if method else "all methods, as `assay verify` reads"
    photos_in = len({g for g, _ in unmarked})
    line = (f"{who}: {len(unmarked)} unmarked images from {photos_in} distinct photographs, flagged "
            f"**{flagged}** (false-positive rate {flagged / len(unmarked):.4f}"
            f"{'; from ' + ', '.join(sorted(set(who_flagged))) if who_flagged else ''}); "
            f"checksum held by chance on {crc}")  # fmt: skip
    if zs:
        line += (f"; sync z mean {np.mean(zs):.2f}, max {max(zs):.2f}, ≥ {Z_THRESHOLD} on "
                 f"{sum(z >= Z_THRESHOLD for z in zs)} (the z threshold)")  # fmt: skip
    return [line + f"; {1000 * (time.perf_counter() - t) / len(unmarked):.0f} ms per image."]


def bench_timing() -> list[str]:
    """Embed + detect CPU time for ~1-megapixel photos (median of 5)."""
    from skimage import data

    retina = Image.fromarray(data.retina())
    imgs = {"retina centre 1024×1024": retina.crop((194, 194, 1218, 1218)),
            "hubble 1000×872": Image.fromarray(data.hubble_deep_field())}  # fmt: skip
    lines = []
    for name, img in imgs.items():
        te, td, tw = [], [], []
        for k in range(5):
            c0, w0 = time.process_time(), time.perf_counter()
            marked = embed_watermark(img, 1000 + k, "syncTile")
            c1 = time.process_time()
            r = detect_watermark(jpeg(marked, 75), "syncTile")
            c2, w2 = time.process_time(), time.perf_counter()
            assert r.detected and r.payload_id == 1000 + k, r.explanation
            te.append(c1 - c0)
            td.append(c2 - c1)
            tw.append(w2 - w0)
        lines.append(f"- {name}: embed {1000 * statistics.median(te):.0f} ms CPU + detect (after JPEG q75) "
                     f"{1000 * statistics.median(td):.0f} ms CPU = "
                     f"{1000 * (statistics.median(te) + statistics.median(td)):.0f} ms "
                     f"(wall {1000 * statistics.median(tw):.0f} ms, JPEG round trip included)")  # fmt: skip
    return lines


def bench_c2pa(images: list[tuple[str, Image.Image]]) -> list[str]:
    lines = ["| format | sign median | verify median | verdicts |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / ".assay")
        init_c2pa_chain(ws)
        signer = load_signer(ws)
        for fmt, media in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
            t_sign, t_verify, verdicts = [], [], []
            for _, img in images:
                buf = io.BytesIO()
                img.save(buf, fmt)
                data = buf.getvalue()
                t0 = time.perf_counter()
                signed = sign_image(data, media, signer=signer, generator_name="bench", model_name="none")
                t1 = time.perf_counter()
                v = verify_c2pa(signed, media, ws)
                t2 = time.perf_counter()
                t_sign.append(t1 - t0)
                t_verify.append(t2 - t1)
                verdicts.append(v.verdict)
            summary = ", ".join(f"{k} {verdicts.count(k)}" for k in sorted(set(verdicts)))
            lines.append(f"| {fmt} | {1000 * statistics.median(t_sign):.1f} ms | "
                         f"{1000 * statistics.median(t_verify):.1f} ms | {summary} |")  # fmt: skip
    return lines


def photo_dir_default() -> Path | None:
    """bench/data/photos when fetch_photos.sh has put photos there, else None."""
    if PHOTO_DIR.is_dir() and any(
        p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"} for p in PHOTO_DIR.iterdir()
    ):
        return PHOTO_DIR
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6 held-out photos and 60 unmarked images")
    ap.add_argument("--compare", action="store_true", help="also run the DWT methods on the held-out half")
    ap.add_argument("--unmarked", type=int, default=1000, help="how many unmarked images (default 1000)")
    ap.add_argument("--no-c2pa", action="store_true")
    ap.add_argument("--held-out-only", action="store_true", help="skip the tuning half")
    ap.add_argument(
        "--tuning-only",
        action="store_true",
        help="for development: the tuning half only, unmarked images derived from it, no C2PA",
    )
    ap.add_argument(
        "--photos",
        type=Path,
        default=None,
        help="a folder of real photos, all held out (default: bench/data/photos when it has photos; "
        "fill it with bench/data/fetch_photos.sh)",
    )
    ap.add_argument("--no-photos", action="store_true", help="the 20 bundled photos only")
    ap.add_argument(
        "--photo-cap",
        type=int,
        default=None,
        help="attack at most this many of the --photos photos (every k-th, by name); the unmarked "
        "images still come from all of them",
    )
    args = ap.parse_args()
    if args.photo_cap is not None and args.photo_cap < 1:
        ap.error("--photo-cap: expected a whole number ≥ 1")
    images = photos()
    source_of = dict.fromkeys((g for _, g, _ in images), BUNDLED)
    photo_dir = None if args.no_photos or args.tuning_only else (args.photos or photo_dir_default())
    extra: list[tuple[str, str, Image.Image]] = []
    if photo_dir is not None:
        try:
            loaded = load_photos(photo_dir)
        except (FileNotFoundError, OSError) as e:
            print(f"image_provenance.py: --photos {photo_dir}: {e}", file=sys.stderr)
            sys.exit(2)
        if not loaded:
            print(f"image_provenance.py: --photos {photo_dir}: no JPEG/PNG/WebP files", file=sys.stderr)
            sys.exit(2)
        clash = [p.name for p in loaded if p.name in TUNE_GROUPS or p.name in source_of]
        if clash:
            print(f"image_provenance.py: --photos {photo_dir}: names clash with the bundled photos: "
                  f"{', '.join(clash)}", file=sys.stderr)  # fmt: skip
            sys.exit(2)
        for p in loaded:
            w, h = p.image.size
            extra.append((f"{p.name} {w}×{h}", p.name, p.image))
            source_of[p.name] = p.source
    tune, held = split(images)
    held_extra = [(n, im) for n, _, im in extra]
    if args.photo_cap is not None and len(held_extra) > args.photo_cap:
        step = len(held_extra) / args.photo_cap
        held_extra = [held_extra[int(k * step)] for k in range(args.photo_cap)]
    if args.quick:
        held_extra = held_extra[:3]
        tune, held = tune[:0], held[: 6 - len(held_extra)] + held_extra
    else:
        held += held_extra
    if args.tuning_only:
        held, args.no_c2pa = [], True
        images = [(n, g, im) for n, g, im in images if g in TUNE_GROUPS]
    pool = images + extra
    t0 = time.perf_counter()
    per_source: dict[str, int] = {}
    for g in {g for _, g, _ in pool}:
        per_source[source_of[g]] = per_source.get(source_of[g], 0) + 1
    held_photos = {g for n, g, _ in pool if n in {h for h, _ in held}}
    sizes = sorted(max(im.size) for _, im in held)
    note = ""
    if extra:
        note = f" Photos from {photo_dir}: all held out, long side capped at {FULL_CAP} px"
        if len(held_extra) < len(extra):
            note += f"; {len(held_extra)} of the {len(extra)} attacked (--photo-cap or --quick)"
        note += "."
    out = [
        f"Measured {dt.date.today().isoformat()} on {platform.machine()} Python {platform.python_version()}: "
        f"{len(pool)} images from {len({g for _, g, _ in pool})} distinct photos "
        f"({'; '.join(f'{k}: {v}' for k, v in sorted(per_source.items()))}); held-out half {len(held)} "
        f"images from {len(held_photos)} photos (long side {sizes[0] if sizes else 0}–"
        f"{sizes[-1] if sizes else 0} px, median {statistics.median(sizes) if sizes else 0:.0f}), "
        f"tuning half {len(tune)}; 48-bit payload, a random id per image.{note}",
        "",
        "| method, set | attack | detected (right id) | mean bit accuracy | misses |",
        "|---|---|---|---|---|",
    ]
    stats = {}
    if held:
        rows, stats["syncTile held-out"] = bench_watermark(held, "syncTile", "held-out")
        out += rows
    if tune and not args.held_out_only:
        rows, stats["syncTile tuning"] = bench_watermark(tune, "syncTile", "tuning")
        out += rows
    if args.compare:
        for m in METHODS[1:]:
            rows, stats[f"{m} held-out"] = bench_watermark(held, m, "held-out")
            out += rows
    out += [""] + [
        f"PSNR {k}: mean {v['psnr_mean']:.1f} dB, median {v['psnr_median']:.1f} dB, "
        f"min {v['psnr_min']:.1f} dB"
        for k, v in stats.items()
    ]
    for k, v in stats.items():
        if v["misses"]:
            out += ["", f"Misses, {k}:", ""] + [f"- {a}: {', '.join(m)}" for a, m in v["misses"].items()]
    unmarked = unmarked_set(pool, 60 if args.quick else args.unmarked)
    by_source: dict[str, int] = {}
    for g, _ in unmarked:
        by_source[source_of[g]] = by_source.get(source_of[g], 0) + 1
    out += ["", "Unmarked images by the source of their photo: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(by_source.items())) + "."]  # fmt: skip
    out += ["", *bench_false_positives(unmarked, "syncTile")]
    out += bench_false_positives(unmarked[: 30 if args.quick else 200], None)
    out += ["", "Embed + detect, `syncTile`:", "", *bench_timing()]
    if not args.no_c2pa:
        out += [
            "",
            "C2PA sign + verify (ES256, no thumbnail, verify offline against the local trust list):",
            "",
        ]
        out += bench_c2pa([(n, im) for n, im in held])
    out.append(f"\n(whole run {time.perf_counter() - t0:.0f} s)")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
