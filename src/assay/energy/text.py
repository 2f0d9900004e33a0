"""One line that states a footprint and how it was obtained, for reports and the terminal."""

from __future__ import annotations

from assay.energy.models import Footprint


def _num(value: float) -> str:
    """Three significant figures without scientific notation for the small figures a run has."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:
        text = f"{value:.{max(0, -int(f'{value:e}'.split('e')[1]) + 2)}f}"
    return text


def footprint_line(fp: Footprint) -> str:
    """'Energy: X Wh, Y g CO₂e (SGP grid, Z kg/kWh, estimated via …); CPU A s; GPU B s'."""
    how = "measured" if fp.measured else "estimated"
    return (
        f"Energy: {_num(fp.energy_kwh * 1000)} Wh, {_num(fp.co2e_kg * 1000)} g CO₂e "
        f"({fp.country} grid, {fp.grid_factor_kg_per_kwh:.3f} kg/kWh, {how} via {fp.method}); "
        f"CPU {_num(fp.cpu_seconds)} s; GPU {_num(fp.gpu_seconds)} s"
    )
