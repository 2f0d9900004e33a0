"""The label in a real browser: Debian's headless Chromium prints the PDF and PNG, and axe-core (run
through Playwright in the same Chromium) checks the page for WCAG 2.1 AA problems, on screen and in print."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from assay.label.models import Disclosure
from assay.label.render import (
    ChromiumNotFound,
    RenderError,
    print_pdf,
    render_html,
    write_renderings,
)
from assay.web.i18n import LANGUAGES, load_catalogue
from tests.label_render.conftest import complete_data

NAMES = ["label.html", "label.zh.html", "label.ms.html", "label.ta.html", "badge.svg", "label.png",
         "label.pdf"]  # fmt: skip
RED_CHIP = (0xB0, 0x00, 0x1E)
A4_PT = (595.3, 841.9)


@pytest.mark.slow
def test_every_rendering_is_written_and_returned(
    complete: Disclosure, tmp_path: Path, chromium: Path
) -> None:
    out = tmp_path / "out"
    results = write_renderings(out, complete)
    assert [name for name, _, _ in results] == NAMES
    types = {name: media for name, _, media in results}
    assert types["label.pdf"] == "application/pdf" and types["label.png"] == "image/png"
    assert types["badge.svg"] == "image/svg+xml" and types["label.ta.html"].startswith("text/html")
    for name, content, _ in results:
        assert (out / name).read_bytes() == content, name
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES)  # no temp files left behind

    content = dict((name, data) for name, data, _ in results)
    pdf = PdfReader(io.BytesIO(content["label.pdf"]))
    assert len(pdf.pages) == len(LANGUAGES) == 4  # one A4 page per language
    for page in pdf.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert all(abs(a - b) < 2 for a, b in zip(size, A4_PT, strict=True)), size
    names = load_catalogue("label").languages
    assert [item.title for item in pdf.outline] == [names[lang] for lang in LANGUAGES]
    english = pdf.pages[0].extract_text()
    for phrase in ("AI system label", "Helpdesk assistant", "Incident and vulnerability reporting",
                   "baseline@2026.1", "helpdesk:42:"):  # fmt: skip
        assert phrase in english, phrase  # the whole label, to its last line, is on the one page
    assert "Label sistem AI" in pdf.pages[2].extract_text()
    assert "系统" in pdf.pages[1].extract_text()  # 中文 glyphs, not empty boxes
    assert any("NotoSansTamil" in f for f in _fonts(pdf.pages[3]))  # தமிழ் set in a Tamil font

    shot = Image.open(io.BytesIO(content["label.png"])).convert("RGB")
    grey = np.asarray(shot.convert("L"), dtype=float)
    assert shot.width == 860 and 1500 < shot.height < 6000, shot.size
    assert grey.std() > 30, "the screenshot is blank"
    assert (grey[-30:] > 250).mean() < 1.0  # cropped to the label: its frame is near the bottom edge
    pixels = np.asarray(shot).reshape(-1, 3).astype(int)
    red = (np.abs(pixels - RED_CHIP).max(axis=1) <= 3).sum()
    assert red > 300, "the red grade chip is not in the screenshot"


def _fonts(obj: object) -> set[str]:
    """The embedded fonts a PDF page (or a form it draws) names."""
    found: set[str] = set()
    resources = obj.get("/Resources")  # type: ignore[attr-defined]
    if resources is None:
        return found
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        if "/BaseFont" in font:
            found.add(str(font["/BaseFont"]))
    for xobject in (resources.get("/XObject") or {}).values():
        found |= _fonts(xobject.get_object())
    return found


@pytest.mark.slow
def test_a_long_label_is_shrunk_onto_one_page_or_runs_on(tmp_path: Path, chromium: Path) -> None:
    def long(times: int) -> Disclosure:
        data = complete_data()
        data["grades"] = data["grades"] * times
        return Disclosure.model_validate(data)

    out = tmp_path / "long.pdf"
    assert len(PdfReader(_print(long(4), "ta", tmp_path)).pages) == 2  # too long at full size
    pages = print_pdf({"ta": render_html(long(4), "ta"), "en": render_html(long(14), "en")}, out)
    assert pages["ta"] == 1  # shrunk to fit
    assert pages["en"] >= 2  # too long even at 70%: it runs on rather than becoming unreadable
    pdf = PdfReader(out)
    assert len(pdf.pages) == 1 + pages["en"]
    assert [pdf.get_destination_page_number(item) for item in pdf.outline] == [0, 1]
    assert "Helpdesk assistant" in pdf.pages[1].extract_text()


def _print(d: Disclosure, lang: str, tmp_path: Path) -> Path:
    """Chromium's own print at full size, without the shrinking print_pdf does."""
    from assay.label.browser import _run, chromium_path

    page, out = tmp_path / "plain.html", tmp_path / "plain.pdf"
    page.write_text(render_html(d, lang), encoding="utf-8")
    _run(chromium_path(), [f"--print-to-pdf={out}", "--no-pdf-header-footer"], page, 120)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("which", ["complete", "sparse"])
def test_axe_finds_no_serious_or_critical_violation(
    which: str, request: pytest.FixtureRequest, tmp_path: Path, chromium: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    d: Disclosure = request.getfixturevalue(which)
    axe = Axe()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            for lang in LANGUAGES:
                path = tmp_path / f"label.{lang}.html"
                path.write_text(render_html(d, lang), encoding="utf-8")
                page.goto(path.as_uri())
                assert page.locator("h1").inner_text() == load_catalogue("label").strings["doc_title"][lang]
                for media in ("screen", "print"):
                    page.emulate_media(media=media)
                    violations = axe.run(page).response["violations"]
                    bad = [
                        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                        for v in violations
                        if v["impact"] in ("serious", "critical")
                    ]
                    assert not bad, (lang, media, bad)
                page.emulate_media(media="screen")
                said = page.locator(".nd").filter(
                    has_text=load_catalogue("label").strings["not_disclosed"][lang]
                )
                assert said.count() == (0 if which == "complete" else 7)
                assert all(said.nth(i).is_visible() for i in range(said.count()))
                # reflow (WCAG 1.4.10): at 320 CSS px the page never scrolls sideways
                page.set_viewport_size({"width": 320, "height": 800})
                widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
                assert widths[0] <= widths[1], (lang, widths)
                page.set_viewport_size({"width": 1280, "height": 800})
                if which == "complete":  # a keyboard user sees where the focus is
                    for expected in ("DIV", "A"):  # the grades table's scroll region, then a link
                        page.keyboard.press("Tab")
                        style = page.evaluate(
                            "() => { const s = getComputedStyle(document.activeElement); "
                            "return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
                        )
                        assert style == [expected, "solid", "3px"], style
            # the check can fail: grey small print on white is a serious contrast violation
            path = tmp_path / "low-contrast.html"
            path.write_text(render_html(d).replace("</head>", "<style>.source{color:#bbb}</style></head>"))
            page.goto(path.as_uri())
            assert "color-contrast" in {v["id"] for v in axe.run(page).response["violations"]}
        finally:
            browser.close()


def test_without_chromium_printing_fails_clearly_and_writes_nothing(
    complete: Disclosure, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(ChromiumNotFound, match="no Chromium at .*nowhere.*apt-get install chromium"):
        write_renderings(out, complete, chromium=tmp_path / "nowhere" / "chromium")
    assert not out.exists()
    results = write_renderings(out, complete, langs=("ms", "en"), printed=False)
    assert [n for n, _, _ in results] == ["label.ms.html", "label.html", "badge.svg"]
    assert "Label AI" in (out / "badge.svg").read_text()  # the badge is in the first language asked for
    with pytest.raises(ValueError, match="unknown language 'de'"):
        write_renderings(out, complete, langs=("en", "de"), printed=False)


def _fake_browser(tmp_path: Path, body: str) -> Path:
    exe = tmp_path / "chromium"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_a_hung_browser_is_killed_at_the_timeout(complete: Disclosure, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    exe = _fake_browser(tmp_path, f"echo $$ > {pidfile}\nexec sleep 60")
    started = time.monotonic()
    with pytest.raises(RenderError, match="did not finish printing label.en.html within 1 s"):
        print_pdf({"en": render_html(complete)}, tmp_path / "x.pdf", chromium=exe, timeout=1)
    assert time.monotonic() - started < 20
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)
    assert not (tmp_path / "x.pdf").exists()


def test_a_failing_browser_is_reported_with_its_own_words(complete: Disclosure, tmp_path: Path) -> None:
    exe = _fake_browser(tmp_path, "echo 'cannot open display' >&2\nexit 3")
    with pytest.raises(RenderError, match="chromium exited with 3: cannot open display"):
        print_pdf({"en": render_html(complete)}, tmp_path / "x.pdf", chromium=exe)
    exe = _fake_browser(tmp_path, "exit 0")  # says it worked, wrote nothing
    with pytest.raises(RenderError, match="wrote no PDF"):
        print_pdf({"en": render_html(complete)}, tmp_path / "x.pdf", chromium=exe)
