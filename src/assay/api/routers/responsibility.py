"""Responsibility allocated by level of control, the flags it raises, the safety net, and overrides."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query

from assay.api.auth import AUTH_FAILURES, editor, read_access
from assay.api.deps import workspace
from assay.api.errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND
from assay.manifest.schema import AllocationOverride, IsoDate
from assay.registry import service
from assay.registry.allocation import allocate
from assay.registry.models import RaciMatrix, RegistryFlag
from assay.registry.overrides import OverrideRequest
from assay.registry.render import sorted_flags
from assay.registry.safety_net import SafetyNetReport, assess_safety_net
from assay.tokens import ApiToken
from assay.workspace import Workspace

router = APIRouter(
    prefix="/systems/{slug}",
    tags=["responsibility"],
    dependencies=[Depends(read_access)],
    responses=NOT_FOUND | INVALID,
)

TODAY = Query(None, description="The day to judge cover on (YYYY-MM-DD); default: today")
Day = IsoDate  # YYYY-MM-DD only; a number is not a date


@router.get("/raci", summary="The RACI matrix, one allocation per risk area")
def get_raci(slug: str, ws: Workspace = Depends(workspace)) -> RaciMatrix:
    return allocate(service.get_manifest(ws, slug))


@router.get("/safety-net", summary="Indemnities, liability and insurance per risk area")
def get_safety_net(
    slug: str, today: Day | None = TODAY, ws: Workspace = Depends(workspace)
) -> SafetyNetReport:
    return assess_safety_net(service.get_manifest(ws, slug), today or dt.date.today())


@router.get("/flags", summary="Every registry flag: allocation and safety net, most severe first")
def get_flags(slug: str, today: Day | None = TODAY, ws: Workspace = Depends(workspace)) -> list[RegistryFlag]:
    manifest = service.get_manifest(ws, slug)
    net = assess_safety_net(manifest, today or dt.date.today())
    return sorted_flags([*allocate(manifest).flags, *net.flags])


@router.get("/overrides", summary="Human overrides of the derived allocation, with their reasons")
def list_overrides(slug: str, ws: Workspace = Depends(workspace)) -> list[AllocationOverride]:
    return service.get_manifest(ws, slug).responsibility.overrides


@router.post(
    "/overrides",
    status_code=201,
    summary="Override one risk area's allocation, giving the reason",
    responses=AUTH_FAILURES | BODY_ERRORS | CONFLICT,
)
def add_override(
    slug: str,
    override: OverrideRequest,
    ws: Workspace = Depends(workspace),
    token: ApiToken = Depends(editor),
) -> AllocationOverride:
    """Replaces an earlier API override of the same area. `decided_by` is `token:<name>` and `decided_on`
    the server's date (UTC): the server keeps the audit trail, so a body that sets either is refused."""
    manifest = service.add_override(ws, slug, override, f"token:{token.name}")
    kept = [o for o in manifest.responsibility.overrides if o.risk_area == override.risk_area]
    return kept[-1]
