"""Which electricity grid a run is charged to, and that grid's carbon intensity.

The country comes from the caller, else `ASSAY_CARBON_COUNTRY`, else Singapore. Its grid factor is read
from codecarbon's bundled country data when codecarbon is installed (the same figure its offline tracker
uses), else from Assay's own small table, so the fallback estimate and codecarbon never disagree.
"""

from __future__ import annotations

import functools
import json
import os
import re
from importlib import metadata, util
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assay.yamlio import safe_load

DEFAULT_COUNTRY = "SGP"
COUNTRY_ENV = "ASSAY_CARBON_COUNTRY"
ESTIMATE_FILE = Path(__file__).resolve().parent / "data" / "estimate.yaml"
_ALPHA3 = re.compile(r"^[A-Z]{3}$")


class GridFactor(BaseModel):
    country: str
    kg_per_kwh: float = Field(ge=0)
    source: str


class _BundledFactor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kg_per_kwh: float = Field(ge=0)
    source: str


class EstimateData(BaseModel):
    """`data/estimate.yaml`: the fallback's assumptions, validated when first read."""

    model_config = ConfigDict(extra="forbid")

    cpu_watts_per_busy_core: float = Field(gt=0)
    grid_factors: dict[str, _BundledFactor]


@functools.cache
def estimate_data() -> EstimateData:
    return EstimateData.model_validate(safe_load(ESTIMATE_FILE.read_text(encoding="utf-8")))


def codecarbon_version() -> str | None:
    try:
        return metadata.version("codecarbon")
    except metadata.PackageNotFoundError:
        return None


def _codecarbon_mix_path() -> Path | None:
    """codecarbon's country data file, found without importing codecarbon (which is slow to import)."""
    try:
        spec = util.find_spec("codecarbon")
    except (ImportError, ValueError):  # ValueError: the module was blocked in sys.modules
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data/private_infra/global_energy_mix.json"
    return path if path.is_file() else None


@functools.cache
def _codecarbon_mix(path: Path) -> dict[str, dict[str, object]]:
    return json.loads(path.read_text(encoding="utf-8"))


def grid_factor(country: str) -> GridFactor | None:
    """The grid factor of an ISO alpha-3 country, or None when no data source knows it."""
    path = _codecarbon_mix_path()
    if path is not None:
        entry = _codecarbon_mix(path).get(country)
        intensity = entry.get("carbon_intensity") if isinstance(entry, dict) else None
        if isinstance(intensity, int | float):
            year = entry.get("year", "?") if isinstance(entry, dict) else "?"
            name = entry.get("country_name", country) if isinstance(entry, dict) else country
            return GridFactor(
                country=country,
                kg_per_kwh=float(intensity) / 1000,
                source=f"codecarbon {codecarbon_version()} global_energy_mix.json: {name}, {year} "
                "(Our World in Data energy dataset)",
            )
        return None
    bundled = estimate_data().grid_factors.get(country)
    if bundled is None:
        return None
    return GridFactor(country=country, kg_per_kwh=bundled.kg_per_kwh, source=bundled.source)


def carbon_country(value: str | None = None) -> str:
    """The grid to charge runs to: `value`, else `ASSAY_CARBON_COUNTRY`, else SGP.

    Raises ValueError naming the setting when it is not an ISO 3166-1 alpha-3 code with grid data, so a
    bad setting stops a run before it starts instead of giving it a wrong footprint."""
    where = "carbon country"
    if value is None:
        value = os.environ.get(COUNTRY_ENV) or None
        where = COUNTRY_ENV
    if value is None:
        return DEFAULT_COUNTRY
    code = value.strip().upper()
    if not _ALPHA3.match(code):
        raise ValueError(
            f"{where}={value!r}: expected an ISO 3166-1 alpha-3 country code such as SGP, MYS or USA"
        )
    if grid_factor(code) is None:
        known = "codecarbon's country data" if _codecarbon_mix_path() else "Assay's table (no codecarbon)"
        raise ValueError(f"{where}={value!r}: no grid carbon intensity for {code} in {known}")
    return code
