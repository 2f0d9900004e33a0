"""The label for people: a one-page HTML nutrition-facts panel, its PNG and PDF, and a README badge.

Any `Disclosure` renders, however little it discloses: an area with nothing to show says "Not
disclosed" in so many words. Every fixed string comes from the `label` catalogue in `assay.web.i18n`
(English, 中文, Bahasa Melayu, தமிழ்); values from the label are escaped, never trusted.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from assay.label.browser import ChromiumNotFound, RenderError, chromium_path, print_pdf, print_png
from assay.label.models import Disclosure
from assay.policy.models import GradeStatus
from assay.store.blobs import atomic_write
from assay.web.i18n import LANGUAGES, load_catalogue

__all__ = [
    "ChromiumNotFound",
    "RenderError",
    "STATUS_ORDER",
    "label_strings",
    "print_pdf",
    "print_png",
    "render_badge_svg",
    "render_html",
    "worst_grade",
    "write_renderings",
]

STATUS_ORDER: tuple[GradeStatus, ...] = ("red", "amber", "inconclusive", "not_measured", "green")
"""Worst first: a red anywhere is the badge's colour; an unmeasured rule outranks a green one."""

COUNT_ORDER = ("green", "amber", "red", "inconclusive", "not_measured")
ICONS: dict[str, str] = {"green": "✓", "amber": "!", "red": "✗", "inconclusive": "?", "not_measured": "–"}
# Badge colours: white text on each is at least 4.5:1 (the same hues as the label's chips).
BADGE_COLOURS: dict[str, str] = {
    "green": "#0a6634",
    "amber": "#8a4a00",
    "red": "#b0001e",
    "inconclusive": "#3d2f8f",
    "not_measured": "#4a4a4a",
    "none": "#4a4a4a",
}
_URL = re.compile(r"^https?://[^\s<>\"'`]+$")
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_EMAIL = re.compile(r"^[^@\s<>\"'`:/]+@[^@\s<>\"'`/]+\.[^@\s<>\"'`/]+$")


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


def label_strings(lang: str) -> Mapping[str, str]:
    """The label's fixed strings in `lang` (a seam the key-usage test records through)."""
    return load_catalogue("label").for_language(_check_lang(lang))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """Autoescape always on: every value on a label comes from a manifest or evidence anyone may write.
    StrictUndefined: a string id missing from the catalogue fails the render instead of printing blank."""
    env = Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.globals.update(
        num=_num, pct=_pct, kwh=_kwh, kg=_kg, secs=_secs, link=_link, lang_attr=_lang_attr, icons=ICONS
    )
    return env


@lru_cache(maxsize=1)
def _css() -> Markup:
    text = resources.files("assay.web").joinpath("static/label.css").read_text(encoding="utf-8")
    return Markup(text.replace("</", "<\\/"))  # cannot close the <style> element early


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return format(x, ".3g")


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _kwh(x: float) -> str:
    if x >= 1e6:
        return f"{_num(x / 1e6)} GWh"
    if x >= 1e3:
        return f"{_num(x / 1e3)} MWh"
    if x >= 1 or x == 0:
        return f"{_num(x)} kWh"
    return f"{_num(x * 1e3)} Wh"


def _kg(x: float) -> str:
    if x >= 1e3:
        return f"{_num(x / 1e3)} t"
    if x >= 1 or x == 0:
        return f"{_num(x)} kg"
    return f"{_num(x * 1e3)} g"


def _secs(x: float) -> str:
    if x < 60:
        return f"{_num(x)} s"
    if x < 3600:
        return f"{_num(x / 60)} min"
    return f"{_num(x / 3600)} h"


def _link(value: str) -> Markup:
    """A web address or an e-mail address becomes a link; anything else (a `javascript:` URL too) is
    plain, escaped text."""
    text = value.strip()
    if _URL.match(text):
        return Markup('<a href="{0}">{0}</a>').format(text)
    if _EMAIL.match(text):
        return Markup('<a href="mailto:{0}">{0}</a>').format(text)
    return Markup(escape(value))


def _lang_attr(code: str) -> Markup:
    """` lang="xx"` for a well-formed BCP 47 tag, nothing otherwise (an invalid lang fails WCAG 3.1.2)."""
    if _LANG_TAG.match(code):
        return Markup(' lang="{}"').format(code)
    return Markup("")


def worst_grade(d: Disclosure) -> GradeStatus | None:
    """The worst status among the label's grades (red, amber, inconclusive, not measured, green)."""
    present = {g.status for g in d.grades}
    return next((s for s in STATUS_ORDER if s in present), None)


def render_html(d: Disclosure, lang: str = "en") -> str:
    """The label as one self-contained page (inline CSS, no script, no external file) in `lang`."""
    t = label_strings(lang)
    counts = [(s, d.policy.counts[s]) for s in COUNT_ORDER if d.policy.counts.get(s)] if d.policy else []
    return (
        _environment()
        .get_template("label.html")
        .render(
            d=d,
            t=t,
            lang=lang,
            css=_css(),
            counts=counts,
            language_names=load_catalogue("label").languages,
        )
    )


def _text_width(text: str, size: float = 11.0) -> float:
    """An estimate of the rendered width (Verdana-like at `size` px); the SVG pins text to it with
    textLength, so a wrong guess squeezes the glyphs a little but never spills out of the badge."""
    width = 0.0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Mn":
            continue
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1.0
        elif "\u0b80" <= ch <= "\u0bff":
            width += 0.78 if unicodedata.category(ch) != "Mc" else 0.45
        elif ch == " ":
            width += 0.32
        elif ch in "il.,:;|!'":
            width += 0.3
        elif ch.isupper() or ch in "%mwMW@":
            width += 0.75
        else:
            width += 0.62
    return width * size


def render_badge_svg(d: Disclosure, lang: str = "en") -> str:
    """A shields-style badge for a README: completeness and the worst grade, in text and icon as well
    as colour, with an accessible <title>."""
    t = label_strings(lang)
    worst = worst_grade(d)
    score = _pct(d.completeness.score)
    grade = t[f"status_{worst}"] if worst else t["badge_not_graded"]
    left = t["badge_label"]
    right = f"{score} · {ICONS[worst]} {grade}" if worst else f"{score} · {grade}"
    lw, rw = round(_text_width(left)) + 12, round(_text_width(right)) + 12
    title = t["badge_title"].format(label=left, system=d.identity.name, score=score, grade=grade)
    return (
        _environment()
        .get_template("label_badge.svg")
        .render(
            lang=lang,
            title=title,
            left=left,
            right=right,
            lw=lw,
            rw=rw,
            left_text_w=lw - 12,
            right_text_w=rw - 12,
            colour=BADGE_COLOURS[worst or "none"],
            status=worst or "none",
        )
    )


def _html_name(lang: str) -> str:
    return "label.html" if lang == "en" else f"label.{lang}.html"


def write_renderings(
    out_dir: Path,
    d: Disclosure,
    *,
    langs: tuple[str, ...] = LANGUAGES,
    printed: bool = True,
    chromium: Path | None = None,
) -> list[tuple[str, bytes, str]]:
    """Write the label's renderings into `out_dir` and return (name relative to it, content, media type)
    for each, so the caller can record every one as evidence: label.html (English) and label.LANG.html
    for the others asked for, badge.svg (in the first language), and, when `printed`, label.png (first
    language) and label.pdf (one page per language). `printed` with no Chromium raises ChromiumNotFound
    before anything is written; `printed=False` needs no browser."""
    if not langs:
        raise ValueError("write_renderings needs at least one language")
    for lang in langs:
        _check_lang(lang)
    exe = chromium_path(chromium) if printed else None
    pages = {lang: render_html(d, lang) for lang in langs}
    results: list[tuple[str, bytes, str]] = [
        (_html_name(lang), html.encode("utf-8"), "text/html; charset=utf-8") for lang, html in pages.items()
    ]
    results.append(("badge.svg", render_badge_svg(d, langs[0]).encode("utf-8"), "image/svg+xml"))
    for name, content, _ in results:
        atomic_write(out_dir / name, content)
    if exe is not None:
        print_png(pages[langs[0]], out_dir / "label.png", chromium=exe)
        results.append(("label.png", (out_dir / "label.png").read_bytes(), "image/png"))
        print_pdf(pages, out_dir / "label.pdf", chromium=exe)
        results.append(("label.pdf", (out_dir / "label.pdf").read_bytes(), "application/pdf"))
    return results
