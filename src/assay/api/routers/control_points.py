"""Control points: which party holds which lever on which component, fully or shared."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assay.api.auth import AUTH_FAILURES, editor, read_access
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND
from assay.manifest.schema import ControlPointHolding
from assay.registry import service
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(
    prefix="/systems/{slug}/control-points",
    tags=["registry"],
    dependencies=[Depends(read_access)],
    responses=NOT_FOUND | INVALID,
)


@router.get("", summary="A system's control-point holdings")
def list_control_points(slug: str, ws: Workspace = Depends(workspace)) -> list[ControlPointHolding]:
    return service.get_manifest(ws, slug).control_points


@router.post(
    "", status_code=201, summary="Record a holding", responses=AUTH_FAILURES | BODY_ERRORS | CONFLICT
)
def add_control_point(
    slug: str,
    holding: ControlPointHolding,
    ws: Workspace = Depends(workspace),
    _token: ApiToken = Depends(editor),
) -> ControlPointHolding:
    """The holder must be a party and the component must exist; otherwise 422 names the field. The same
    point, component and holder a second time is refused with 409."""
    service.add_control_point(ws, slug, holding)
    return holding
