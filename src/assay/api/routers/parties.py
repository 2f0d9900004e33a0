"""The parties of a system's supply chain."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assay.api.auth import AUTH_FAILURES, editor, read_access
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND
from assay.manifest.schema import Party
from assay.registry import service
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(
    prefix="/systems/{slug}/parties",
    tags=["registry"],
    dependencies=[Depends(read_access)],
    responses=NOT_FOUND | INVALID,
)


@router.get("", summary="A system's parties")
def list_parties(slug: str, ws: Workspace = Depends(workspace)) -> list[Party]:
    return service.get_manifest(ws, slug).parties


@router.post("", status_code=201, summary="Add a party", responses=AUTH_FAILURES | BODY_ERRORS | CONFLICT)
def add_party(
    slug: str, party: Party, ws: Workspace = Depends(workspace), _token: ApiToken = Depends(editor)
) -> Party:
    """Saved only if the manifest still validates with it (a repeated id is refused with 409)."""
    service.add_party(ws, slug, party)
    return party
