"""Crosswalk rows: the catalog's controls read against one other framework."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from assay.catalog.models import FRAMEWORKS, Catalog, Strength

__all__ = ["FRAMEWORKS", "CrosswalkRow", "coverage", "crosswalk"]


class CrosswalkRow(BaseModel):
    """One edge, flattened with both titles so a reader never has to look an id up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control_id: str
    control_title: str
    target_id: str
    target_title: str
    strength: Strength


def crosswalk(
    catalog: Catalog, to: str = "nist-ai-rmf", *, dimension: str | None = None
) -> list[CrosswalkRow]:
    """Every edge from the catalog's controls (optionally one dimension's) into framework `to`.

    Raises ValueError naming the valid frameworks (or dimensions) when given an unknown one.
    """
    framework = catalog.framework(to.strip().lower())
    controls = catalog.controls if dimension is None else catalog.controls_for_dimension(dimension)
    rows: list[CrosswalkRow] = []
    for control in controls:
        for link in control.links(framework.id):
            entry = framework.entry(link.target)
            rows.append(
                CrosswalkRow(
                    control_id=control.id,
                    control_title=control.title,
                    target_id=link.target,
                    target_title=entry.title if entry else "",
                    strength=link.strength,
                )
            )
    return rows


def coverage(catalog: Catalog, to: str) -> dict[str, list[str]]:
    """For each id of framework `to`, the controls that link to it (empty list: a gap in the catalog)."""
    framework = catalog.framework(to.strip().lower())
    found: dict[str, list[str]] = {entry.id: [] for entry in framework.entries}
    for row in crosswalk(catalog, framework.id):
        found[row.target_id].append(row.control_id)
    return found
