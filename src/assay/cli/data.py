"""`assay data scan` and `assay data schema`: dataset scans and data cards from the terminal.

Exit codes of `scan`: 0 the scan completed (whatever it found; the findings are in the card), 2 the
data or the manifest cannot be read (nothing is written then).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, stderr

app = typer.Typer(no_args_is_help=True)


@app.command("scan")
def scan_cmd(
    path: Path = typer.Argument(
        ..., help="A .jsonl/.csv/.tsv/.parquet/.arrow/.txt/.md file, or a folder of them."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", "-m", help="Compare with its suites, check its licence terms, link lineage."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON on stdout."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the card (JSON and HTML) to this folder."
    ),
    workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (0: up to 4, by CPUs)."),
    no_presidio: bool = typer.Option(False, "--no-presidio", help="Only Assay's own recognizers."),
    keep: bool = typer.Option(True, "--evidence/--no-evidence", help="Record the card as signed evidence."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Scan a dataset for personal data, licence terms, duplicates, contamination and quality.

    Exit codes: 0 the scan completed, 2 the input cannot be read.
    """
    from assay.cli.common import fail_on_invalid_manifest, open_workspace
    from assay.cli.progress import run_progress
    from assay.data import DataInputError, ScanOptions
    from assay.data.service import CARD_KIND, card_json, scan, write_card
    from assay.manifest import ManifestInvalid, load_manifest

    m = None
    if manifest is not None:
        try:
            m = load_manifest(manifest)
        except ManifestInvalid as exc:
            fail_on_invalid_manifest(exc)
    options = ScanOptions(workers=workers, use_presidio=not no_presidio)
    try:
        with run_progress(f"scanning {path}", stderr, what="bytes") as update:
            card, problems = scan(
                path,
                manifest=m,
                base_dir=manifest.parent if manifest else None,
                options=options,
                progress=lambda done, total: update(done, total),
            )
    except DataInputError as exc:
        from rich.markup import escape

        stderr.print(
            f"[red]cannot read the dataset[/red]: {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    for p in problems:
        stderr.print(f"warning: {p}", markup=False, highlight=False, soft_wrap=True)
    content = card_json(card)
    written = write_card(card, out) if out is not None else []
    evidence_id = ""
    if keep:
        from assay.assurance.evidence import record_evidence

        ev = record_evidence(
            open_workspace(home),
            content,
            kind=CARD_KIND,
            system=m.system.id if m else None,
            name=f"data-card-{card.dataset_id or path.name}.json",
            media_type="application/json",
            summary=f"Data card of {card.dataset_id or path}",
        )
        evidence_id = ev.id
    if as_json:
        typer.echo(json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    _print_summary(card, written, evidence_id)


def _print_summary(card, written: list[Path], evidence_id: str) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    q = card.quality
    console.print(
        f"[bold]{escape(card.dataset_id or card.path)}[/bold]: {q.rows:,} rows in {len(card.files)} file(s), "
        f"{card.seconds:.1f} s",
        highlight=False,
    )
    pii = ", ".join(f"{k} {v}" for k, v in sorted(card.personal_data.items())) or "none"
    console.print(f"  personal data: {escape(pii)}", highlight=False, soft_wrap=True)
    console.print(f"  licence: {escape(card.licence.declared or 'none declared')}", highlight=False)
    for f in card.findings:
        console.print(f"  - {escape(f)}", highlight=False, soft_wrap=True)
    for p in written:
        console.print(f"  wrote {escape(str(p))}", highlight=False)
    if evidence_id:
        console.print(f"  evidence {evidence_id}", highlight=False)


@app.command("schema")
def schema_cmd() -> None:
    """Print the data card's JSON Schema."""
    from assay.data.service import card_schema

    typer.echo(json.dumps(card_schema(), indent=2))
