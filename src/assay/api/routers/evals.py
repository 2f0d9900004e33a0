"""Evaluation runs: their status with a progress field, their summaries and HTML reports.

Runs are started by `assay eval run` or `assay assess`; this router reads their folders, so a run in
progress shows how far it has got.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import HTMLResponse

from assay.api.auth import read_access
from assay.api.deps import workspace
from assay.api.errors import NOT_FOUND
from assay.evals.service import RunStatus, list_run_statuses, run_status, runs_dir
from assay.workspace import Workspace

router = APIRouter(prefix="/evals", tags=["evaluations"], dependencies=[Depends(read_access)])


def _status(ws: Workspace, run_id: str) -> RunStatus:
    found = run_status(ws, run_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no evaluation run '{run_id}'")
    return found


@router.get("", summary="Evaluation runs, oldest first, with their progress")
def list_runs(ws: Workspace = Depends(workspace)) -> list[RunStatus]:
    return list_run_statuses(ws)


@router.get("/{run_id}", summary="One run: status, progress (0 to 1) and summary", responses=NOT_FOUND)
def get_run(run_id: str, ws: Workspace = Depends(workspace)) -> RunStatus:
    return _status(ws, run_id)


@router.get(
    "/{run_id}/report",
    summary="The run's HTML report",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The report page"}} | NOT_FOUND,
)
def get_report(run_id: str, ws: Workspace = Depends(workspace)) -> Response:
    _status(ws, run_id)
    report = runs_dir(ws) / run_id / "report.html"
    if not report.is_file():
        raise HTTPException(status_code=404, detail=f"run '{run_id}' has no report yet")
    return HTMLResponse(
        report.read_text(),
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"},
    )
