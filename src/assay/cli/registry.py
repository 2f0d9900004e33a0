"""`assay registry`: the RACI matrix, its flags and the safety net, read from the manifest alone.

Only typer is imported at module level so that `assay --help` stays fast; each command imports the
domain code it needs. Commands that read the database can join this group later as more functions.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from assay.manifest.schema import Manifest

app = typer.Typer(no_args_is_help=True, help="Parties, components, control points and the RACI matrix.")

MANIFEST_ARG = typer.Argument(Path("assay.yaml"), help="The manifest, or a folder holding assay.yaml.")
TODAY_OPT = typer.Option(
    None,
    "--today",
    help="Judge cover as on this date (YYYY-MM-DD) instead of today; for reproducible reports.",
)


class RaciFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


class TableFormat(StrEnum):
    table = "table"
    json = "json"


def _load(path: Path, system: str | None = None, home: Path | None = None) -> Manifest:
    """The manifest file, or with --system the stored one (overrides made later included).

    Exits 2 with every problem on stderr for an invalid file, and 2 for an unknown system.
    """
    from assay.cli.common import fail_on_invalid_manifest, open_workspace
    from assay.manifest import ManifestInvalid, load_manifest

    try:
        if system is None:
            return load_manifest(path)
        from assay.registry.service import SystemNotFound, get_manifest

        ws = open_workspace(home)
        try:
            return get_manifest(ws, system)
        except SystemNotFound as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        finally:
            ws.close()
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)


SYSTEM_OPT = typer.Option(
    None, "--system", "-s", help="Read this registered system from the store instead of a manifest file."
)
HOME_OPT = typer.Option(
    None, "--home", help="The workspace's .assay folder (default: ./.assay or ASSAY_HOME)."
)


def _today(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-06-01", param_hint="--today") from None


def _write_atomic(path: Path, text: str) -> None:
    from assay.store.blobs import atomic_write

    atomic_write(path, text.encode("utf-8"))


def _console(to_text: bool = False) -> Console:
    """A console for the terminal, or one that records plain text for a file."""
    import io

    from rich.console import Console

    if to_text:
        return Console(record=True, file=io.StringIO(), width=120, color_system=None)
    return Console()


@app.command()
def raci(
    manifest: Path = MANIFEST_ARG,
    fmt: RaciFormat = typer.Option(RaciFormat.table, "--format", "-f", help="table, json or html."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    today: str | None = TODAY_OPT,
    system: str | None = SYSTEM_OPT,
    home: Path | None = HOME_OPT,
) -> None:
    """Who is Responsible, Accountable, Consulted and Informed for each risk area, by level of control."""
    from assay.registry.allocation import allocate

    m = _load(manifest, system, home)
    matrix = allocate(m)
    if fmt is RaciFormat.json:
        from assay.registry.render import render_json

        text = render_json(matrix)
    elif fmt is RaciFormat.html:
        from assay.registry.html import render_raci_html
        from assay.registry.safety_net import assess_safety_net

        text = render_raci_html(matrix, assess_safety_net(m, _today(today)), m)
    else:
        from assay.registry.render import flags_table, raci_table

        console = _console(to_text=output is not None)
        console.print(raci_table(matrix))
        if matrix.flags:
            console.print(flags_table(matrix.flags))
        if output is None:
            return
        text = console.export_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write_atomic(output, text)
        typer.echo(f"wrote {output}", err=True)


@app.command()
def flags(
    manifest: Path = MANIFEST_ARG,
    fmt: TableFormat = typer.Option(TableFormat.table, "--format", "-f", help="table or json."),
    today: str | None = TODAY_OPT,
    system: str | None = SYSTEM_OPT,
    home: Path | None = HOME_OPT,
) -> None:
    """Every allocation and safety-net flag; exits 1 if any is an error, so CI can gate on it."""
    from assay.registry.allocation import allocate
    from assay.registry.models import Severity
    from assay.registry.render import flags_table, sorted_flags
    from assay.registry.safety_net import assess_safety_net

    m = _load(manifest, system, home)
    found = sorted_flags([*allocate(m).flags, *assess_safety_net(m, _today(today)).flags])
    if fmt is TableFormat.json:
        import json

        typer.echo(json.dumps([f.model_dump(mode="json") for f in found], indent=2, ensure_ascii=False))
    else:
        _console().print(flags_table(found) if found else "No flags.")
    errors = sum(f.severity is Severity.error for f in found)
    if errors:
        typer.echo(f"{errors} error flag(s)", err=True)
        raise typer.Exit(1)


@app.command("safety-net")
def safety_net(
    manifest: Path = MANIFEST_ARG,
    fmt: TableFormat = typer.Option(TableFormat.table, "--format", "-f", help="table or json."),
    today: str | None = TODAY_OPT,
    system: str | None = SYSTEM_OPT,
    home: Path | None = HOME_OPT,
) -> None:
    """Indemnities, insurance and liability per risk area, and which areas have no cover in force."""
    from assay.registry.safety_net import assess_safety_net

    report = assess_safety_net(_load(manifest, system, home), _today(today))
    if fmt is TableFormat.json:
        from assay.registry.render import render_json

        typer.echo(render_json(report), nl=False)
        return
    from assay.registry.render import flags_table, safety_net_table

    console = _console()
    console.print(safety_net_table(report))
    console.print(flags_table(report.flags, title="Safety-net flags"))


@app.command()
def systems(
    home: Path | None = HOME_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The systems registered in the store (by `assay assess` or the API)."""
    from assay.cli.common import open_workspace
    from assay.registry.service import list_systems

    ws = open_workspace(home)
    found = list_systems(ws)
    ws.close()
    if as_json:
        import json

        typer.echo(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
        return
    from rich.table import Table

    table = Table("id", "name", "version", "model type", "parties", "components", "updated")
    for rec in found:
        table.add_row(
            rec.id,
            rec.name,
            rec.version,
            rec.model_type,
            str(rec.parties),
            str(rec.components),
            f"{rec.updated_at:%Y-%m-%d %H:%M}",
        )
    _console().print(table if found else "No systems registered yet: run `assay assess`.")


@app.command()
def override(
    system: str = typer.Argument(..., help="The registered system's id."),
    risk_area: str = typer.Option(..., "--risk-area", help="The risk area whose allocation is replaced."),
    accountable: str = typer.Option(..., "--accountable", help="Party id that is accountable."),
    responsible: list[str] = typer.Option(
        ..., "--responsible", help="Party id that is responsible (repeat)."
    ),
    rationale: str = typer.Option(
        ..., "--rationale", help="Why; kept with the override (20+ visible characters)."
    ),
    decided_by: str = typer.Option("", "--by", help="Who decided."),
    home: Path | None = HOME_OPT,
) -> None:
    """Replace a derived allocation in the store, keeping the written rationale.

    The override survives re-registering the manifest; to keep it in version control, write it into
    the manifest's `responsibility.overrides` instead.
    """
    from pydantic import ValidationError

    from assay.cli.common import fail_on_invalid_manifest, open_workspace
    from assay.manifest import ManifestInvalid
    from assay.manifest.schema import AllocationDecision
    from assay.registry.service import SystemNotFound, add_override

    try:
        entry = AllocationDecision(
            risk_area=risk_area, accountable=accountable, responsible=responsible, rationale=rationale
        )
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    ws = open_workspace(home)
    try:
        add_override(ws, system, entry, decided_by)
    except SystemNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    finally:
        ws.close()
    typer.echo(f"kept: {risk_area} of {system} is now the accountability of {accountable}")
