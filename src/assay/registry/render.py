"""Terminal and JSON views of the registry's results; no logic here beyond layout."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from assay.registry.models import RaciMatrix, RegistryFlag, Severity
from assay.registry.safety_net import CoverStatus, SafetyNetReport

ROLE_STYLES = {"A/R": "bold magenta", "A": "bold magenta", "R": "cyan", "C": "yellow", "I": "dim"}
SEVERITY_STYLES = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "dim"}
SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


def render_json(result: BaseModel) -> str:
    """Deterministic JSON: field order follows the models, lists follow catalog and manifest order."""
    return json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def raci_table(matrix: RaciMatrix) -> Table:
    """Rows are risk areas, columns are parties; '*' marks a row a person overrode."""
    table = Table(title=f"RACI: {matrix.system_name} ({matrix.model_type.value})", show_lines=False)
    table.add_column("Risk area", no_wrap=False)
    for party in matrix.parties:
        table.add_column(party.id, justify="center", overflow="fold")
    for a in matrix.allocations:
        label = a.title + (" *" if a.source == "override" else "") + (" (n/a)" if a.not_applicable else "")
        cells = [Text(a.role_of(p.id), style=ROLE_STYLES.get(a.role_of(p.id), "")) for p in matrix.parties]
        table.add_row(label, *cells)
    table.caption = "A accountable · R responsible · C consulted · I informed · * set by an override"
    return table


def sorted_flags(flags: Sequence[RegistryFlag]) -> list[RegistryFlag]:
    """Errors first, then warnings, then notes; otherwise in the order they were found."""
    return sorted(flags, key=lambda f: SEVERITY_ORDER[f.severity])


def flags_table(flags: Sequence[RegistryFlag], title: str = "Flags") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("Severity")
    table.add_column("Kind")
    table.add_column("Risk area")
    table.add_column("Message", overflow="fold")
    for f in sorted_flags(flags):
        table.add_row(
            Text(f.severity.value, style=SEVERITY_STYLES[f.severity]),
            f.kind.value,
            f.risk_area or "",
            f.message,
        )
    return table


def safety_net_table(report: SafetyNetReport) -> Table:
    """One row per risk area: what would respond on the report's day, and whether it counts as cover."""
    table = Table(title=f"Safety net on {report.today}", show_lines=False)
    table.add_column("Risk area")
    table.add_column("Covered", justify="center")
    table.add_column("Insurance", overflow="fold")
    table.add_column("Commitments", overflow="fold")
    table.add_column("Liability", overflow="fold")
    for a in report.areas:
        if a.not_applicable:
            covered = Text("n/a", style="dim")
        else:
            covered = Text("yes", style="green") if a.covered else Text("no", style="bold red")
        table.add_row(
            a.title,
            covered,
            ", ".join(_entry(e.id, e.status) for e in a.insurance),
            ", ".join(f"{_entry(e.id, e.status)} ({e.type})" for e in a.commitments),
            ", ".join(n.party for n in a.liability),
        )
    return table


def _entry(ident: str, status: CoverStatus) -> str:
    return ident if status is CoverStatus.valid else f"{ident} [{status.value}]"
