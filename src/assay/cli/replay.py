"""`assay bundle MANIFEST -o FILE` and `assay replay BUNDLE`: an assessment others can re-run.
Thin over `assay.replay`; only typer loads at import time."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, fail_on_invalid_manifest, stderr

STATUS_STYLE = {"exact": "green", "within_ci": "yellow", "differs": "red"}
STATUS_TEXT = {"exact": "exact", "within_ci": "within CI", "differs": "differs"}


def register(app: typer.Typer) -> None:
    app.command("bundle")(bundle)
    app.command("replay")(replay)


def _print_problems(title: str, problems: list[str]) -> None:
    from rich.markup import escape

    stderr.print(
        f"[red]{escape(title)}[/red]: {len(problems)} problem(s); nothing was re-run", highlight=False
    )
    for p in problems:
        stderr.print("  " + p, highlight=False, markup=False, soft_wrap=True)


def bundle(
    manifest_path: Path = typer.Argument(..., help="The system's assay.yaml."),
    out: Path = typer.Option(..., "--out", "-o", help="The bundle file to write (a zip archive)."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Pack the system's evaluation runs, evidence and settings (never secrets) into one signed bundle."""
    from assay.manifest import ManifestInvalid
    from assay.replay.models import BundleInvalid, SecretInBundle
    from assay.replay.writer import write_bundle
    from assay.workspace import Workspace

    ws = Workspace(home.resolve()) if home else None
    try:
        info = write_bundle(manifest_path, out, ws=ws)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    except BundleInvalid as exc:
        _print_problems(f"the workspace's evidence fails its check ({exc.path})", exc.problems)
        raise typer.Exit(1) from None
    except (SecretInBundle, ValueError, FileNotFoundError) as exc:
        from rich.markup import escape

        stderr.print(f"[red]cannot bundle[/red]: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        if ws is not None:
            ws.close()
    if as_json:
        typer.echo(info.model_dump_json(indent=2))
        return
    from rich.markup import escape

    console.print(
        f"[green]wrote[/green] {escape(info.path)}: {info.runs} run(s), {info.evidence} evidence record(s), "
        f"{info.members} members, signed by {escape(info.key_id)}",
        highlight=False,
    )
    console.print(f"sha256 {info.sha256}", highlight=False)
    for note in info.skipped_runs:
        console.print("not bundled: " + note, markup=False, highlight=False)


def _target_urls(values: list[str]) -> dict[str, str]:
    urls = {}
    for value in values:
        tid, sep, url = value.partition("=")
        if not sep or not tid or not url:
            stderr.print(f"--target-url '{value}': expected ID=URL", markup=False, highlight=False)
            raise typer.Exit(2)
        urls[tid] = url
    return urls


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    table = Table("Suite", "Target", "Metric", "Original (95% CI)", "Replayed", "Status", title="Replay")
    for run in report.runs:
        for m in run.metrics:
            ci = f" ({_fmt(m.original_ci[0])}–{_fmt(m.original_ci[1])})" if m.original_ci else ""
            table.add_row(
                escape(run.suite_id),
                escape(run.target_id),
                escape(m.metric),
                _fmt(m.original) + ci,
                _fmt(m.replayed),
                f"[{STATUS_STYLE[m.status]}]{STATUS_TEXT[m.status]}[/]",
            )
    console.print(table)
    for run in report.runs:
        console.print(
            f"{escape(run.suite_id)} on {escape(run.target_id)}: "
            f"{run.identical_answers}/{run.samples} answers identical; "
            f"replayed as run {escape(run.replay_run_id)}",
            highlight=False,
        )
        for note in run.notes:
            console.print("  " + note, markup=False, highlight=False)
    for note in report.environment_notes:
        console.print("environment: " + note, markup=False, highlight=False)
    verdict = "[green]reproduced[/green]" if report.reproduced else "[red]differs[/red]"
    console.print(f"{verdict} — workspace {escape(report.workspace)}", highlight=False)


def replay(
    bundle_path: Path = typer.Argument(..., help="A bundle written by `assay bundle`."),
    workspace: Path | None = typer.Option(
        None, "--workspace", help="Folder to replay into (its .assay is created); default: a new temp folder."
    ),
    target_url: list[str] = typer.Option(
        [], "--target-url", help="Point a target at another URL, ID=URL (repeatable)."
    ),
    trust_key: Path | None = typer.Option(
        None, "--trust-key", help="The PEM public key that must have signed the bundle."
    ),
    allow_code: bool = typer.Option(
        False, "--allow-code", help="Replay runs of python targets (runs the bundle's code here)."
    ),
    check_only: bool = typer.Option(
        False, "--check-only", help="Only the integrity check: exit 0 if intact, re-run nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Verify a bundle (signature, every member); if intact, re-run its evaluations and compare.

    Same seeds and settings; each metric is reported as exact, within the original confidence interval,
    or differs."""
    import tempfile

    from assay.cli.common import run_errors_exit
    from assay.cli.progress import run_progress
    from assay.replay.models import BundleInvalid, NotABundle
    from assay.replay.reader import open_bundle
    from assay.replay.replayer import replay as run_replay

    urls = _target_urls(target_url)
    trusted = None
    if trust_key is not None:
        try:
            trusted = trust_key.read_bytes()
        except OSError as exc:
            stderr.print(f"--trust-key {trust_key}: {exc.strerror}", markup=False, highlight=False)
            raise typer.Exit(2) from None
    try:
        opened = open_bundle(bundle_path, trusted_key=trusted)
    except NotABundle as exc:
        from rich.markup import escape

        stderr.print(f"[red]not a bundle[/red]: {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except BundleInvalid as exc:
        if as_json:
            typer.echo(
                json.dumps({"status": "invalid", "bundle": exc.path, "problems": exc.problems}, indent=2)
            )
        _print_problems(f"{exc.path} fails its integrity check", exc.problems)
        raise typer.Exit(1) from None
    if check_only:
        with opened:
            c = opened.contents
            if as_json:
                summary = {
                    "status": "intact",
                    "bundle": str(bundle_path),
                    "sha256": opened.sha256,
                    "key_id": c.key_id,
                    "system": c.system.id,
                    "runs": len(c.runs),
                    "evidence": c.evidence,
                    "members": len(c.members),
                }
                typer.echo(json.dumps(summary, indent=2))
            else:
                console.print(
                    f"intact: {bundle_path} — system {c.system.id}, {len(c.members)} members, "
                    f"{c.evidence} evidence records, {len(c.runs)} run(s) to replay; signed by {c.key_id}",
                    markup=False,
                    highlight=False,
                )
        raise typer.Exit(0)
    folder = workspace or Path(tempfile.mkdtemp(prefix="assay-replay-"))

    def bar(entry, i, n):  # type: ignore[no-untyped-def]
        label = f"{entry.suite_id} → {entry.target_id} ({i + 1}/{n})"
        return run_progress(label, stderr, quiet=as_json)

    with opened, run_errors_exit():
        report = run_replay(opened, folder, target_urls=urls, progress=bar, allow_code=allow_code)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.reproduced else 1)
