"""The public report form, `/report/{system}`: anyone tells the system's owners what went wrong.

No login and no JavaScript: a plain HTML form in the four languages of `/verify`. Protected against
cross-site submission (a random nonce in a SameSite cookie, and an HMAC of it, the system and the time
in the form — so a page elsewhere cannot post it), against bots (a hidden honeypot field: a filled one
is thanked and dropped) and against floods (the intake's per-client rate limit). What it accepts goes
through the same intake as `POST /api/v1/incidents`, and the reporter gets the same id and receipt.
Screenshots and transcripts may come with it (`assay.incidents.attachments`): every file is checked
before the report is taken, so a refused file means nothing was stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from assay.api.deps import workspace
from assay.workspace import Workspace

pages = APIRouter(include_in_schema=False)

COOKIE = "assay_report"
MAX_AGE_S = 2 * 3600


def _mac(ws: Workspace, nonce: str, system: str, ts: int) -> str:
    from assay.incidents.intake import _receipt_key

    return hmac.new(_receipt_key(ws), f"csrf:{nonce}:{system}:{ts}".encode(), hashlib.sha256).hexdigest()[:40]


def _csrf_ok(ws: Workspace, request: Request, token: str, system: str) -> bool:
    nonce = request.cookies.get(COOKIE, "")
    ts_text, _, mac = token.partition(".")
    if not nonce or not ts_text.isdigit() or not mac:
        return False
    ts = int(ts_text)
    if not 0 <= time.time() - ts <= MAX_AGE_S:
        return False
    return hmac.compare_digest(mac, _mac(ws, nonce, system, ts))


def _render(
    request: Request, ws: Workspace, system_id: str, system_name: str, status_code: int = 200, **ctx: Any
):  # type: ignore[no-untyped-def]
    from assay.api.routers.pages import templates
    from assay.incidents.policy import harm_vocabulary
    from assay.web.i18n import load_catalogue, pick_language

    catalogue = load_catalogue("report")
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    nonce = request.cookies.get(COOKIE) or secrets.token_hex(16)
    ts = int(time.time())
    html = (
        templates()
        .get_template("report.html")
        .render(
            lang=lang,
            languages=catalogue.languages,
            t=catalogue.for_language(lang),
            system_id=system_id,
            system_name=system_name,
            harms=harm_vocabulary(),
            csrf=f"{ts}.{_mac(ws, nonce, system_id, ts)}",
            form=ctx.pop("form", None) or {"harm_types": []},
            limits=_limits(),
            **ctx,
        )
    )
    resp = HTMLResponse(html, status_code=status_code)
    resp.set_cookie(COOKIE, nonce, max_age=MAX_AGE_S, httponly=True, samesite="strict", path="/report")
    return resp


def _limits():  # type: ignore[no-untyped-def]
    from assay.incidents.attachments import AttachmentLimits

    return AttachmentLimits.from_env()


async def _read_form(request: Request):  # type: ignore[no-untyped-def]
    """The submitted form, or None when it cannot be read (a malformed body, too many files)."""
    from python_multipart.exceptions import MultipartParseError
    from starlette.exceptions import HTTPException

    from assay.api.limits import BodyTooLarge

    try:
        return await request.form(max_files=_limits().per_report + 1, max_fields=50)
    except BodyTooLarge:
        raise
    except (HTTPException, MultipartParseError):
        return None


async def _uploads(raw: Any) -> list[tuple[str | None, bytes]]:
    from starlette.datastructures import UploadFile

    cap = _limits().max_bytes + 1
    return [
        (f.filename, await f.read(cap))
        for f in raw.getlist("attachments")
        if isinstance(f, UploadFile) and (f.filename or f.size)
    ]


def _system_name(ws: Workspace, system_id: str) -> str | None:
    from assay.registry.service import SystemNotFound, get_manifest

    try:
        return get_manifest(ws, system_id).system.name
    except (SystemNotFound, ValueError):
        return None


@pages.get("/report/{system_id}", response_class=HTMLResponse)
def report_form(system_id: str, request: Request, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    name = _system_name(ws, system_id)
    if name is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such system.</p>", status_code=404)
    return _render(request, ws, system_id, name)


@pages.post("/report/{system_id}", response_class=HTMLResponse)
async def report_submit(system_id: str, request: Request, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    from assay.api.limits import QuotaExceeded
    from assay.incidents.intake import IdempotencyConflict, PublicReport, public_status, receipt_for, submit
    from assay.incidents.service import IncidentError, ReportInvalid
    from assay.web.i18n import load_catalogue, pick_language

    name = _system_name(ws, system_id)
    if name is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such system.</p>", status_code=404)
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    t = load_catalogue("report").for_language(lang)
    raw = await _read_form(request)
    if raw is None:
        return _render(request, ws, system_id, name, 400, error=t["bad_form"])
    form: dict[str, Any] = {
        k: str(raw.get(k) or "")
        for k in ("kind", "title", "description", "occurred", "severity", "name", "email")
    }
    form["harm_types"] = [str(h) for h in raw.getlist("harm_types")]
    if not _csrf_ok(ws, request, str(raw.get("csrf") or ""), system_id):
        return _render(request, ws, system_id, name, 400, error=t["expired"], form=form)
    if str(raw.get("website") or ""):
        return _render(request, ws, system_id, name, 200, done=True)  # a bot: thanked, nothing stored
    try:
        request.app.state.report_limiter.hit(request.client.host if request.client else "unknown")
    except QuotaExceeded:
        return _render(request, ws, system_id, name, 429, error=t["too_many"], form=form)
    body = {
        "system": system_id,
        "kind": form["kind"] or "incident",
        "title": form["title"],
        "description": form["description"],
        "occurred": form["occurred"] or None,
        "severity": form["severity"] or None,
        "harm_types": form["harm_types"],
        "reporter": {"name": form["name"], "email": form["email"] or None},
    }
    from assay.incidents.attachments import AttachmentRefused, attach, check_files

    try:
        files = check_files(await _uploads(raw), _limits())
    except AttachmentRefused as exc:
        return _render(
            request, ws, system_id, name, exc.status, error=f"{t['attachment_refused']}: {exc}", form=form
        )
    try:
        rep = PublicReport.model_validate(body)
        inc, _ = await run_in_threadpool(submit, ws, rep, source="form")
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _render(request, ws, system_id, name, 422, problems=problems, form=form)
    except ReportInvalid as exc:
        problems = [f"{p.field}: {p.message}" for p in exc.problems]
        return _render(request, ws, system_id, name, 422, problems=problems, form=form)
    except (IncidentError, IdempotencyConflict) as exc:
        return _render(request, ws, system_id, name, 422, problems=[str(exc)], form=form)
    if files:  # checked above; only a storage failure could stop them now
        await run_in_threadpool(attach, ws, inc.id, files, actor="reporter", limits=_limits())
    from assay.incidents.intake import Receipt

    receipt = Receipt(
        id=inc.id, receipt=receipt_for(ws, inc.id), status_url=f"/api/v1/incidents/{inc.id}/status"
    )
    return _render(
        request, ws, system_id, name, 201, done=True, receipt=receipt, status=public_status(inc).status
    )
