"""`assay bom MANIFEST [--out FILE]`: the system's AI bill of materials (CycloneDX 1.6 JSON).

Exit codes: 0 written (or printed); 2 the manifest is invalid or unreadable, or the BOM failed the
CycloneDX schema (a bug: every problem is printed), or the output file cannot be written.
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
    from assay.cli.common import fail_on_invalid_manifest, fail_with_problems, stderr
    from assay.label.exports import ExportInvalid, write_ai_bom
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.store.blobs import atomic_write

    try:
        m = load_manifest(manifest)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    base = manifest if manifest.is_dir() else manifest.parent
    try:
        name, content, _ = write_ai_bom(m, base.resolve())
    except ExportInvalid as exc:
        fail_with_problems(exc.what, exc.problems)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        atomic_write(out, content)
    except OSError as exc:
        stderr.print(f"[red]cannot write[/red] {out}: {exc.strerror or exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    stderr.print(f"{name} → {out} ({len(content)} bytes, CycloneDX 1.6, schema-valid)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("bom")(bom)
