"""Server-rendered pages for people: the list of systems, and one system's registry and responsibilities.

The responsibility part of a system page is the registry's own report (`render_raci_html`), with this
page's extra sections slotted in after its header, so the matrix is drawn by one template only.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader

from assay import __version__
from assay.api.auth import read_access
from assay.api.deps import workspace
from assay.assurance.evidence import list_evidence
from assay.registry import service
from assay.registry.allocation import allocate
from assay.registry.html import render_raci_html
from assay.registry.safety_net import assess_safety_net
from assay.registry.service import SystemNotFound
from assay.workspace import Workspace

router = APIRouter(include_in_schema=False, dependencies=[Depends(read_access)])


@lru_cache(maxsize=1)
def templates() -> Environment:
    """Autoescape on: every name on these pages comes from a manifest someone else may have written."""
    return Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, status_code: int = 200, **context: object) -> HTMLResponse:
    html = templates().get_template(name).render(version=__version__, **context)
    return HTMLResponse(html, status_code=status_code)


def insert_sections(report: str, nav: str, sections: str) -> str:
    """Put `nav` at the top of the report's body and `sections` right after its header.

    If the report's layout ever changes, the sections still land inside the page, just lower down.
    """
    page = report.replace("<body>", "<body>\n" + nav, 1) if "<body>" in report else nav + report
    for marker, before in (("</header>", False), ("</body>", True)):
        if marker in page:
            at = page.index(marker) + (0 if before else len(marker))
            return page[:at] + "\n" + sections + "\n" + page[at:]
    return page + sections


@router.get("/", response_class=HTMLResponse)
def index(ws: Workspace = Depends(workspace)) -> HTMLResponse:
    return _render("server_index.html", systems=service.list_systems(ws))


@router.get("/systems/{slug}", response_class=HTMLResponse)
def system_page(slug: str, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    try:
        record = service.get_system(ws, slug)
        manifest = service.get_manifest(ws, slug)
    except SystemNotFound as exc:
        return _render("server_not_found.html", status_code=404, message=str(exc))
    today = dt.date.today()
    matrix = allocate(manifest)
    net = assess_safety_net(manifest, today)
    evidence = list_evidence(ws, system=slug, limit=200)
    env = templates()
    nav = env.get_template("server_nav.html").render(record=record)
    sections = env.get_template("server_system.html").render(
        record=record,
        manifest=manifest,
        evidence=evidence,
        party_names={p.id: p.name for p in manifest.parties},
    )
    return HTMLResponse(insert_sections(render_raci_html(matrix, net, manifest), nav, sections))
