"""Systems: register one from a manifest, read it back, delete it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from assay.api.auth import AUTH_FAILURES, admin, read_access
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, INVALID, NOT_FOUND
from assay.manifest import Manifest, parse_manifest_data
from assay.registry import service
from assay.registry.service import SystemNotFound, SystemRecord
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(
    prefix="/systems", tags=["systems"], dependencies=[Depends(read_access)], responses=INVALID
)


@router.get("", summary="List registered systems")
def list_systems(ws: Workspace = Depends(workspace)) -> list[SystemRecord]:
    return service.list_systems(ws)


@router.post(
    "",
    status_code=201,
    summary="Register a system from a manifest, or replace it",
    responses={200: {"model": SystemRecord, "description": "An existing system was replaced"}}
    | AUTH_FAILURES
    | BODY_ERRORS,
)
def register_system(
    manifest: Manifest,
    response: Response,
    ws: Workspace = Depends(workspace),
    _token: ApiToken = Depends(admin),
) -> SystemRecord:
    """201 for a new system, 200 when the same id is replaced; overrides made over the API are kept."""
    # The body has passed the schema; the cross-reference checks (unknown party, duplicate id) run here.
    checked = parse_manifest_data(service.manifest_json(manifest), "<request body>")
    try:
        service.get_system(ws, checked.system.id)
        existed = True
    except SystemNotFound:
        existed = False
    record = service.register_system(ws, checked)
    if existed:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/systems/{record.id}"
    return record


@router.get("/{slug}", summary="One system's summary", responses=NOT_FOUND)
def get_system(slug: str, ws: Workspace = Depends(workspace)) -> SystemRecord:
    return service.get_system(ws, slug)


@router.get(
    "/{slug}/manifest",
    summary="The stored manifest, with every kept override",
    responses=NOT_FOUND,
    response_model_exclude_none=True,
)
def get_manifest(slug: str, ws: Workspace = Depends(workspace)) -> Manifest:
    return service.get_manifest(ws, slug)


@router.delete(
    "/{slug}",
    status_code=204,
    summary="Delete a system and its registry",
    responses=NOT_FOUND | AUTH_FAILURES,
)
def delete_system(
    slug: str, ws: Workspace = Depends(workspace), _token: ApiToken = Depends(admin)
) -> Response:
    service.delete_system(ws, slug)
    return Response(status_code=204)
