"""Incident and vulnerability reports over HTTP.

`POST /api/v1/incidents` is open to anyone (no token, even on a closed server): the public reports here.
It is rate-limited per client, honours `Idempotency-Key` (a retry gets the same incident), and answers
with the id and a receipt; `GET /api/v1/incidents/{id}/status` with that receipt shows the reporter
their report's status and nothing else. Reading the reports themselves needs a triager token (or editor,
or admin), or an authority's token for the systems it supervises; the reporter's contact is never served.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from assay.api.auth import AUTH_FAILURES, incident_reader
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, INVALID, ErrorMessage, InvalidRequest, ProblemReport
from assay.incidents.batch import Pending
from assay.incidents.intake import (
    IdempotencyConflict,
    PublicReport,
    PublicStatus,
    Receipt,
    check_receipt,
    public_status,
    receipt_for,
    submit,
)
from assay.incidents.models import Incident, Status
from assay.incidents.service import (
    IncidentError,
    IncidentNotFound,
    ReportInvalid,
    get_incident,
    list_incidents,
)
from assay.manifest.problems import Problem
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=INVALID)

NOT_THERE = "no such report (or the receipt does not match it)"


def only_query(*names: str) -> Any:
    """Refuse query parameters the operation does not have: a misspelt filter must not be ignored."""

    async def check(request: Request) -> None:  # async: no worker-thread hop for a set difference
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise InvalidRequest(
                unknown[0][:60], f"unknown query parameter; this operation takes {list(names)}"
            )

    return Depends(check)


@router.post(
    "",
    status_code=201,
    summary="Report an incident or a vulnerability (public)",
    dependencies=[only_query()],
    responses={
        **BODY_ERRORS,
        409: {"model": ErrorMessage, "description": "the Idempotency-Key was used for another report"},
        422: {"model": ProblemReport, "description": "what is wrong with the report, field by field"},
        429: {"model": ErrorMessage, "description": "too many reports from this client; see Retry-After"},
    },
)
async def post_incident(
    request: Request,
    body: PublicReport,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", min_length=1, max_length=200),
    ws: Workspace = Depends(workspace),
) -> Receipt:
    client = request.client.host if request.client else "unknown"
    request.app.state.report_limiter.hit(client)
    digest = body_digest(body)
    intake = request.app.state.intake
    try:
        if intake.running:  # group commit: answered once the report's batch is durably committed
            item = Pending(body, source="api", idempotency_key=idempotency_key, body_sha256=digest)
            inc, replayed = await intake.submit(item)
        else:
            inc, replayed = await run_in_threadpool(
                submit, ws, body, source="api", idempotency_key=idempotency_key, body_sha256=digest
            )
    except (IdempotencyConflict, IncidentError) as exc:
        status, content = refusal(exc)
        return JSONResponse(status_code=status, content=content)  # type: ignore[return-value]
    # answered as built (the hottest route): FastAPI would validate the model it was just given again
    status, headers, payload = accepted(ws, inc, replayed)
    return Response(payload, status, headers, media_type="application/json")  # type: ignore[return-value]


def refusal(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The answer to a report the domain refused: 409 for a reused key, 422 naming the fields."""
    if isinstance(exc, IdempotencyConflict):
        return 409, {"detail": str(exc)}
    if isinstance(exc, ReportInvalid):
        return 422, {"detail": [p.model_dump(mode="json") for p in exc.problems]}
    problem = Problem(file="<request body>", field="(body)", message=str(exc))
    return 422, {"detail": [problem.model_dump(mode="json")]}


def accepted(ws: Workspace, inc: Incident, replayed: bool) -> tuple[int, dict[str, str], bytes]:
    """The 201 for a stored report: status, headers, body."""
    answer = Receipt(
        id=inc.id,
        receipt=receipt_for(ws, inc.id),
        status_url=f"/api/v1/incidents/{inc.id}/status",
        replayed=replayed,
    )
    return 201, ({"Idempotent-Replayed": "true"} if replayed else {}), answer.model_dump_json().encode()


def body_digest(body: PublicReport) -> str:
    """What identifies a request's body for its Idempotency-Key: the SHA-256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@router.get(
    "/{incident_id}/status",
    summary="A report's status, for its reporter (needs the receipt)",
    responses={404: {"model": ErrorMessage, "description": NOT_THERE}},
    dependencies=[only_query("receipt")],
)
def incident_status(
    incident_id: str,
    receipt: str | None = Query(None, max_length=100, description="or the X-Assay-Receipt header"),
    header_receipt: str | None = Header(None, alias="X-Assay-Receipt", max_length=100),
    ws: Workspace = Depends(workspace),
) -> PublicStatus:
    token = header_receipt or receipt or ""
    try:
        inc = get_incident(ws, incident_id)
    except (IncidentNotFound, IncidentError, ValueError):
        inc = None
    if inc is None or not check_receipt(ws, inc.id, token):
        return JSONResponse(status_code=404, content={"detail": NOT_THERE})  # type: ignore[return-value]
    return public_status(inc)


@router.get(
    "",
    summary="List reports (triager token; an authority's: the systems it supervises)",
    responses=AUTH_FAILURES,
    dependencies=[only_query("status", "system")],
)
def incidents_list(
    status: Status | None = Query(None, description="only reports in this state"),
    system: str | None = Query(None, max_length=64, description="only reports about this system"),
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(incident_reader),
) -> list[Incident]:
    if system is not None and not token.supervises(system):
        return JSONResponse(  # type: ignore[return-value]
            status_code=403, content={"detail": f"token '{token.name}' does not supervise system '{system}'"}
        )
    found = list_incidents(ws, system=system, status=[status] if status else None)
    return [i for i in found if token.supervises(i.system)]


@router.get(
    "/{incident_id}",
    summary="One report's record (triager token; an authority's: the systems it supervises)",
    responses={**AUTH_FAILURES, 404: {"model": ErrorMessage, "description": "no such report"}},
    dependencies=[only_query()],
)
def incident_get(
    incident_id: str, ws: Workspace = Depends(workspace), token: ApiToken = Depends(incident_reader)
) -> Incident:
    try:
        inc = get_incident(ws, incident_id)
    except (IncidentNotFound, IncidentError, ValueError):
        inc = None
    if inc is None or not token.supervises(inc.system):  # another system's report: as if absent
        return JSONResponse(status_code=404, content={"detail": "no such report"})  # type: ignore[return-value]
    return inc
