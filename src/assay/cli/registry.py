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


def _load(path: Path) -> Manifest:
    """The manifest, or exit 2 with every problem on stderr."""
    from assay.manifest import ManifestInvalid, load_manifest

    try:
        return load_manifest(path)
    except ManifestInvalid as exc:
        for problem in exc.problems:
            typer.echo(problem.render(), err=True)
        raise typer.Exit(2) from None


def _today(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-06-01", param_hint="--today") from None


def _write_atomic(path: Path, text: str) -> None:
    """Write beside the target and rename, so a reader never sees half a file."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
) -> None:
    """Who is Responsible, Accountable, Consulted and Informed for each risk area, by level of control."""
    from assay.registry.allocation import allocate

    m = _load(manifest)
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
) -> None:
    """Every allocation and safety-net flag; exits 1 if any is an error, so CI can gate on it."""
    from assay.registry.allocation import allocate
    from assay.registry.models import Severity
    from assay.registry.render import flags_table, sorted_flags
    from assay.registry.safety_net import assess_safety_net

    m = _load(manifest)
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
) -> None:
    """Indemnities, insurance and liability per risk area, and which areas have no cover in force."""
    from assay.registry.safety_net import assess_safety_net

    report = assess_safety_net(_load(manifest), _today(today))
    if fmt is TableFormat.json:
        from assay.registry.render import render_json

        typer.echo(render_json(report), nl=False)
        return
    from assay.registry.render import flags_table, safety_net_table

    console = _console()
    console.print(safety_net_table(report))
    console.print(flags_table(report.flags, title="Safety-net flags"))
