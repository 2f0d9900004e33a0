"""The risk areas responsibility is allocated over, loaded from validated package data."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.manifest.schema import ControlLevel, ControlPoint, ModelType
from assay.yamlio import safe_load


class RiskArea(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    description: str
    dimension: str
    nist_600_1: list[str]
    control_points: dict[ControlPoint, float]

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> RiskArea:
        total = sum(self.control_points.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"risk area {self.id}: control point weights add up to {total}, not 1")
        return self


class ModelTypeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    upstream_factor: float = Field(gt=0, le=1)
    downstream_may_hold_upstream: bool


class RiskAreaCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    control_levels: dict[ControlLevel, float]
    model_types: dict[ModelType, ModelTypeRule]
    upstream_points: list[ControlPoint]
    responsible_share: float = Field(gt=0, le=1)
    risk_areas: list[RiskArea]

    def get(self, risk_area_id: str) -> RiskArea | None:
        return next((r for r in self.risk_areas if r.id == risk_area_id), None)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.risk_areas]


@lru_cache(maxsize=1)
def risk_area_catalog() -> RiskAreaCatalog:
    text = resources.files("assay.registry").joinpath("data/risk_areas.yaml").read_text("utf-8")
    return RiskAreaCatalog.model_validate(safe_load(text))
