"""`assay oscal catalog` and `assay oscal results`: the catalog and a system's control assessment as
OSCAL JSON for GRC tools. Only typer loads at import time; compliance-trestle loads when a command runs."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import stderr

app = typer.Typer(no_args_is_help=True)


def _unavailable(exc: Exception) -> None:
    stderr.print(f"error: {exc}", markup=False, highlight=False)
    raise typer.Exit(1)


@app.command("catalog")
def catalog_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the OSCAL catalog (JSON)."),
) -> None:
    """The Assay control catalog as an OSCAL 1.2 catalog: one group per dimension, crosswalks as props."""
    from assay.assurance import oscal
    from assay.catalog import load_catalog

    try:
        doc = oscal.catalog_document(load_catalog())
    except oscal.OscalUnavailable as exc:
        _unavailable(exc)
    oscal.write(doc, out)
    groups = doc.groups or []
    controls = sum(len(g.controls or []) for g in groups)
    stderr.print(f"Wrote {out}: {len(groups)} groups, {controls} controls", markup=False, highlight=False)


@app.command("results")
def results_cmd(
    manifest_path: Path = typer.Argument(..., help="The system's assay.yaml."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the OSCAL assessment-results (JSON)."),
    pack: str | None = typer.Option(None, "--pack", help="A policy pack id or file (default: manifest's)."),
    catalog_href: str = typer.Option(
        "catalog.oscal.json", "--catalog-href", help="How the results refer to the OSCAL catalog."
    ),
) -> None:
    """The system's control assessment as OSCAL 1.2 assessment-results.

    A finding per control, an observation per evidence record (by SHA-256)."""
    import os

    from assay.assurance import oscal
    from assay.assurance.conformance import assess_controls
    from assay.assurance.report import assessment_files, grades_evidence
    from assay.cli.conformance import _manifest, _pack
    from assay.workspace import Workspace

    manifest = _manifest(manifest_path)
    policy = _pack(manifest, manifest_path.parent, pack)
    ws = Workspace.for_manifest(manifest_path)
    report = assess_controls(ws, manifest.system.id, pack=policy)
    plan = os.path.relpath(manifest_path.resolve(), out.parent.resolve()).replace(os.sep, "/")
    try:
        doc = oscal.results_document(
            report,
            system_name=manifest.system.name,
            plan_href=plan,
            catalog_href=catalog_href,
            files=assessment_files(ws, manifest.system.id, out.parent),
            grades=grades_evidence(ws, manifest.system.id),
        )
    except oscal.OscalUnavailable as exc:
        _unavailable(exc)
    oscal.write(doc, out)
    result = doc.results[0]
    stderr.print(
        f"Wrote {out}: {len(result.findings or [])} findings, {len(result.observations or [])} observations",
        markup=False,
        highlight=False,
    )
