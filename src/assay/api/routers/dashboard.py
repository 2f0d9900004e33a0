"""The dashboard: server-rendered pages over the registry, label, conformance, runs, incidents and
provenance (`/dashboard/...`). No JavaScript; plain links and keyset-paginated tables.

Public (no token even on a closed server, in four languages): `/dashboard` and `/dashboard/{system}`
— what the system is, its label, its conformance and its test-run summaries, which the label publishes
anyway. Internal (`read_access`: open on the loopback server, a viewer token otherwise; English): the
responsibility matrix and safety net, a run's individual samples, incidents and provenance.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from assay import __version__
from assay.api.auth import read_access
from assay.api.deps import workspace
from assay.dashboard import service
from assay.registry.service import SystemNotFound
from assay.workspace import Workspace

public = APIRouter(prefix="/dashboard", include_in_schema=False)
internal = APIRouter(prefix="/dashboard", include_in_schema=False, dependencies=[Depends(read_access)])
CATALOGUE = "dashboard"


@lru_cache(maxsize=1)
def templates() -> Environment:
    """Autoescaped (names come from manifests others wrote); StrictUndefined, so a string id missing from
    the catalogue fails the page instead of leaving a blank."""
    return Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )


def page_strings(lang: str) -> dict[str, str]:
    """The public pages' strings in `lang` (a seam the completeness test records through)."""
    from assay.web.i18n import load_catalogue

    return load_catalogue(CATALOGUE).for_language(lang)


def _render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = templates().get_template(name).render(version=__version__, **context)
    return HTMLResponse(html, status_code=status_code)


def _public(request: Request, name: str, lang: str | None, **context: Any) -> HTMLResponse:
    from assay.web.i18n import load_catalogue, pick_language

    chosen = pick_language(lang, request.headers.get("accept-language"))
    return _render(
        name,
        lang=chosen,
        languages=load_catalogue(CATALOGUE).languages,
        t=page_strings(chosen),
        **context,
    )


def _not_found(message: str) -> HTMLResponse:
    return _render("server_not_found.html", status_code=404, message=message)


LANG = Query(None, description="en, zh, ms or ta (else the browser's, else English)")


@public.get("", response_class=HTMLResponse)
def index(request: Request, lang: str | None = LANG, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    return _public(request, "dashboard_index.html", lang, cards=service.list_systems(ws))


@public.get("/{system}", response_class=HTMLResponse)
def system_page(
    request: Request, system: str, lang: str | None = LANG, ws: Workspace = Depends(workspace)
) -> HTMLResponse:
    try:
        overview = service.overview(ws, system)
    except SystemNotFound as exc:
        return _not_found(str(exc))
    return _public(request, "dashboard_system.html", lang, o=overview, grade_names=grade_names)


def grade_names(lang: str) -> dict[str, str]:
    """A grade's name in `lang`, as the label itself says it (the label's catalogue has them)."""
    from assay.policy.models import GradeStatus
    from assay.web.i18n import load_catalogue

    strings = load_catalogue("label").for_language(lang)
    return {status: strings[f"status_{status}"] for status in get_args(GradeStatus)}


@internal.get("/{system}/accountability", response_class=HTMLResponse)
def accountability(system: str, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    try:
        view = service.accountability(ws, system, dt.date.today())
    except SystemNotFound as exc:
        return _not_found(str(exc))
    return _render("dashboard_accountability.html", lang="en", a=view)


@internal.get("/{system}/conformance", response_class=HTMLResponse)
def conformance_report(system: str, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    """Internal: it names the people who attested and the evidence behind every status."""
    try:
        return HTMLResponse(service.conformance_report_html(ws, system))
    except SystemNotFound as exc:
        return _not_found(str(exc))


@internal.get("/{system}/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    system: str,
    run_id: str,
    after: int | None = Query(None, ge=-1, description="show the samples after this position"),
    before: int | None = Query(None, ge=0, description="show the samples before this position"),
    limit: int = Query(service.DEFAULT_PAGE, ge=1, le=service.MAX_PAGE),
    failed: bool = Query(False, description="only samples that failed the primary scorer"),
    ws: Workspace = Depends(workspace),
) -> HTMLResponse:
    try:
        page = service.sample_page(
            ws, system, run_id, after=after, before=before, limit=limit, failed_only=failed
        )
        record = service.overview_record(ws, system)
    except SystemNotFound as exc:
        return _not_found(str(exc))
    if page is None:
        return _not_found(f"system '{system}' has no run '{run_id}'")
    return _render("dashboard_run.html", lang="en", p=page, record=record)


@internal.get("/{system}/runs/{run_id}/samples/{seq}", response_class=HTMLResponse)
def sample_page(system: str, run_id: str, seq: int, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    try:
        record = service.overview_record(ws, system)
    except SystemNotFound as exc:
        return _not_found(str(exc))
    found = service.sample(ws, system, run_id, seq)
    if found is None:
        return _not_found(f"run '{run_id}' of system '{system}' has no sample {seq}")
    run, sample = found
    return _render("dashboard_sample.html", lang="en", record=record, run=run, s=sample)


@internal.get("/{system}/incidents", response_class=HTMLResponse)
def incidents(system: str, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    today = dt.date.today()
    try:
        record, lines = service.incidents(ws, system, today)
    except SystemNotFound as exc:
        return _not_found(str(exc))
    overdue = sum(1 for line in lines if line.deadline_state == "overdue")
    return _render(
        "dashboard_incidents.html", lang="en", record=record, lines=lines, today=today, overdue=overdue
    )


@internal.get("/{system}/provenance", response_class=HTMLResponse)
def provenance(system: str, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    try:
        view = service.provenance(ws, system)
    except SystemNotFound as exc:
        return _not_found(str(exc))
    return _render("dashboard_provenance.html", lang="en", pv=view)
