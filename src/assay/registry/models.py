"""The registry's results as pydantic models, named in the framework's own words.

These are what the CLI, the API and the HTML report all render, so they carry everything a reader needs
to check an allocation by hand: the scores, the holdings behind them, and any human override.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from assay.manifest.schema import ControlLevel, ControlPoint, ModelType, PartyRole


class Frozen(BaseModel):
    """Results are facts about one manifest; nobody should edit them after the fact."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


class FlagKind(StrEnum):
    gap = "gap"
    uncovered_points = "uncovered_points"
    conflicting_claim = "conflicting_claim"
    closed_model_violation = "closed_model_violation"
    ambiguous_accountability = "ambiguous_accountability"
    override_without_control = "override_without_control"
    duplicate_override = "duplicate_override"
    override_ignored = "override_ignored"
    expired_cover = "expired_cover"
    expiring_soon = "expiring_soon"
    not_yet_in_force = "not_yet_in_force"
    no_cover = "no_cover"
    no_fault = "no_fault"


class RegistryFlag(Frozen):
    """Something a governance reviewer should look at, stated in plain English."""

    kind: FlagKind
    severity: Severity
    risk_area: str | None = None
    parties: list[str] = []
    component: str | None = None
    points: list[ControlPoint] = []
    message: str


class HoldingBasis(Frozen):
    """One control-point holding and what it added to a party's score in one risk area."""

    party: str
    component: str
    point: ControlPoint
    level: ControlLevel
    weight: float
    level_factor: float
    model_type_factor: float
    contribution: float
    counted: bool = True


class PartyRef(Frozen):
    id: str
    name: str
    roles: list[PartyRole]


class ResponsibilityAllocation(Frozen):
    """Who is Responsible, Accountable, Consulted and Informed for one risk area, and why."""

    risk_area: str
    title: str
    accountable: str | None
    responsible: list[str]
    consulted: list[str]
    informed: list[str]
    scores: dict[str, float]
    basis: list[HoldingBasis]
    source: Literal["derived", "override"] = "derived"
    not_applicable: bool = False
    rationale: str | None = None
    decided_by: str | None = None
    decided_on: dt.date | None = None
    derived: ResponsibilityAllocation | None = None

    def role_of(self, party_id: str) -> str:
        """The matrix cell for a party: 'A/R', 'A', 'R', 'C', 'I', or '' where the area does not apply."""
        if self.not_applicable:
            return ""
        if party_id == self.accountable:
            return "A/R" if party_id in self.responsible else "A"
        if party_id in self.responsible:
            return "R"
        if party_id in self.consulted:
            return "C"
        if party_id in self.informed:
            return "I"
        return ""


class RaciMatrix(Frozen):
    """The whole allocation for one manifest: one row per risk area, plus the flags it raised."""

    system: str
    system_name: str
    model_type: ModelType
    catalog_version: int
    parties: list[PartyRef]
    allocations: list[ResponsibilityAllocation]
    flags: list[RegistryFlag]

    def allocation(self, risk_area: str) -> ResponsibilityAllocation | None:
        return next((a for a in self.allocations if a.risk_area == risk_area), None)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.error for f in self.flags)
