"""Verification for everyone over HTTP: `POST /api/v1/verify` and the public `/verify` page.

Neither needs a login: checking content is what the public does. Nothing is stored unless the caller
asks (`keep=true`), and keeping is a write: it needs a token with the editor role, on every server, and
stays within the per-client keep quota (429 with Retry-After past it).
Uploads get their own size cap (larger than the 2 MiB for JSON bodies, still bounded) and are refused
with 413 before they are read whole. Content that cannot be checked is an answer, never a 500.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, StrictBool, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assay.api.auth import check_token
from assay.api.deps import workspace
from assay.api.errors import ErrorMessage, ProblemReport
from assay.api.limits import BodySizeLimit, BodyTooLarge, KeepLedger
from assay.provenance.verify import MAX_VERIFY_BYTES, Verification, verify_content
from assay.tokens import Role
from assay.workspace import Workspace

MAX_UPLOAD_BYTES = MAX_VERIFY_BYTES + 256 * 1024  # the content plus room for multipart framing
UPLOAD_PATHS = frozenset({"/api/v1/verify", "/verify"})
UPLOAD_TOO_LARGE = f"the upload is larger than {MAX_VERIFY_BYTES // 1_000_000} MB"

router = APIRouter(tags=["verify"])
pages = APIRouter(include_in_schema=False)


class UploadTooLarge(BodyTooLarge):
    def __init__(self) -> None:
        super().__init__(detail=UPLOAD_TOO_LARGE)


class BodyLimits:
    """The app's body caps: uploads to the verify paths get the upload cap, requests that may carry
    incident attachments the attachments' cap, everything else the 2 MiB one."""

    def __init__(self, app: ASGIApp) -> None:
        from assay.api.routers.incident_work import AttachmentsTooLarge
        from assay.incidents.attachments import AttachmentLimits

        self.general = BodySizeLimit(app)
        self.upload = BodySizeLimit(app, MAX_UPLOAD_BYTES, UploadTooLarge)
        self.attachments = BodySizeLimit(app, AttachmentLimits.from_env().body_cap(), AttachmentsTooLarge)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from assay.api.routers.incident_work import is_upload_path

        if scope["type"] == "http" and scope.get("path") in UPLOAD_PATHS:
            await self.upload(scope, receive, send)
        elif scope["type"] == "http" and is_upload_path(scope.get("path", "")):
            await self.attachments(scope, receive, send)
        else:
            await self.general(scope, receive, send)


MAX_SIDECAR_BYTES = 1 << 20


class VerifyText(BaseModel):
    """Text to verify, sent as JSON."""

    model_config = {"extra": "forbid"}

    text: str = Field(max_length=MAX_VERIFY_BYTES, description="The text to check (UTF-8).")
    manifest: str | None = Field(
        None,
        max_length=2 * MAX_SIDECAR_BYTES,
        # documented for clients; checked by the decoder below, which says "not valid base64"
        json_schema_extra={"pattern": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"},
        description="A C2PA manifest store kept beside the text (`.c2pa` sidecar), base64-encoded.",
    )
    keep: StrictBool = Field(
        False, description="Keep the text and the result as evidence (needs an editor token)."
    )


class Submission(BaseModel):
    """What a verify request sent: the content, what it says it is, and an optional sidecar manifest."""

    data: bytes | None = None
    filename: str | None = None
    declared: str | None = None
    keep: bool = False
    sidecar: bytes | None = None


REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        # `contentMediaType`, not `format: binary`: any bytes are a valid file, so the
                        # schema must not call some of them malformed (JSON Schema 2020-12, OpenAPI 3.1)
                        "file": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "Image or text file",
                        },
                        "text": {"type": "string", "description": "Text, instead of a file"},
                        "manifest": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "A C2PA manifest store kept beside the text (.c2pa), optional",
                        },
                        "keep": {"type": "boolean", "default": False},
                    },
                    "anyOf": [{"required": ["file"]}, {"required": ["text"]}],
                }
            },
            "application/json": {"schema": VerifyText.model_json_schema()},
            "application/octet-stream": {
                "schema": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": "The content itself as the whole body; any other media type is read "
                    "the same way. Keep it with the `keep` query parameter.",
                }
            },
        },
    }
}


NOT_KEPT = "not kept: keeping needs a token with the editor role (Authorization: Bearer <token>)"


def _may_keep(request: Request, ws: Workspace, size: int) -> bool:
    """Keeping is a write: it needs an editor token and room in that client's keep quota.

    No token at all is not an error (verifying is public): the answer says it was not kept. A token that
    is unknown, revoked or too low is refused (401, 403), and a client past its quota gets 429."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return False
    token = check_token(ws, secret.strip(), Role.editor)
    ledger: KeepLedger = request.app.state.keep_ledger
    ledger.reserve(f"token '{token.name}'", size)
    return True


def _form_keep(value: Any) -> bool:
    """A form's `keep` is a boolean as the schema says: `true` or `false` (absent is false)."""
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    from fastapi.exceptions import RequestValidationError

    raise RequestValidationError(
        [
            {
                "type": "bool_parsing",
                "loc": ("body", "keep"),
                "msg": "keep must be true or false",
                "input": None,
            }
        ]
    )


async def _sidecar_upload(form: Any) -> bytes | None:
    upload = form.get("manifest")
    if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
        return None
    data = await upload.read(MAX_SIDECAR_BYTES + 1)
    if len(data) > MAX_SIDECAR_BYTES:
        raise HTTPException(status_code=400, detail="the manifest file is larger than 1 MiB")
    return data or None


async def _read_submission(request: Request) -> Submission:
    """The content from a multipart or urlencoded form, JSON or raw bytes, and a sidecar if one came."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_files=3, max_fields=20)
        except UploadTooLarge:
            raise
        except Exception as exc:  # a malformed form body is the client's mistake
            raise HTTPException(status_code=400, detail=f"the form could not be read: {exc}") from exc
        keep = _form_keep(form.get("keep"))
        sidecar = await _sidecar_upload(form)
        upload = form.get("file")
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            data = await upload.read(MAX_VERIFY_BYTES + 1)
            if len(data) > MAX_VERIFY_BYTES:
                raise UploadTooLarge()
            if data:
                return Submission(
                    data=data,
                    filename=upload.filename,
                    declared=upload.content_type,
                    keep=keep,
                    sidecar=sidecar,
                )
        text = form.get("text")
        if isinstance(text, str) and text:
            # browsers send a textarea's line ends as CRLF; the text that was signed had LF
            data = text.replace("\r\n", "\n").encode("utf-8")
            return Submission(data=data, declared="text/plain", keep=keep, sidecar=sidecar)
        if isinstance(upload, str) and upload:
            return Submission(data=upload.encode("utf-8"), keep=keep, sidecar=sidecar)
        if "file" in form or "text" in form:  # sent, but empty: an answer ("the content is empty")
            return Submission(data=b"", keep=keep)
        return Submission(keep=keep)
    body = await request.body()
    if ctype == "application/json":
        from fastapi.exceptions import RequestValidationError

        try:
            doc = VerifyText.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
            ) from exc
        sidecar = None
        if doc.manifest:
            try:
                sidecar = base64.b64decode(doc.manifest, validate=True)
            except ValueError:
                raise RequestValidationError(
                    [
                        {
                            "type": "value_error",
                            "loc": ("body", "manifest"),
                            "msg": "the manifest is not valid base64",
                            "input": doc.manifest[:40],
                        }
                    ]
                ) from None
        return Submission(
            data=doc.text.encode("utf-8"), declared="text/plain", keep=doc.keep, sidecar=sidecar
        )
    # a body sent with a media type is content, even empty ("the content is empty"); no body at all is not
    return Submission(data=body if (body or ctype) else None, declared=ctype or None)


@router.post(
    "/verify",
    summary="Verify content for AI provenance (no login; keep=true needs an editor token)",
    response_model=Verification,
    openapi_extra=REQUEST_BODY,
    responses={
        400: {"model": ErrorMessage, "description": "The form could not be read"},
        401: {"model": ErrorMessage, "description": "keep=true with an unknown or revoked token"},
        403: {"model": ErrorMessage, "description": "keep=true with a token below the editor role"},
        413: {"model": ErrorMessage, "description": "The upload is larger than 20 MB"},
        422: {"model": ProblemReport, "description": "No content was sent, or the JSON is invalid"},
        429: {
            "model": ErrorMessage,
            "description": "keep=true past this client's keep quota; verifying without keep still works",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the quota has room for this upload",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
    },
)
async def verify_api(request: Request, keep: bool = False, ws: Workspace = Depends(workspace)) -> Any:
    """Send an image or text file as multipart `file`, or JSON `{"text": ...}`; get one verdict with its
    parts (manifest, watermark, ledger). `verdict` is `established` (and `mark_found` true) only for a
    mark in the content; a resemblance to a ledger entry is `ledger_match`: no mark found in this file.
    Content that cannot be checked still gets a 200 answer whose `bad_input` says why."""
    sub = await _read_submission(request)
    if sub.data is None:
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "file": "<request body>",
                        "field": "file",
                        "message": "no content was sent",
                        "expected": "a multipart 'file' or 'text', or JSON {\"text\": ...}",
                    }
                ]
            },
        )
    want_keep = (keep or sub.keep) and _may_keep(request, ws, len(sub.data))
    v = await run_in_threadpool(
        verify_content,
        ws,
        sub.data,
        filename=sub.filename,
        declared_type=sub.declared,
        keep=want_keep,
        sidecar_manifest=sub.sidecar,
    )
    if (keep or sub.keep) and not want_keep:
        v = v.model_copy(update={"notes": [*v.notes, NOT_KEPT]})
    return v


# --- the page -------------------------------------------------------------------------------------------


def _page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    from assay import __version__
    from assay.api.routers.pages import templates
    from assay.web.i18n import load_catalogue, pick_language

    catalogue = load_catalogue("verify")
    lang = pick_language(
        context.pop("lang", None) or request.query_params.get("lang"), request.headers.get("accept-language")
    )

    def say(messages: list[Any] | None, fallback: str) -> str:
        """A finding in the page's language; the English sentence if it came without string ids."""
        if not messages or any(m is None for m in messages):
            return fallback
        return " ".join(m.text(lang) for m in messages)

    html = (
        templates()
        .get_template("verify.html")
        .render(
            version=__version__,
            lang=lang,
            languages=catalogue.languages,
            t=catalogue.for_language(lang),
            say=say,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


@pages.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> HTMLResponse:
    return _page(request)


@pages.post("/verify", response_class=HTMLResponse)
async def verify_page_submit(request: Request, ws: Workspace = Depends(workspace)) -> HTMLResponse:
    from assay.web.i18n import load_catalogue, pick_language

    try:
        sub = await _read_submission(request)
    except UploadTooLarge:
        raise
    except HTTPException as exc:
        return _page(request, status_code=400, error=str(exc.detail))
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    if not sub.data:  # the page asks again for an empty form; the API answers "the content is empty"
        t = load_catalogue("verify").for_language(lang)
        return _page(request, status_code=422, error=t["nothing_given"])
    want_keep = sub.keep and _may_keep(request, ws, len(sub.data))
    v = await run_in_threadpool(
        verify_content,
        ws,
        sub.data,
        filename=sub.filename,
        declared_type=sub.declared,
        keep=want_keep,
        sidecar_manifest=sub.sidecar,
    )
    return _page(request, v=v)
