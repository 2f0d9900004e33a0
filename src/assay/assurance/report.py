"""The conformance report as a page (HTML) and on paper (PDF printed by headless Chromium).

The page stands alone — its stylesheet inlined, its chart inline SVG, no script — so it opens from a
file, travels by e-mail and prints the same as it shows. The PDF is Chromium's print of that page,
through the same browser helper the food label uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from assay.assurance.views import ROW_STATUS_TEXT, VIEWS, ConformanceViews, EvidenceRef, evidence_anchor

if TYPE_CHECKING:
    from assay.assurance.conformance import ConformanceReport
    from assay.workspace import Workspace

PDF_TIMEOUT_S = 120.0


def render_report_html(views: ConformanceViews) -> str:
    """The report page: the coverage chart, then every view (by dimension, NIST AI RMF, the ISO/IEC
    42001 Statement of Applicability, EU AI Act) and the evidence appendix the statuses link to. The
    views link into the by-dimension rows, so the page always carries all of them."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    from assay.assurance.chart import coverage_svg

    css = resources.files("assay.web").joinpath("static/conformance.css").read_text(encoding="utf-8")
    env = Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
    )
    return env.get_template("conformance.html").render(
        v=views,
        sections=VIEWS,
        css=Markup(css),
        chart=Markup(coverage_svg(views.coverage)),
        row_text=ROW_STATUS_TEXT,
        generated=views.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
    )


def report_page(
    ws: Workspace,
    report: ConformanceReport,
    *,
    system_name: str,
    version: str,
    files: Mapping[str, str] | None = None,
    grades: EvidenceRef | None = None,
) -> str:
    """The report page of an assessment of `ws`'s system: its views, with the label the grades came from
    (looked up unless given) and evidence linked to `files` (sha256 → relative path) where they exist."""
    from assay.assurance.views import build_views

    if grades is None:
        grades = grades_evidence(ws, report.system)
    views = build_views(report, system_name=system_name, version=version, files=files, grades=grades)
    return render_report_html(views)


def print_report_pdf(html: str, out: Path, *, title: str, chromium: Path | None = None) -> int:
    """Print the report page to `out` with headless Chromium; returns the page count. Raises the
    browser helper's ChromiumNotFound / RenderError when it cannot."""
    from assay.label.browser import print_document_pdf

    return print_document_pdf(html, out, title=title, chromium=chromium, timeout=PDF_TIMEOUT_S)


def grades_evidence(ws: Workspace, system: str) -> EvidenceRef | None:
    """The system's newest label record (label.json), from which the linked grades came; None
    without a label."""
    from assay.label.service import current_label

    found = current_label(ws, system)
    if found is None:
        return None
    ev = found[1]
    return EvidenceRef(
        evidence_id=ev.id,
        anchor=evidence_anchor(ev.id),
        kind=ev.kind,
        name=ev.name,
        sha256=ev.sha256,
        created_at=ev.created_at,
        note="the label whose policy grades are linked to controls",
    )


def assessment_files(ws: Workspace, system: str, dest: Path) -> dict[str, str]:
    """sha256 → path, relative to folder `dest`, of each output of the system's newest completed
    assessment that is still on disk: what the report's evidence links open."""
    from assay.assurance.assessment import AssessmentRecord
    from assay.store import assessments as store

    with ws.db.session() as s:
        done: list[AssessmentRecord] = [
            a for a in store.list_assessments(s, system) if a.status == "completed"
        ]
    if not done:
        return {}
    files: dict[str, str] = {}
    for step in done[-1].steps:
        for o in step.outputs:
            if Path(o.path).is_file():
                files.setdefault(o.sha256, os.path.relpath(o.path, dest.resolve()).replace(os.sep, "/"))
    return files
