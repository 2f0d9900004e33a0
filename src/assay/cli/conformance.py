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


def conformance(
    manifest_path: Path = typer.Argument(..., help="The system's assay.yaml."),
    pack: str | None = typer.Option(None, "--pack", help="A policy pack id or file (default: manifest's)."),
    status: list[StatusName] = typer.Option([], "--status", help="Only this status (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole assessment as JSON."),
) -> None:
    """Assess every framework control: met, partly met, not met (or stale), not applicable — and why."""
    from rich.table import Table

    from assay.assurance.conformance import STATUS_TEXT, assess_controls
    from assay.workspace import Workspace

    manifest = _manifest(manifest_path)
    policy = _pack(manifest, manifest_path.parent, pack)
    ws = Workspace.for_manifest(manifest_path)
    report = assess_controls(ws, manifest.system.id, pack=policy)
    wanted = {s.value for s in status}
    rows = [c for c in report.controls if not wanted or c.status in wanted]
    if as_json:
        data = report.model_dump(mode="json")
        data["controls"] = [c.model_dump(mode="json") for c in rows]
        typer.echo(__import__("json").dumps(data, indent=2, ensure_ascii=False))
        return
    table = Table("Control", "Status", "Why", show_lines=False)
    for c in rows:
        table.add_row(c.id.split(":")[-1], STATUS_TEXT[c.status], c.reason)
    console.print(table, markup=False)
    counts = ", ".join(f"{n} {STATUS_TEXT[s]}" for s, n in report.counts.items() if n)
    console.print(f"{manifest.system.id}: {len(report.controls)} controls: {counts}", markup=False)


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
