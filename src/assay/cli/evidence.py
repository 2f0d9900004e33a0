"""`assay evidence …`: list, show and verify signed evidence."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, open_workspace, stderr

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(
    system: str | None = typer.Option(None, help="Only this system's evidence."),
    kind: str | None = typer.Option(None, help="Only this kind, e.g. registry.raci."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List evidence records."""
    import json

    from rich.table import Table

    from assay.assurance.evidence import list_evidence

    items = list_evidence(open_workspace(home), system=system, kind=kind)
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in items], indent=2))
        return
    table = Table("id", "kind", "name", "system", "sha256", "created")
    for e in items:
        table.add_row(
            e.id[:8], e.kind, e.name, e.system or "", e.sha256[:16] + "…", f"{e.created_at:%Y-%m-%d %H:%M}"
        )
    console.print(table)


@app.command("show")
def show(evidence_id: str, home: Path | None = HOME_OPTION) -> None:
    """Show one evidence record (a unique prefix of its id is enough)."""
    from assay.assurance.evidence import list_evidence

    matches = [
        e for e in list_evidence(open_workspace(home), limit=1_000_000) if e.id.startswith(evidence_id)
    ]
    if len(matches) != 1:
        stderr.print(
            f"[red]{'no' if not matches else 'more than one'} evidence record matches '{evidence_id}'[/red]"
        )
        raise typer.Exit(2)
    typer.echo(matches[0].model_dump_json(indent=2))


@app.command("verify")
def verify(
    system: str | None = typer.Option(None, help="Only this system's evidence."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-hash every blob and check every signature. Exit 1 naming each record that fails, and each
    assessment that was killed or failed before it completed (its evidence is a partial set)."""
    import json

    from assay.assess import incomplete_assessments
    from assay.assurance.evidence import verify_evidence

    ws = open_workspace(home)
    checks = verify_evidence(ws, system=system)
    bad = [c for c in checks if not c.ok]
    unfinished = [
        a
        for a in incomplete_assessments(ws)
        if (system is None or a.system == system) and a.effective_status() != "running"
    ]
    for a in unfinished:
        stderr.print(
            f"INCOMPLETE assessment {a.id} of {a.system} started {a.started_at:%Y-%m-%d %H:%M} UTC: "
            f"{a.effective_status()} after {len(a.step_names)} step(s)"
            + (f" ({a.error})" if a.error else "")
            + "; its outputs are a partial set. Run `assay assess` on the manifest again to finish it.",
            highlight=False,
            markup=False,
        )
    if as_json:
        typer.echo(json.dumps([c.model_dump() for c in checks], indent=2))
    else:
        for c in bad:
            stderr.print(
                f"[red]FAILED[/red] {c.evidence_id} {c.kind} {c.name} sha256={c.sha256}", highlight=False
            )
            for p in c.problems:
                stderr.print(f"    {p}", highlight=False, markup=False)
        console.print(
            f"{len(checks) - len(bad)} of {len(checks)} evidence records verified "
            f"(key {ws.signing_key.key_id})"
        )
    if bad or unfinished:
        raise typer.Exit(1)


@app.command("public-key")
def public_key(home: Path | None = HOME_OPTION) -> None:
    """Print the workspace's public signing key (PEM), for third parties who check the evidence."""
    typer.echo(open_workspace(home).signing_key.public_pem(), nl=False)
