"""Lineage from a manifest dataset to the components that use it.

Explicit links come from `datasets[].used_by`. Without them Assay infers what the manifest implies: a
retrieval set feeds the `retrieval_data` components its provider supplies (or holds the
`retrieval_data` control point on), a training or fine-tuning set the model components whose
`training_data` control point its provider holds; and each linked component passes the data on to the
components `based_on` it.
"""

from __future__ import annotations

from assay.data.models import LineageLink
from assay.manifest import Manifest
from assay.manifest.schema import Dataset


def lineage(manifest: Manifest, dataset: Dataset) -> list[LineageLink]:
    links: list[LineageLink] = []
    direct: list[str] = list(dataset.used_by)
    if direct:
        links = [LineageLink(component=c, relation="uses", note="declared in used_by") for c in direct]
    else:
        point = "retrieval_data" if dataset.purpose == "retrieval" else "training_data"
        holders = {
            h.component
            for h in manifest.control_points
            if h.point.value == point and h.holder == dataset.provider
        }
        for c in manifest.components:
            by_kind = (
                dataset.purpose == "retrieval"
                and c.kind.value == "retrieval_data"
                and c.provider == dataset.provider
            )
            if by_kind or c.id in holders:
                direct.append(c.id)
                why = (
                    f"{c.kind.value} component of the dataset's provider"
                    if by_kind
                    else f"provider holds {point}"
                )
                links.append(LineageLink(component=c.id, relation=dataset.purpose, note=f"inferred: {why}"))
    seen = set(direct)
    frontier = list(direct)
    while frontier:
        parent = frontier.pop(0)
        for c in manifest.components:
            if c.based_on == parent and c.id not in seen:
                seen.add(c.id)
                frontier.append(c.id)
                links.append(LineageLink(component=c.id, relation="downstream", note=f"based on {parent}"))
    # Retrieval data reaches users through the application that retrieves it: the targets' components.
    if dataset.purpose == "retrieval" and direct:
        for c in manifest.components:
            if c.kind.value == "application" and c.id not in seen:
                seen.add(c.id)
                links.append(
                    LineageLink(
                        component=c.id, relation="downstream", note="application serving the retrieval data"
                    )
                )
    return links
