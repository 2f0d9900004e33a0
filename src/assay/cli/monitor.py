"""`assay monitor MANIFEST`: the canary suite against the deployed targets, once or on a schedule."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assay.cli.common import console, fail_on_invalid_manifest, stderr


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)


def monitor(
    manifest_path: Path = typer.Argument(..., help="The system's assay.yaml (with a `monitor:` section)."),
    every: bool = typer.Option(False, "--every", help="Keep running every `monitor.every_s` seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print each round's checks as JSON."),
) -> None:
    """Run the canary suite, compare with the last assessment's run; a regression opens an incident
    (exit 1 after a round that found one, with --every it keeps going)."""
    import time

    from assay.cli.common import run_errors_exit
    from assay.incidents.monitor import monitor_once
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.workspace import Workspace

    try:
        manifest = load_manifest(manifest_path, runnable=True)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    if manifest.monitor is None:
        stderr.print(f"{manifest_path}: no `monitor:` section; see docs/incidents.md", markup=False)
        raise typer.Exit(2)
    ws = Workspace.for_manifest(manifest_path)
    while True:
        with run_errors_exit():
            checks = monitor_once(ws, manifest, manifest_path)
        if as_json:
            typer.echo(json.dumps([c.model_dump(mode="json") for c in checks], indent=2))
        for c in checks:
            score = "n/a" if c.score is None else f"{c.score:.0%}"
            base = "" if c.baseline_score is None else f" (baseline {c.baseline_score:.0%})"
            line = f"{c.suite} on {c.target}: {score}{base}: {c.note}"
            line += f" — {c.incident}" if c.incident else ""
            (stderr if c.regressed or as_json else console).print(line, markup=False)
        if not every:
            raise typer.Exit(1 if any(c.regressed for c in checks) else 0)
        time.sleep(manifest.monitor.every_s)
