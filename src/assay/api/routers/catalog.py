"""The framework as data: its dimensions, controls, and crosswalks into other frameworks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from assay.api.auth import read_access
from assay.api.errors import INVALID, NOT_FOUND, InvalidRequest
from assay.catalog import FRAMEWORKS, Catalog, Control, CrosswalkRow, Dimension, crosswalk, load_catalog

router = APIRouter(
    prefix="/catalog", tags=["catalog"], dependencies=[Depends(read_access)], responses=INVALID
)


class FrameworkSummary(BaseModel):
    """A target framework the controls are mapped to; `id` is what `crosswalk?to=` takes."""

    id: str
    title: str
    version: str
    entries: int


def _dimension_ids() -> list[str]:
    return [d.id for d in load_catalog().dimensions]


# The OpenAPI document lists the values the server takes, read from the catalog data when the app is built.
DIMENSION = Query(
    None,
    description="only this dimension's controls, e.g. accountability",
    json_schema_extra={"enum": _dimension_ids()},
)
TO = Query(
    "nist-ai-rmf",
    description="target framework: " + ", ".join(FRAMEWORKS),
    json_schema_extra={"enum": [f.id for f in load_catalog().frameworks]},
)


def _check_dimension(catalog: Catalog, dimension: str | None) -> None:
    """An unknown dimension is a 422 naming the query field, in the same shape as any other bad input."""
    if dimension is not None and catalog.dimension(dimension) is None:
        known = ", ".join(d.id for d in catalog.dimensions)
        raise InvalidRequest("dimension", f"unknown dimension '{dimension}'; choose one of: {known}")


@router.get("/dimensions", summary="The framework's nine dimensions")
def list_dimensions() -> list[Dimension]:
    return list(load_catalog().dimensions)


@router.get("/frameworks", summary="Frameworks the controls are crosswalked to")
def list_frameworks() -> list[FrameworkSummary]:
    return [
        FrameworkSummary(id=f.id, title=f.title, version=f.version, entries=len(f.entries))
        for f in load_catalog().frameworks
    ]


@router.get("/controls", summary="Controls, in catalog order")
def list_controls(
    dimension: str | None = DIMENSION,
) -> list[Control]:
    catalog = load_catalog()
    _check_dimension(catalog, dimension)
    return list(catalog.controls) if dimension is None else catalog.controls_for_dimension(dimension)


@router.get("/controls/{control_id:path}", summary="One control by id", responses=NOT_FOUND)
def get_control(control_id: str) -> Control:
    """Ids hold ':' and '.', e.g. `mgf-genai:2024:accountability.allocation`; a near miss gets suggestions."""
    catalog = load_catalog()
    control = catalog.get(control_id)
    if control is None:
        close = catalog.suggest(control_id)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise HTTPException(status_code=404, detail=f"no control with id '{control_id}'{hint}")
    return control


@router.get("/crosswalk", summary="Every edge from the controls into another framework")
def get_crosswalk(
    to: str = TO,
    dimension: str | None = DIMENSION,
) -> list[CrosswalkRow]:
    catalog = load_catalog()
    _check_dimension(catalog, dimension)
    known = [f.id for f in catalog.frameworks]
    if to not in known:  # exactly the schema's enum: no case folding that the schema does not state
        raise InvalidRequest("to", f"unknown framework '{to}'; choose one of: {', '.join(known)}")
    return crosswalk(catalog, to, dimension=dimension)
