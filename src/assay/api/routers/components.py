"""The components of a system: models, fine-tunes, applications, guardrails, data, hosting."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assay.api.auth import AUTH_FAILURES, editor, read_access
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND
from assay.manifest.schema import Component
from assay.registry import service
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(
    prefix="/systems/{slug}/components",
    tags=["registry"],
    dependencies=[Depends(read_access)],
    responses=NOT_FOUND | INVALID,
)


@router.get("", summary="A system's components", response_model_exclude_none=True)
def list_components(slug: str, ws: Workspace = Depends(workspace)) -> list[Component]:
    return service.get_manifest(ws, slug).components


@router.post(
    "",
    status_code=201,
    summary="Add a component",
    responses=AUTH_FAILURES | BODY_ERRORS | CONFLICT,
    response_model_exclude_none=True,
)
def add_component(
    slug: str, component: Component, ws: Workspace = Depends(workspace), _token: ApiToken = Depends(editor)
) -> Component:
    """Its provider must be a party of the system; otherwise 422 names `components[i].provider`."""
    service.add_component(ws, slug, component)
    return component
