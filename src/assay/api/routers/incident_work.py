"""Working incidents over HTTP: move, comment, assign, read the log, and attachments.

Writes need a triager token (editor and admin have that role too); an authority token reads the
incidents of the systems it supervises and is refused every write (403). A report of another system
is, to an authority, absent (404). Attachments may also be added by the reporter, with the report's
receipt instead of a token; downloading them needs a token — the public never gets them back.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from python_multipart.exceptions import MultipartParseError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.api.auth import AUTH_FAILURES, check_token, incident_reader, triager
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, INVALID, ErrorMessage, ProblemReport
from assay.api.limits import BodyTooLarge
from assay.api.routers.incidents import NOT_THERE, only_query
from assay.incidents.attachments import (
    EXTENSIONS,
    Attachment,
    AttachmentLimits,
    AttachmentRefused,
    attach,
    attachment_content,
    check_files,
    list_attachments,
)
from assay.incidents.models import STATUSES, Incident, IncidentEvent
from assay.incidents.service import (
    IncidentError,
    IncidentNotFound,
    assign,
    comment,
    events,
    get_incident,
    move,
)
from assay.tokens import ApiToken, Role
from assay.workspace import Workspace

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=INVALID)

ID = Path(max_length=100, description="the report's id, e.g. AS-HELPDESK-2026-0001")
NO_REPORT = "no such report"
MISSING: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage, "description": NO_REPORT}}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorMessage, "description": "the workflow refuses this change (the message says why)"}
}
ATTACHMENT_PATH = re.compile(r"^/api/v1/incidents/[^/]+/attachments$")


def is_upload_path(path: str) -> bool:
    """Requests that may carry attachments, and so get the attachments' body cap (see `BodyLimits`)."""
    return path.startswith("/report/") or bool(ATTACHMENT_PATH.match(path))


class AttachmentsTooLarge(BodyTooLarge):
    def __init__(self) -> None:
        limits = AttachmentLimits.from_env()
        super().__init__(
            detail=f"the request is larger than {limits.per_report} attachments of "
            f"{limits.max_bytes:,} bytes each allow"
        )


TYPED = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
VISIBLE = r"^\s*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Text a person typed, as the schema states it: no control characters; VISIBLE: not blank either."""


class Transition(BaseModel):
    model_config = {"extra": "forbid"}

    state: str = Field(json_schema_extra={"enum": list(STATUSES)}, description="the next state")
    note: str = Field("", max_length=20_000, pattern=TYPED)
    duplicate_of: str | None = Field(None, max_length=100, description="with state duplicate")
    causes: str | None = Field(None, max_length=20_000, pattern=TYPED)
    mitigation: str | None = Field(None, min_length=1, max_length=20_000, pattern=VISIBLE)
    corrective_action: str | None = Field(None, min_length=1, max_length=2000, pattern=VISIBLE)


class NewComment(BaseModel):
    model_config = {"extra": "forbid"}

    text: str = Field(min_length=1, max_length=20_000, pattern=VISIBLE)


class Assignment(BaseModel):
    model_config = {"extra": "forbid"}

    assignee: str = Field(min_length=1, max_length=200, pattern=VISIBLE)


def _actor(token: ApiToken) -> str:
    return f"token:{token.name}"


def _not_found() -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": NO_REPORT})


def _refused(exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


def _readable(ws: Workspace, incident_id: str, token: ApiToken) -> Incident | None:
    """The incident if it exists and the token may read it; None reads as 404 either way."""
    try:
        inc = get_incident(ws, incident_id)
    except (IncidentNotFound, IncidentError, ValueError):
        return None
    return inc if token.supervises(inc.system) else None


def _write(fn: Any, ws: Workspace, incident_id: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(ws, incident_id, *args, **kwargs)
    except IncidentNotFound:
        return _not_found()
    except IncidentError as exc:
        return _refused(exc)


@router.post(
    "/{incident_id}/transitions",
    summary="Move a report to its next state (triager token)",
    responses={**AUTH_FAILURES, **BODY_ERRORS, **MISSING, **REFUSED},
    dependencies=[only_query()],
)
def incident_move(
    body: Transition,
    incident_id: str = ID,
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(triager),
) -> Incident:
    """A remediated state (mitigated, resolved, closed) publishes the report on `/incidents/{system}`
    and gives it its advisory id, once."""
    if body.state not in STATUSES:
        return JSONResponse(  # type: ignore[return-value]
            status_code=422,
            content={
                "detail": [
                    {
                        "file": "<request body>",
                        "field": "state",
                        "message": f"unknown state '{body.state}'",
                        "expected": "one of " + ", ".join(STATUSES),
                    }
                ]
            },
        )
    return _write(
        move,
        ws,
        incident_id,
        body.state,
        note=body.note,
        duplicate_of=body.duplicate_of,
        causes=body.causes,
        mitigation=body.mitigation,
        corrective_action=body.corrective_action,
        actor=_actor(token),
    )


@router.post(
    "/{incident_id}/comments",
    status_code=201,
    summary="Comment on a report, for the team (triager token; never public)",
    responses={**AUTH_FAILURES, **BODY_ERRORS, **MISSING, **REFUSED},
    dependencies=[only_query()],
)
def incident_comment(
    body: NewComment,
    incident_id: str = ID,
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(triager),
) -> Incident:
    return _write(comment, ws, incident_id, body.text, actor=_actor(token))


@router.put(
    "/{incident_id}/assignee",
    summary="Assign a report to someone (triager token)",
    responses={**AUTH_FAILURES, **BODY_ERRORS, **MISSING, **REFUSED},
    dependencies=[only_query()],
)
def incident_assign(
    body: Assignment,
    incident_id: str = ID,
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(triager),
) -> Incident:
    return _write(assign, ws, incident_id, body.assignee, actor=_actor(token))


@router.get(
    "/{incident_id}/events",
    summary="A report's signed event log (triager token; an authority's for its systems)",
    responses={**AUTH_FAILURES, **MISSING},
    dependencies=[only_query()],
)
def incident_events(
    incident_id: str = ID, ws: Workspace = Depends(workspace), token: ApiToken = Depends(incident_reader)
) -> list[IncidentEvent]:
    inc = _readable(ws, incident_id, token)
    if inc is None:
        return _not_found()  # type: ignore[return-value]
    return events(ws, inc.id)


# --- attachments ------------------------------------------------------------------------------------------

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 3,
                            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                            "description": "One to three files: PNG, JPEG, WebP, PDF, JSON or UTF-8 text",
                        }
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


def _uploader(request: Request, ws: Workspace, inc_id: str, receipt: str | None) -> str | JSONResponse:
    """Who adds the files: the reporter (the receipt matches) or a triager; else the refusal. Checked
    before the body is read: a request for a report that is not there is 404 whatever it carries."""
    from assay.incidents.intake import check_receipt

    if receipt:
        try:
            inc = get_incident(ws, inc_id)
        except (IncidentNotFound, IncidentError, ValueError):
            return JSONResponse(status_code=404, content={"detail": NOT_THERE})
        if not check_receipt(ws, inc.id, receipt):
            return JSONResponse(status_code=404, content={"detail": NOT_THERE})
        return "reporter"
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    token = check_token(ws, secret.strip() if scheme.lower() == "bearer" else None, Role.triager)
    try:
        get_incident(ws, inc_id)
    except (IncidentNotFound, IncidentError, ValueError):
        return JSONResponse(status_code=404, content={"detail": NOT_THERE})
    return _actor(token)


async def read_uploads(
    request: Request, limits: AttachmentLimits, field: str
) -> list[tuple[str | None, bytes]]:
    """The files of a multipart form's `field`, each read to at most one byte past the size limit. A
    plain text part counts as a file without a name (the schema allows either)."""
    form = await request.form(max_files=limits.per_report + 1, max_fields=50)
    files: list[tuple[str | None, bytes]] = []
    for item in form.getlist(field):
        if isinstance(item, UploadFile):
            if not (item.filename or item.size):
                continue  # a file input left empty
            files.append((item.filename, await item.read(limits.max_bytes + 1)))
        else:
            files.append((None, item.encode("utf-8")))
    return files


@router.post(
    "/{incident_id}/attachments",
    status_code=201,
    summary="Attach screenshots or transcripts (the reporter's receipt, or a triager token)",
    openapi_extra=UPLOAD_BODY,
    responses={
        **AUTH_FAILURES,
        400: {"model": ErrorMessage, "description": "the form could not be read"},
        404: {"model": ErrorMessage, "description": NOT_THERE},
        409: {"model": ErrorMessage, "description": "the report has as many attachments as it may"},
        413: {"model": ErrorMessage, "description": "a file is larger than the limit (5 MB by default)"},
        415: {
            "model": ErrorMessage,
            "description": "a file is not PNG, JPEG, WebP, PDF, JSON or text, "
            "or its name says another type than its content",
        },
        422: {
            "model": ErrorMessage | ProblemReport,
            "description": "no file, an empty one, or too many in one request (one sentence); a bad "
            "parameter (a problem report)",
        },
    },
    dependencies=[only_query("receipt")],
)
async def incident_attach(
    request: Request,
    incident_id: str = ID,
    receipt: str | None = Query(None, max_length=100, description="or the X-Assay-Receipt header"),
    header_receipt: str | None = Header(None, alias="X-Assay-Receipt", max_length=100),
    ws: Workspace = Depends(workspace),
) -> list[Attachment]:
    """Each file is checked by its content, not its declared type; all are checked before any is kept."""
    actor = await run_in_threadpool(_uploader, request, ws, incident_id, header_receipt or receipt)
    if isinstance(actor, JSONResponse):
        return actor  # type: ignore[return-value]
    limits = AttachmentLimits.from_env()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        return _answer(415, "send the files as multipart/form-data 'file' parts")
    try:
        files = await read_uploads(request, limits, "file")
        if not files:
            raise AttachmentRefused("no file was sent: add one to three 'file' parts", 422)
        checked = check_files(files, limits)
        return await run_in_threadpool(attach, ws, incident_id, checked, actor=actor, limits=limits)
    except AttachmentRefused as exc:
        return _answer(exc.status, str(exc))
    except IncidentNotFound:
        return _answer(404, NOT_THERE)
    except StarletteHTTPException as exc:
        if isinstance(exc, BodyTooLarge):
            raise
        return _answer(400, f"the form could not be read: {exc.detail}")
    except MultipartParseError as exc:  # a malformed multipart body is the client's mistake
        return _answer(400, f"the form could not be read: {exc}")


def _answer(status: int, detail: str) -> Any:
    return JSONResponse(status_code=status, content={"detail": detail})


@router.get(
    "/{incident_id}/attachments",
    summary="A report's attachments (triager token; an authority's for its systems)",
    responses={**AUTH_FAILURES, **MISSING},
    dependencies=[only_query()],
)
def incident_attachments(
    incident_id: str = ID, ws: Workspace = Depends(workspace), token: ApiToken = Depends(incident_reader)
) -> list[Attachment]:
    inc = _readable(ws, incident_id, token)
    if inc is None:
        return _not_found()  # type: ignore[return-value]
    return list_attachments(ws, inc.id)


@router.get(
    "/{incident_id}/attachments/{sha256}",
    summary="Download one attachment (triager token; an authority's for its systems)",
    response_class=Response,
    responses={
        **AUTH_FAILURES,
        **MISSING,
        200: {
            "description": "the file, as an attachment, with the media type found from its content",
            "content": {t: {"schema": {"type": "string", "contentMediaType": t}} for t in EXTENSIONS},
        },
    },
    dependencies=[only_query()],
)
def incident_attachment(
    incident_id: str = ID,
    sha256: str = Path(pattern=r"^[0-9a-f]{64}$", description="the attachment's SHA-256"),
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(incident_reader),
) -> Response:
    inc = _readable(ws, incident_id, token)
    found = attachment_content(ws, inc.id, sha256) if inc is not None else None
    if found is None:
        return _not_found()
    meta, data = found
    media = meta.media_type + (
        "; charset=utf-8" if meta.media_type.startswith(("text/", "application/json")) else ""
    )
    ascii_name = meta.filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(meta.filename)}"
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
