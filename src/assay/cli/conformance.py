"""`assay conformance MANIFEST` and `assay attest CONTROL`: control-by-control status from evidence,
grades and attestations. Only typer loads at import time."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from assay.cli.common import console, fail_on_invalid_manifest, stderr


class AnswerName(StrEnum):
    yes = "yes"
    partly = "partly"
    no = "no"
    not_applicable = "not_applicable"


class StatusName(StrEnum):
    met = "met"
    partly_met = "partly_met"
    not_met = "not_met"
    stale = "stale"
    not_applicable = "not_applicable"


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)
    app.command("attest")(attest)


def _manifest(path: Path):  # type: ignore[no-untyped-def]
    from assay.manifest import ManifestInvalid, load_manifest

    try:
        return load_manifest(path)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)


def _pack(manifest, base_dir: Path, pack: str | None):  # type: ignore[no-untyped-def]
    """The pack named on the command line, else the manifest's, else none (no freshness limits)."""
    if pack is None and manifest.policy_pack is None:
        return None
    from assay.policy.loader import PackInvalid, resolve_pack

    try:
        return resolve_pack(pack if pack is not None else manifest.policy_pack, base_dir)
    except PackInvalid as exc:
        from assay.cli.common import fail_with_problems

        fail_with_problems("invalid policy pack", exc.problems)


class ViewName(StrEnum):
    dimensions = "dimensions"
    nist = "nist"
    iso42001 = "iso42001"
    euaia = "euaia"


def conformance(
    manifest_path: Path = typer.Argument(..., help="The system's assay.yaml."),
    pack: str | None = typer.Option(None, "--pack", help="A policy pack id or file (default: manifest's)."),
    status: list[StatusName] = typer.Option([], "--status", help="Only this status (repeatable)."),
    view: ViewName = typer.Option(
        ViewName.dimensions,
        "--view",
        help="dimensions (every control), nist (AI RMF subcategories), iso42001 (Annex A Statement of "
        "Applicability) or euaia (EU AI Act articles).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the assessment (or the --view) as JSON."),
    html: Path | None = typer.Option(None, "--html", help="Write the full report page here."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Print the full report to PDF here (Chromium)."),
) -> None:
    """Assess every framework control: met, partly met, not met (or stale), not applicable — and why."""
    from assay.assurance.conformance import assess_controls
    from assay.workspace import Workspace

    manifest = _manifest(manifest_path)
    policy = _pack(manifest, manifest_path.parent, pack)
    ws = Workspace.for_manifest(manifest_path)
    report = assess_controls(ws, manifest.system.id, pack=policy)
    if html is not None or pdf is not None:
        _write_report(ws, report, manifest, html, pdf)
    if view is not ViewName.dimensions:
        _print_view(report, view.value, as_json, {s.value for s in status})
        return
    wanted = {s.value for s in status}
    rows = [c for c in report.controls if not wanted or c.status in wanted]
    if as_json:
        data = report.model_dump(mode="json")
        data["controls"] = [c.model_dump(mode="json") for c in rows]
        typer.echo(__import__("json").dumps(data, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    from assay.assurance.conformance import STATUS_TEXT

    table = Table("Control", "Status", "Why", show_lines=False)
    for c in rows:
        table.add_row(c.id.split(":")[-1], STATUS_TEXT[c.status], c.reason)
    console.print(table, markup=False)
    counts = ", ".join(f"{n} {STATUS_TEXT[s]}" for s, n in report.counts.items() if n)
    console.print(f"{manifest.system.id}: {len(report.controls)} controls: {counts}", markup=False)


def _print_view(report, view: str, as_json: bool, wanted: set[str]) -> None:  # type: ignore[no-untyped-def]
    """One framework's view in the terminal (or as JSON); --status filters its rows."""
    import json

    from rich.table import Table

    from assay.assurance.views import build_views

    views = build_views(report)
    if view == "iso42001":
        soa = views.iso42001
        rows = [r for r in soa.rows if not wanted or r.status in wanted]
        if as_json:
            data = {**soa.model_dump(mode="json"), "rows": [r.model_dump(mode="json") for r in rows]}
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        table = Table("Annex A", "Applicable", "Implemented", "Justification", title=soa.title)
        for r in rows:
            table.add_row(f"{r.control} {r.title}", r.applicable, r.implemented, r.justification)
        console.print(table, markup=False)
        counts = ", ".join(f"{n} {k}" for k, n in soa.counts.items() if n)
        console.print(f"{len(soa.rows)} Annex A controls; implemented: {counts}", markup=False)
        return
    fv = views.nist if view == "nist" else views.euaia
    if as_json:
        data = fv.model_dump(mode="json")
        for g in data["groups"]:
            g["rows"] = [r for r in g["rows"] if not wanted or r["status"] in wanted]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    table = Table("Item", "Status", "Assay controls", title=fv.title)
    for g in fv.groups:
        for r in g.rows:
            if wanted and r.status not in wanted:
                continue
            mapped = "; ".join(f"{m.id.split(':')[-1]} ({m.strength}): {m.status_text}" for m in r.controls)
            table.add_row(f"{r.target} {r.title}", r.status_text, mapped or "none")
    console.print(table, markup=False)
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in fv.counts.items() if n)
    console.print(f"{sum(len(g.rows) for g in fv.groups)} items: {counts}", markup=False)


def _write_report(ws, report, manifest, html: Path | None, pdf: Path | None) -> None:  # type: ignore[no-untyped-def]
    """The report page and/or its PDF; evidence links point at the newest assessment's output files."""
    from assay.assurance.report import assessment_files, print_report_pdf, report_page
    from assay.label.browser import RenderError
    from assay.store.blobs import atomic_write

    system = manifest.system
    for dest in (html, pdf):
        if dest is None:
            continue
        files = assessment_files(ws, system.id, dest.parent)
        page = report_page(ws, report, system_name=system.name, version=system.version, files=files)
        if dest is html:
            atomic_write(dest, page.encode())
            stderr.print(f"Wrote {dest}", markup=False, highlight=False)
            continue
        try:
            pages = print_report_pdf(page, dest, title=f"Conformance: {system.name} {system.version}")
        except RenderError as exc:  # ChromiumNotFound too
            stderr.print(f"error: cannot print the PDF: {exc}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        stderr.print(f"Wrote {dest} ({pages} pages)", markup=False, highlight=False)


def attest(
    control: str = typer.Argument(..., help="The control id (`assay catalog list` shows them)."),
    manifest_path: Path = typer.Option(
        Path("assay.yaml"), "--manifest", "-m", help="The system's assay.yaml."
    ),
    answer: AnswerName = typer.Option(..., "--answer", help="yes, partly, no or not_applicable."),
    by: str = typer.Option(..., "--by", help="The accountable person's name."),
    role: str = typer.Option(..., "--role", help="Their role, e.g. 'Data Protection Officer'."),
    statement: str = typer.Option("", "--statement", help="What is attested, in the person's words."),
    reason: str = typer.Option("", "--reason", help="Why the control does not apply (not_applicable)."),
    document: Path | None = typer.Option(None, "--document", help="A supporting document, stored as a blob."),
) -> None:
    """Record a person's signed answer to a control's process check."""
    from assay.assurance.attestation import AttestationError, record_attestation
    from assay.workspace import Workspace

    manifest = _manifest(manifest_path)
    ws = Workspace.for_manifest(manifest_path)
    try:
        att = record_attestation(
            ws,
            system=manifest.system.id,
            control=control,
            answer=answer.value,
            by=by,
            role=role,
            statement=statement,
            reason=reason,
            document=document,
        )
    except AttestationError as exc:
        stderr.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"Recorded: {att.by} ({att.role}) answered '{att.answer}' for {att.control} "
        f"(evidence {att.evidence_id}).",
        markup=False,
        highlight=False,
    )
