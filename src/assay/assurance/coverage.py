"""Which framework controls an assessment's evidence speaks to, and which it does not yet.

A control names the evidence kinds that can satisfy it; a control is "evidenced" when at least one of
those kinds was produced. This says nothing about whether the evidence is good enough: that judgement
belongs to a policy pack's thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel


class ControlCoverage(BaseModel):
    id: str
    dimension: str
    title: str
    evidence_needed: list[str]
    evidence_present: list[str]
    evidenced: bool


class DimensionCoverage(BaseModel):
    dimension: str
    title: str
    controls: int
    evidenced: int


class CoverageReport(BaseModel):
    evidence_kinds: list[str]
    controls: list[ControlCoverage]
    dimensions: list[DimensionCoverage]

    @property
    def evidenced(self) -> int:
        return sum(1 for c in self.controls if c.evidenced)


def control_coverage(kinds: Iterable[str]) -> CoverageReport:
    from assay.catalog import load_catalog

    catalog = load_catalog()
    present = set(kinds)
    controls = [
        ControlCoverage(
            id=c.id,
            dimension=c.dimension,
            title=c.title,
            evidence_needed=list(c.evidence),
            evidence_present=sorted(present.intersection(c.evidence)),
            evidenced=bool(present.intersection(c.evidence)),
        )
        for c in catalog.controls
    ]
    dims = [
        DimensionCoverage(
            dimension=d.id,
            title=d.title,
            controls=sum(1 for c in controls if c.dimension == d.id),
            evidenced=sum(1 for c in controls if c.dimension == d.id and c.evidenced),
        )
        for d in catalog.dimensions
    ]
    return CoverageReport(evidence_kinds=sorted(present), controls=controls, dimensions=dims)
