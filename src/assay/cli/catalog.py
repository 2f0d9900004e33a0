"""`assay catalog`: browse the framework's controls and export crosswalks.

Only typer (and the standard library) is imported here; yaml, pydantic, rich and the catalog itself are
imported inside each command so that `assay --help` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from assay.catalog import Catalog, Control

app = typer.Typer(no_args_is_help=True, help="The framework's controls and their crosswalks.")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(StrEnum):
    table = "table"
    json = "json"


_EXTRA_HELP = "A folder of extra catalog YAML files (repeatable)."


def _extra_dir_option() -> Any:
    return typer.Option(
        None, "--extra-dir", "-x", metavar="DIR", help=_EXTRA_HELP, exists=True, file_okay=False
    )


def _load(extra_dirs: list[Path] | None) -> Catalog:
    from assay.catalog import CatalogError, load_catalog

    try:
        return load_catalog(extra_dirs or ())
    except CatalogError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _console() -> Any:
    from rich.console import Console

    return Console()


@app.command("list")
def list_controls(
    dimension: str | None = typer.Option(None, "--dimension", "-d", help="Only this dimension's controls."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    extra_dir: list[Path] | None = _extra_dir_option(),
) -> None:
    """List controls, optionally of one dimension."""
    from assay.catalog import controls_to_csv, to_json

    catalog = _load(extra_dir)
    try:
        controls = list(catalog.controls) if dimension is None else catalog.controls_for_dimension(dimension)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.json:
        typer.echo(to_json(controls), nl=False)
    elif fmt is Format.csv:
        typer.echo(controls_to_csv(controls), nl=False)
    else:
        _controls_table(catalog, controls)


WIDE = 140  # below this many columns the crosswalk columns leave the titles no room


def _controls_table(catalog: Catalog, controls: list[Control]) -> None:
    """Titles are never cut: on a narrow terminal the table keeps id and title (wrapped) and says where
    the crosswalk columns went."""
    from rich.table import Table

    console = _console()
    wide = console.width >= WIDE
    table = Table(title=f"{len(controls)} controls", show_lines=not wide)
    table.add_column("id", style="bold", overflow="fold", min_width=20)
    table.add_column("title", overflow="fold", min_width=30, ratio=2)
    if wide:
        table.add_column("evidence", overflow="fold")
        table.add_column("NIST AI RMF", overflow="fold")
        table.add_column("ISO 42001", overflow="fold")
    for c in controls:
        row = [c.id, c.title]
        if wide:
            row += [
                ", ".join(c.evidence),
                ", ".join(link.target for link in c.links("nist-ai-rmf")),
                ", ".join(link.target for link in c.links("iso-42001")),
            ]
        table.add_row(*row)
    console.print(table)
    if not wide:
        console.print(
            f"(evidence and crosswalk columns need {WIDE} columns; see `assay catalog show ID` "
            "or --format json)",
            markup=False,
            highlight=False,
        )


@app.command("show")
def show(
    control_id: str = typer.Argument(
        ..., metavar="ID", help="A control id, e.g. mgf-genai:2024:data.lineage"
    ),
    fmt: ShowFormat = typer.Option(ShowFormat.table, "--format", "-f", help="Output format."),
    extra_dir: list[Path] | None = _extra_dir_option(),
) -> None:
    """Show one control in full, with every crosswalk edge."""
    catalog = _load(extra_dir)
    control = catalog.get(control_id)
    if control is None:
        hints = catalog.suggest(control_id)
        hint = f" Did you mean: {', '.join(hints)}?" if hints else " Run `assay catalog list` to see the ids."
        raise _fail(f"No control {control_id!r}.{hint}")
    if fmt is ShowFormat.json:
        import json

        typer.echo(json.dumps(_control_dict(catalog, control), indent=2, ensure_ascii=False))
        return
    _control_panel(catalog, control)


def _control_dict(catalog: Catalog, control: Control) -> dict[str, Any]:
    """The control as JSON, each edge carrying the target's title and versioned id."""
    data = control.model_dump(mode="json", exclude_none=True)
    for link in data["crosswalk"]:
        framework = catalog.framework(link["framework"])
        entry = framework.entry(link["target"])
        link["target_title"] = entry.title if entry else ""
        link["qualified_id"] = framework.qualify(link["target"])
    data["source"] = catalog.sources.get(control.id)
    return data


def _control_panel(catalog: Catalog, control: Control) -> None:
    from rich.panel import Panel
    from rich.table import Table

    dim = catalog.dimension(control.dimension)
    dim_label = f"{dim.number}. {dim.title}" if dim else control.dimension
    pages = f", p.{control.pages}" if control.pages else ""
    body = (
        f"[bold]{control.title}[/bold]\n\n{control.statement}\n\n"
        f"[dim]dimension[/dim] {dim_label}{pages}\n"
        f"[dim]evidence[/dim]  {', '.join(control.evidence)}\n"
        f"[dim]source[/dim]    {catalog.sources.get(control.id, '')}"
    )
    console = _console()
    console.print(Panel(body, title=control.id, title_align="left"))
    table = Table(title="crosswalk")
    table.add_column("framework", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("strength", no_wrap=True)
    for fw_id in catalog.framework_ids:
        framework = catalog.framework(fw_id)
        for link in control.links(fw_id):
            entry = framework.entry(link.target)
            table.add_row(fw_id, link.target, entry.title if entry else "", link.strength)
    console.print(table)


@app.command("crosswalk")
def crosswalk_cmd(
    to: str = typer.Option(
        ..., "--to", "-t", help="Target framework, e.g. nist-ai-rmf, iso-42001, mitre-atlas."
    ),
    dimension: str | None = typer.Option(None, "--dimension", "-d", help="Only this dimension's controls."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (atomically)."),
    extra_dir: list[Path] | None = _extra_dir_option(),
) -> None:
    """Map the catalog's controls onto another framework, one row per edge."""
    from assay.catalog import crosswalk, to_csv, to_json

    catalog = _load(extra_dir)
    try:
        rows = crosswalk(catalog, to, dimension=dimension)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.table:
        table = _crosswalk_table(catalog.framework(to.strip().lower()).title, rows)
        if output is None:
            _console().print(table)
            return
        text = _plain(table)
    elif fmt is Format.json:
        text = to_json(rows)
    else:
        text = to_csv(rows, ["control_id", "control_title", "target_id", "target_title", "strength"])
    if output is None:
        typer.echo(text, nl=False)
        return
    _write_atomic(output, text)
    typer.echo(f"wrote {len(rows)} rows to {output}", err=True)


def _crosswalk_table(title: str, rows: list[Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"{title}: {len(rows)} links")
    table.add_column("control", no_wrap=True)
    table.add_column("target", no_wrap=True)
    table.add_column("target title")
    table.add_column("strength", no_wrap=True)
    for row in rows:
        table.add_row(row.control_id, row.target_id, row.target_title, row.strength)
    return table


def _plain(renderable: Any) -> str:
    """Render without colour at a fixed width, for files."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=160, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command("dimensions")
def dimensions(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    extra_dir: list[Path] | None = _extra_dir_option(),
) -> None:
    """List the framework's nine dimensions and how many controls each has."""
    from assay.catalog import to_csv, to_json

    catalog = _load(extra_dir)
    rows = [
        {**d.model_dump(mode="json"), "controls": len(catalog.controls_for_dimension(d.id))}
        for d in catalog.dimensions
    ]
    if fmt is Format.json:
        typer.echo(to_json(rows), nl=False)
        return
    if fmt is Format.csv:
        typer.echo(to_csv(rows, ["number", "id", "title", "pages", "controls", "summary"]), nl=False)
        return
    from rich.table import Table

    table = Table(title="Model AI Governance Framework for Generative AI (2024): dimensions")
    for col in ("#", "id", "title", "pages", "controls", "summary"):
        table.add_column(col, no_wrap=col in ("id", "pages"))
    for r in rows:
        table.add_row(
            str(r["number"]), r["id"], r["title"], r["pages"] or "", str(r["controls"]), r["summary"]
        )
    _console().print(table)


@app.command("frameworks")
def frameworks(extra_dir: list[Path] | None = _extra_dir_option()) -> None:
    """List the frameworks `crosswalk --to` accepts."""
    from rich.table import Table

    catalog = _load(extra_dir)
    table = Table(title="crosswalk targets")
    for col in ("name", "title", "version", "ids"):
        table.add_column(col, no_wrap=col == "name")
    for fw_id in catalog.framework_ids:
        fw = catalog.framework(fw_id)
        table.add_row(fw.id, fw.title, fw.version, str(len(fw.entries)))
    _console().print(table)


@app.command("evidence-kinds")
def evidence_kinds(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    extra_dir: list[Path] | None = _extra_dir_option(),
) -> None:
    """List the evidence kinds controls accept, and which package produces each."""
    from assay.catalog import to_csv, to_json

    kinds = list(_load(extra_dir).evidence_kinds)
    if fmt is Format.json:
        typer.echo(to_json(kinds), nl=False)
        return
    if fmt is Format.csv:
        typer.echo(to_csv(kinds, ["id", "producer", "description"]), nl=False)
        return
    from rich.table import Table

    table = Table(title="evidence kinds")
    for col in ("id", "producer", "description"):
        table.add_column(col, no_wrap=col != "description")
    for k in kinds:
        table.add_row(k.id, k.producer or "", k.description)
    _console().print(table)
