"""The public food label of each system: `/label/{system}` (HTML, `?lang=`) and `/label/{system}.json`.

Public and read-only like the verify page: a label is meant for anyone, so no token is asked even on a
closed server. Only a label recorded as signed evidence whose bytes still match is published.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from assay.api.deps import workspace
from assay.api.errors import ErrorMessage
from assay.label.models import Disclosure
from assay.label.page import render_label_page
from assay.label.service import current_label
from assay.workspace import Workspace

router = APIRouter(prefix="/label", tags=["label"])
NO_LABEL = {404: {"model": ErrorMessage, "description": "No such system, or it has no label yet"}}


def _missing(system: str) -> str:
    return f"no label for system '{system}' (build one with `assay label build` or `assay assess`)"


@router.get(
    "/{system}.json",
    summary="A system's current food label (the signed label.json)",
    response_model=Disclosure,
    responses={200: {"headers": {"X-Assay-SHA256": {"description": "hash of the signed bytes"}}}} | NO_LABEL,
)
def label_json(system: str, ws: Workspace = Depends(workspace)) -> Response:
    found = current_label(ws, system)
    if found is None:
        return JSONResponse(status_code=404, content={"detail": _missing(system)})
    _, ev = found
    return Response(
        content=ws.blobs.get(ev.sha256),
        media_type="application/json",
        headers={"X-Assay-SHA256": ev.sha256},
    )


@router.get("/{system}", response_class=HTMLResponse, include_in_schema=False)
def label_page(
    request: Request,
    system: str,
    lang: str | None = Query(None, description="en, zh, ms or ta (else the browser's, else English)"),
    ws: Workspace = Depends(workspace),
) -> HTMLResponse:
    from assay.web.i18n import pick_language

    found = current_label(ws, system)
    if found is None:
        import html

        page = f"<!doctype html><html lang='en'><title>No label</title><p>{html.escape(_missing(system))}</p>"
        return HTMLResponse(page, status_code=404)
    return HTMLResponse(
        render_label_page(found[0], pick_language(lang, request.headers.get("accept-language")))
    )
