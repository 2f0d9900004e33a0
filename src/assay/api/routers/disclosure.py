"""The public incident pages: `/incidents/{system}` and its Atom feed `/incidents/{system}/feed.atom`.

Public like `/verify` and `/report`: no token, even on a closed server, because disclosure is for
everyone. They show only remediated incidents, redacted (`assay.incidents.disclosure`), in the four
languages of the other public pages, without JavaScript.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from assay.api.deps import workspace
from assay.workspace import Workspace

pages = APIRouter(include_in_schema=False)


def _system(ws: Workspace, system_id: str):  # type: ignore[no-untyped-def]
    from assay.registry.service import SystemNotFound, get_system

    try:
        return get_system(ws, system_id)
    except (SystemNotFound, ValueError):
        return None


def _not_found(request: Request) -> HTMLResponse:
    from assay.web.i18n import load_catalogue, pick_language

    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    text = load_catalogue("incidents").for_language(lang)["not_found"]
    return HTMLResponse(
        f'<!doctype html><html lang="{lang}"><title>404</title><p>{text}</p></html>', status_code=404
    )


@pages.get("/incidents/{system_id}", response_class=HTMLResponse)
async def advisories_page(system_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    from assay.api.routers.pages import templates
    from assay.incidents.disclosure import advisories
    from assay.web.i18n import load_catalogue, pick_language

    record = await run_in_threadpool(_system, ws, system_id)
    if record is None:
        return _not_found(request)
    items = await run_in_threadpool(advisories, ws, system_id)
    catalogue = load_catalogue("incidents")
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    html = (
        templates()
        .get_template("incidents_public.html")
        .render(
            lang=lang,
            languages=catalogue.languages,
            t=catalogue.for_language(lang),
            system_id=system_id,
            system_name=record.name,
            items=items,
        )
    )
    return HTMLResponse(html)


@pages.get("/incidents/{system_id}/feed.atom")
async def advisories_feed(system_id: str, request: Request, ws: Workspace = Depends(workspace)) -> Response:
    from assay.incidents.disclosure import advisories, atom_feed

    record = await run_in_threadpool(_system, ws, system_id)
    if record is None:
        return _not_found(request)
    items = await run_in_threadpool(advisories, ws, system_id)
    page = str(request.url_for("advisories_page", system_id=system_id))
    body = atom_feed(
        system_id,
        record.name,
        items,
        page_url=page,
        feed_url=page + "/feed.atom",
        since=record.created_at,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")
