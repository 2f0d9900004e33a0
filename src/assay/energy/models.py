"""The footprint of one run (or of a whole assessment): compute time, energy and CO₂e, with the
method stated, so a reader can tell a measurement from an estimate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Footprint(BaseModel):
    """Compute, energy and emissions of a piece of work, and how they were obtained."""

    model_config = ConfigDict(extra="forbid")

    cpu_seconds: float = Field(0.0, ge=0, description="CPU time used by the process (user + system)")
    gpu_seconds: float = Field(0.0, ge=0, description="GPU busy time, 0 when no GPU was used")
    wall_seconds: float = Field(0.0, ge=0)
    energy_kwh: float = Field(0.0, ge=0, description="energy attributed to the work")
    co2e_kg: float = Field(0.0, ge=0, description="emissions: energy_kwh × grid_factor")
    country: str = Field("SGP", pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 of the grid")
    grid_factor_kg_per_kwh: float = Field(0.0, ge=0, description="grid carbon intensity used")
    grid_factor_source: str = Field("", description="where the grid factor comes from")
    method: str = Field("", description="e.g. 'codecarbon 2.x offline, RAPL' or 'TDP × CPU time'")
    measured: bool = Field(False, description="True when power was read from hardware counters")
    parts: int = Field(1, ge=0, description="runs added together into this figure")

    def __add__(self, other: Footprint) -> Footprint:
        """Add two footprints (an assessment's is the sum of its runs'); methods are joined."""
        if not isinstance(other, Footprint):
            return NotImplemented
        methods = sorted({m for m in (self.method, other.method) if m})
        energy = self.energy_kwh + other.energy_kwh
        co2 = self.co2e_kg + other.co2e_kg
        return Footprint(
            cpu_seconds=self.cpu_seconds + other.cpu_seconds,
            gpu_seconds=self.gpu_seconds + other.gpu_seconds,
            wall_seconds=self.wall_seconds + other.wall_seconds,
            energy_kwh=energy,
            co2e_kg=co2,
            country=self.country if self.parts else other.country,
            grid_factor_kg_per_kwh=(co2 / energy) if energy else self.grid_factor_kg_per_kwh,
            grid_factor_source=self.grid_factor_source or other.grid_factor_source,
            method="; ".join(methods),
            measured=self.measured and other.measured,
            parts=self.parts + other.parts,
        )


class DeclaredTraining(BaseModel):
    """What the model developer declares about training (read from the manifest; never measured here)."""

    model_config = ConfigDict(extra="forbid")

    compute: str = Field("", description="e.g. '2.0e21 FLOP' or '64 H100 × 20 days'")
    hardware: str = ""
    energy_kwh: float | None = Field(None, ge=0)
    co2e_kg: float | None = Field(None, ge=0)
    location: str = ""
    source: str = Field("", description="where the developer published it (URL or document)")


Measured = Literal["measured", "estimated", "declared", "not disclosed"]
