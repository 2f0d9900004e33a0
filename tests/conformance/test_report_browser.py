"""The conformance report in Debian's headless Chromium: axe-core finds no serious or critical
violation (on screen and in print), it reflows at 320 px, and the PDF prints."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from assay.assurance.attestation import record_attestation
from assay.assurance.conformance import assess_controls
from assay.assurance.evidence import record_evidence
from assay.assurance.report import print_report_pdf, render_report_html
from assay.assurance.views import ConformanceViews, build_views
from assay.label.browser import ChromiumNotFound
from assay.workspace import Workspace

SYS = "helpdesk"


@pytest.fixture
def views(tmp_path: Path) -> ConformanceViews:
    """A report with every kind of status: met, partly met, not met, not applicable, unmapped rows."""
    ws = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'assay.db'}")
    for kind in ("manifest", "registry.raci", "registry.inventory", "eval.run"):
        record_evidence(ws, kind.encode(), kind=kind, system=SYS, name=f"{kind}.json")
    record_attestation(
        ws,
        system=SYS,
        control="mgf-genai:2024:accountability.safety-net",
        answer="not_applicable",
        by="Tan Mei Ling",
        role="Counsel",
        reason="internal tool",
    )
    record_attestation(
        ws,
        system=SYS,
        control="mgf-genai:2024:accountability.legal-obligations",
        answer="partly",
        by="Tan Mei Ling",
        role="Counsel",
    )
    out = build_views(assess_controls(ws, SYS), system_name="Helpdesk assistant", version="1.4.0")
    ws.close()
    return out


@pytest.mark.slow
def test_axe_finds_no_serious_or_critical_violation(
    views: ConformanceViews, tmp_path: Path, chromium: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "conformance.html"
    page_file.write_text(render_report_html(views), encoding="utf-8")
    axe = Axe()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            # the page has no script (test_views checks); axe itself needs JavaScript to run
            page = browser.new_page()
            page.goto(page_file.as_uri())
            assert page.locator("h1").inner_text() == "Conformance: Helpdesk assistant 1.4.0"
            assert page.locator("svg.coverage-chart rect").count() > 9  # a bar (and segments) per dimension
            assert page.locator("#iso42001 tbody tr").count() == 38
            assert page.locator("#nist tbody tr").count() == 72
            for media in ("screen", "print"):
                page.emulate_media(media=media)
                violations = axe.run(page).response["violations"]
                bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations
                       if v["impact"] in ("serious", "critical")]  # fmt: skip
                assert not bad, (media, bad)
            # reflow (WCAG 1.4.10): at 320 CSS px the page never scrolls sideways; wide tables scroll inside
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": 320, "height": 800})
            widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
            assert widths[0] <= widths[1], widths
            # the check can fail: light grey text on white is a serious contrast violation
            page.set_content('<html lang="en"><title>t</title><p style="color:#ccc">grey</p></html>')
            assert "color-contrast" in {v["id"] for v in axe.run(page).response["violations"]}
        finally:
            browser.close()


@pytest.mark.slow
def test_the_report_prints_to_pdf(views: ConformanceViews, tmp_path: Path, chromium: Path) -> None:
    out = tmp_path / "conformance.pdf"
    pages = print_report_pdf(render_report_html(views), out, title="Conformance: Helpdesk assistant 1.4.0")
    pdf = PdfReader(io.BytesIO(out.read_bytes()))
    assert pages == len(pdf.pages) > 5  # 58 controls and three views do not fit on a few pages
    assert pdf.metadata is not None and pdf.metadata.title == "Conformance: Helpdesk assistant 1.4.0"
    text = "\n".join(p.extract_text() for p in pdf.pages)
    for phrase in ("Conformance: Helpdesk assistant 1.4.0", "Coverage per dimension", "GOVERN 1.6",
                   "Statement of Applicability", "A.10.4", "Art. 50(2)", "internal tool"):  # fmt: skip
        assert phrase in text, phrase
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 from the page's @page rule


def test_without_chromium_printing_fails_clearly_and_writes_nothing(
    views: ConformanceViews, tmp_path: Path
) -> None:
    out = tmp_path / "conformance.pdf"
    with pytest.raises(ChromiumNotFound, match="no Chromium at .*nowhere"):
        print_report_pdf(render_report_html(views), out, title="x", chromium=tmp_path / "nowhere")
    assert not out.exists()
