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
    table = Table("id", "kind", "name", "system", "#", "sha256", "created")
    for e in items:
        table.add_row(
            e.id[:8],
            e.kind,
            e.name,
            e.system or "",
            str(e.seq),
            e.sha256[:16] + "…",
            f"{e.created_at:%Y-%m-%d %H:%M}",
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


def _parse_heads(values: list[str]) -> list:  # type: ignore[type-arg]
    """`SYSTEM:LENGTH:HASH` as an index or report prints it; bad input exits 2 naming the option."""
    import re

    from assay.assurance.chain import ChainHead

    heads = []
    for v in values:
        m = re.fullmatch(r"([^:]*):([0-9]+):([0-9a-f]{64})", v.strip())
        if not m:
            stderr.print(
                f"--head {v!r}: expected SYSTEM:LENGTH:SHA256 as an assessment index or report prints it",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(2)
        heads.append(ChainHead(chain=m[1], length=int(m[2]), head_hash=m[3]))
    return heads


@app.command("verify")
def verify(
    system: str | None = typer.Option(None, help="Only this system's evidence."),
    head: list[str] = typer.Option(
        [],
        "--head",
        help="A chain head you hold (SYSTEM:LENGTH:SHA256, from an index or report): "
        "fail unless the chain still contains it. Repeatable.",
    ),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-hash every blob, check every signature and every chain link. Exit 1 naming each record that
    fails, each chain's first break, and each assessment that was killed or failed before it completed
    (its evidence is a partial set)."""
    import json

    from assay.assess import incomplete_assessments
    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import verify_evidence

    heads = _parse_heads(head)
    ws = open_workspace(home)
    checks = verify_evidence(ws, system=system)
    chains = verify_chains(ws, system=system, expect=heads)
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
    broken = [c for c in chains if not c.ok]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "records": [c.model_dump() for c in checks],
                    "chains": [c.model_dump(mode="json") for c in chains],
                    "incomplete_assessments": [
                        {**a.model_dump(mode="json", exclude={"steps"}), "status": a.effective_status()}
                        for a in unfinished
                    ],
                },
                indent=2,
            )
        )
    else:
        for c in bad:
            stderr.print(
                f"[red]FAILED[/red] {c.evidence_id} {c.kind} {c.name} sha256={c.sha256}", highlight=False
            )
            for p in c.problems:
                stderr.print(f"    {p}", highlight=False, markup=False)
        for ch in chains:
            name = ch.chain or "(no system)"
            if ch.origin == "migration":
                console.print(
                    f"chain {name} starts at migration: {ch.origin_note}", highlight=False, markup=False
                )
            if ch.ok:
                cp = "no signed checkpoint yet"
                if ch.last_checkpoint_at:
                    when = f"{ch.last_checkpoint_at:%Y-%m-%d %H:%M} UTC"
                    cp = f"last signed checkpoint #{ch.last_checkpoint_length} at {when}"
                head_hash = ch.head.head_hash if ch.head else ""
                records = f"{ch.intact} record{'' if ch.intact == 1 else 's'}"
                console.print(
                    f"chain {name}: {records} linked, head #{ch.intact} {head_hash} ({cp})",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
                continue
            where = f" at #{ch.break_seq}" if ch.break_seq else ""
            stderr.print(f"[red]chain {name} BROKEN{where}[/red]", highlight=False, end="", soft_wrap=True)
            stderr.print(f": {ch.problems[0]}", highlight=False, markup=False, soft_wrap=True)
            for p in ch.problems[1:]:
                stderr.print(f"    {p}", highlight=False, markup=False, soft_wrap=True)
        console.print(
            f"{len(checks) - len(bad)} of {len(checks)} evidence records verified "
            f"(key {ws.signing_key.key_id}); {len(chains) - len(broken)} of {len(chains)} chains intact",
            highlight=False,
            soft_wrap=True,
        )
    if bad or unfinished or broken:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_(
    system: str | None = typer.Option(
        None, help="The system whose chain to checkpoint (default: no system)."
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Sign a checkpoint of a chain now and print its head (SYSTEM:LENGTH:SHA256) to keep elsewhere."""
    from assay.assurance.chain_check import checkpoint

    typer.echo(checkpoint(open_workspace(home), system).ref())


@app.command("public-key")
def public_key(home: Path | None = HOME_OPTION) -> None:
    """Print the workspace's public signing key (PEM), for third parties who check the evidence."""
    typer.echo(open_workspace(home).signing_key.public_pem(), nl=False)
