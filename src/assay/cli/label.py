"""`assay label build|verify|diff|schema`: the food label (a thin layer over `assay.label`).

Exit codes: 0 done (verify: the label and every piece of evidence it lists check out); 1 verify found
a changed value or piece of evidence, or diff found changes with --exit-code; 2 bad input (an invalid
manifest or pack, an unreadable label).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from assay.cli.common import (
    HOME_OPTION,
    console,
    fail_on_invalid_manifest,
    fail_with_problems,
    open_workspace,
    stderr,
)

app = typer.Typer(no_args_is_help=True)


@app.command("build")
def build(
    manifest: Path = typer.Argument(Path("assay.yaml"), help="The system's manifest."),
    pack: str | None = typer.Option(
        None, "--pack", help="Policy pack id or file (default: the manifest's policy_pack)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: out/ beside the manifest)."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the label instead of a summary."),
    no_print: bool = typer.Option(False, "--no-print", help="No PNG or PDF (they need Chromium)."),
) -> None:
    """Build the label from the manifest, the registry and the newest evidence; write it signed, with
    its renderings (HTML in four languages, badge, PNG, PDF) and exports (CycloneDX, SPDX, model card)."""
    from assay.label.build import build_label, label_path
    from assay.label.service import label_bytes, strict_problems, write_label
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.policy.loader import PackInvalid
    from assay.workspace import Workspace

    try:
        m = load_manifest(manifest)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    path = manifest / "assay.yaml" if manifest.is_dir() else manifest
    ws = open_workspace(home) if home else Workspace.for_manifest(path)
    try:
        try:
            disclosure = build_label(ws, m, path.parent, pack_ref=pack)
        except PackInvalid as exc:
            fail_with_problems("invalid policy pack", exc.problems)
        target = label_path(path.resolve(), out.resolve() if out else None)
        ev = write_label(ws, disclosure, target)
        printed = not no_print and os.environ.get("ASSAY_LABEL_PRINT", "1") != "0"
        others = _write_label_files(ws, disclosure, m, target.parent, printed=printed)
    finally:
        ws.close()
    if as_json:
        typer.echo(label_bytes(disclosure).decode(), nl=False)
        return
    c = disclosure.completeness
    console.print(f"Wrote {target} (evidence {ev.id[:8]}, sha256 {ev.sha256[:16]}…)", markup=False)
    console.print(f"  and {', '.join(others)}", markup=False, highlight=False, soft_wrap=True)
    counts = ", ".join(
        f"{n} {s.replace('_', ' ')}"
        for s, n in (disclosure.policy.counts if disclosure.policy else {}).items()
        if n
    )
    pack_line = (
        f"pack {disclosure.policy.pack_id}@{disclosure.policy.pack_version}: {counts or 'no grades'}"
        if disclosure.policy
        else "no policy pack: not graded"
    )
    console.print(
        f"  {pack_line}; completeness {100 * c.score:.0f}%", markup=False, highlight=False, soft_wrap=True
    )
    for line in strict_problems(disclosure):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Check it: assay label verify {target}", markup=False, highlight=False)


@app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead of stdout."),
) -> None:
    """Print the JSON Schema of label.json (the Disclosure)."""
    import json

    from assay.label.models import Disclosure
    from assay.store.blobs import atomic_write

    text = json.dumps(Disclosure.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write(output, text.encode())


@app.command("verify")
def verify(
    label: Path = typer.Argument(..., help="A label.json."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check the label's signature and every piece of evidence it lists. Exit 1 names what changed."""
    from assay.label.verify import LabelUnreadable, verify_label, workspace_for

    ws = open_workspace(home) if home else workspace_for(label)
    try:
        result = verify_label(ws, label)
    except LabelUnreadable as exc:
        stderr.print(f"[red]unreadable label[/red]: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        ws.close()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    elif result.ok:
        console.print(
            f"[green]verified[/green]: {label} is the signed label of '{result.system}' "
            f"(evidence {result.label_evidence_id}); {result.evidence_checked} piece(s) of evidence it "
            "lists are intact and signed",
            highlight=False,
            soft_wrap=True,
        )
    else:
        stderr.print(f"[red]NOT verified[/red]: {len(result.problems)} problem(s)", highlight=False)
        for p in result.problems:
            stderr.print(f"  {p.what}: {p.message}", markup=False, highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command("diff")
def diff(
    old: Path = typer.Argument(..., help="The earlier label.json."),
    new: Path = typer.Argument(..., help="The later label.json."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write the changes as an HTML page."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Grades, measured values and disclosures that changed between two labels."""
    import json

    from rich.markup import escape
    from rich.table import Table

    from assay.label.diff import diff_labels, render_diff_html
    from assay.label.verify import LabelUnreadable, read_label
    from assay.store.blobs import atomic_write

    try:
        (_, a), (_, b) = read_label(old), read_label(new)
    except LabelUnreadable as exc:
        stderr.print(f"[red]unreadable label[/red]: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    changes = diff_labels(a, b)
    if html_out is not None:
        atomic_write(html_out, render_diff_html(a, b, changes).encode())
    if as_json:
        typer.echo(json.dumps([c.model_dump() for c in changes], indent=2, ensure_ascii=False))
        return
    if not changes:
        console.print("No changes in grades, measured values or disclosures.")
        return
    table = Table(title=f"{len(changes)} change(s): {escape(a.identity.name)}")
    for col in ("section", "what", "old", "new"):
        table.add_column(col, overflow="fold")
    for c in changes:
        table.add_row(escape(c.section), escape(c.item), escape(c.old), escape(c.new))
    console.print(table)


def _register_render() -> None:
    from assay.cli.label_render import render_command

    app.command("render")(render_command)


_register_render()


def _write_label_files(ws, disclosure, manifest, folder: Path, *, printed: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """Renderings and exports beside label.json, each recorded as evidence; their names."""
    from assay.assurance.evidence import record_evidence
    from assay.label.service import label_files

    files, why = label_files(folder, disclosure, manifest, printed=printed)
    if why:
        stderr.print(f"label: {why}", markup=False, highlight=False, soft_wrap=True)
    for f in files:
        record_evidence(
            ws,
            f.content,
            kind=f.kind,
            system=disclosure.identity.system_id,
            name=f.name,
            media_type=f.media_type,
            summary=f"food label: {f.name}",
        )
    return [f.name for f in files]
