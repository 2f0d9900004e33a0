"""`assay scan`: look inside model artifacts before anything loads them.

Exit codes: 0 nothing found, 1 findings, 2 a file unreadable or not a model file (or no model file
in a folder). Only typer is imported at module level so `assay --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from assay.security.artifacts import ScanReport

app = typer.Typer(no_args_is_help=True, help="Scan model artifacts for unsafe code and lying headers.")


@app.command("model")
def scan_model(
    path: Path | None = typer.Argument(
        None,
        help="A model file, or a folder: every model file in it is scanned. "
        "Without it, --manifest's component artifacts are scanned.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    manifest: Path | None = typer.Option(
        None, "--manifest", "-m", help="Compare each file's SHA-256 with the one this manifest declares."
    ),
) -> None:
    """Disassemble pickles (.pkl, joblib, .pt/.bin, .npy) without running them; check safetensors and
    GGUF headers against the file. Exit 0 nothing found, 1 findings, 2 unreadable or not a model file."""
    from assay.cli.common import fail_on_invalid_manifest, stderr
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.security.artifacts import ScanRefused, declared_artifacts, scan_artifacts, scan_path

    declared = []
    if manifest is not None:
        try:
            loaded = load_manifest(manifest)
        except ManifestInvalid as exc:
            fail_on_invalid_manifest(exc)
        base = manifest.parent if manifest.is_file() else manifest
        declared = declared_artifacts(loaded, base)
    if path is None and manifest is None:
        stderr.print("give a PATH to scan, or --manifest to scan its component artifacts", highlight=False)
        raise typer.Exit(2)
    try:
        report = scan_path(path, declared=declared) if path else scan_artifacts(declared, root=str(manifest))
    except ScanRefused as exc:
        stderr.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        data = report.model_dump(mode="json", by_alias=True)
        data["exit_code"] = report.exit_code
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print(report)
    if not report.files:
        stderr.print(
            f"{path or manifest}: no model file found", markup=False, highlight=False, soft_wrap=True
        )
    for f in report.files:
        if f.error:
            stderr.print(f"{f.file}: {f.error}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)


def _print(report: ScanReport) -> None:
    from rich.table import Table
    from rich.text import Text

    from assay.cli.common import console

    colours = {"clean": "green", "findings": "red", "unreadable": "yellow"}
    for f in report.files:
        head = Text()
        head.append(f.verdict.upper(), style=f"bold {colours[f.verdict]}")
        head.append(f"  {f.file}  ({f.format}, {f.size} bytes)")
        console.print(head, soft_wrap=True)
        if f.sha256:
            console.print(Text(f"  sha256 {f.sha256}", style="dim"), soft_wrap=True)
        if f.findings:
            table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            for col in ("severity", "where", "what", "catalog"):
                table.add_column(col)
            for x in f.findings:
                where = ":".join(
                    p for p in (x.member or "", f"byte {x.offset}" if x.offset is not None else "") if p
                )
                table.add_row(
                    Text(x.severity, style="red" if x.severity in ("critical", "high") else "yellow"),
                    Text(where or "-"),
                    Text(x.message),
                    Text(", ".join(x.owasp + x.atlas)),
                )
            console.print(table)
    n = len(report.findings)
    console.print(Text(f"{len(report.files)} file(s) scanned, {n} finding(s)", style="bold"), soft_wrap=True)
