"""`assay bom MANIFEST [--out FILE]`: the system's AI bill of materials (CycloneDX 1.6 JSON).

Exit codes: 0 written (or printed; an artifact that is missing or whose hash differs from the declared
one is a warning on stderr and is stated in the BOM); 2 the manifest is invalid or unreadable, or the
BOM failed the CycloneDX schema (a bug: every problem is printed), or the output file cannot be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

MANIFEST_ARG = typer.Argument(Path("assay.yaml"), help="The manifest, or a folder holding assay.yaml.")
OUT_OPT = typer.Option(
    None, "--out", "-o", help="Write the AI-BOM to this file (default: print it on stdout).", dir_okay=False
)


def bom(manifest: Path = MANIFEST_ARG, out: Path | None = OUT_OPT) -> None:
    """Write the AI-BOM: components, models, datasets, hosting, their hashes and licences."""
    from rich.markup import escape

    from assay.cli.common import fail_on_invalid_manifest, fail_with_problems, stderr
    from assay.label.exports import ExportInvalid, write_ai_bom
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.store.blobs import atomic_write

    try:
        m = load_manifest(manifest)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    from assay.registry.inventory import build_inventory

    base = (manifest if manifest.is_dir() else manifest.parent).resolve()
    inventory = build_inventory(m, base)
    for item in inventory.components:
        if item.problem:
            text = escape(f"{item.id}: {item.problem}")
            stderr.print(f"[yellow]warning[/yellow] {text}", highlight=False, soft_wrap=True)
    try:
        name, content, _ = write_ai_bom(m, base, inventory)
    except ExportInvalid as exc:
        fail_with_problems(exc.what, exc.problems)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        atomic_write(out, content)
    except OSError as exc:
        why = escape(f"{out}: {exc.strerror or exc}")
        stderr.print(f"[red]cannot write[/red] {why}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    done = f"{name} → {out} ({len(content)} bytes, CycloneDX 1.6, schema-valid)"
    stderr.print(done, highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("bom")(bom)
