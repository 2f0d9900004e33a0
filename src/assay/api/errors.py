"""How failures look on the wire: domain exceptions become 4xx answers with a stable shape.

Every 422 carries `{"detail": [Problem, ...]}`, whether pydantic rejected the request or the manifest
checks did, so a client needs one parser for "what was wrong with what I sent".
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from assay.manifest import ManifestInvalid, Problem
from assay.manifest.loader import format_path
from assay.registry.service import RegistryConflict, SystemNotFound


class ErrorMessage(BaseModel):
    """A refusal explained in one sentence."""

    detail: str


class ProblemReport(BaseModel):
    """Everything wrong with a request, each problem naming its field."""

    detail: list[Problem]


class InvalidRequest(Exception):
    """A request the schema accepted but the domain cannot answer, e.g. an unknown framework name."""

    def __init__(self, field: str, message: str, where: str = "query") -> None:
        super().__init__(message)
        self.problems = [Problem(file=f"<request {where}>", field=field, message=message)]


def _expected(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "this field is required"
    if kind == "enum":
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if kind == "extra_forbidden":
        return "only the fields the schema names"
    if kind == "json_invalid":
        return "a JSON document"
    return ""


def problems_from_request(exc: RequestValidationError) -> list[Problem]:
    """FastAPI's validation errors restated as manifest-style problems (field path without 'body')."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err.get("loc") or ())
        where = str(loc[0]) if loc else "request"
        path = loc[1:] if where == "body" else loc
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden" and path:
            message = f"unknown key '{path[-1]}'"
        elif err.get("type") == "json_invalid":
            message = f"JSON decode error: {(err.get('ctx') or {}).get('error', '')}".rstrip(": ")
            path = ()
        problems.append(
            Problem(
                file="<request body>" if where == "body" else f"<request {where}>",
                field=format_path(path),  # type: ignore[arg-type]
                message=message.removeprefix("Value error, "),
                expected=_expected(err),
            )
        )
    return problems


def _report(problems: list[Problem]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [p.model_dump(mode="json") for p in problems]})


async def _on_system_not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _on_conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


async def _on_problems(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ManifestInvalid | InvalidRequest)
    return _report(exc.problems)


async def _on_request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _report(problems_from_request(exc))


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path; Starlette names only the first route's."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return JSONResponse(status_code=405, content={"detail": exc.detail}, headers=headers)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(SystemNotFound, _on_system_not_found)
    app.add_exception_handler(RegistryConflict, _on_conflict)
    app.add_exception_handler(ManifestInvalid, _on_problems)
    app.add_exception_handler(InvalidRequest, _on_problems)
    app.add_exception_handler(RequestValidationError, _on_request_invalid)


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage, "description": "No such record"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemReport, "description": "The request or the resulting manifest is invalid"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorMessage,
        "description": "The system has this already, or the change would grow it past 2 MiB",
    }
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorMessage, "description": "The body could not be read (e.g. it is not UTF-8)"},
    413: {"model": ErrorMessage, "description": "The request body is larger than 2 MiB"},
}
