"""`assay gateway MANIFEST --target ID`: an OpenAI-compatible guardrail proxy in front of a target;
`assay gateway eval`: what its rules block, let through and break on a suite. Only typer loads at
import time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

from assay.cli.common import fail_on_invalid_manifest, fail_with_problems, stderr

if TYPE_CHECKING:
    import click


class _ServeByDefault(TyperGroup):
    """`assay gateway MANIFEST …` means `assay gateway serve MANIFEST …`; `eval` stays a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_ServeByDefault, no_args_is_help=True)


def _build(  # type: ignore[no-untyped-def]
    manifest: Path,
    target: str,
    rules: Path | None,
    log: bool = True,
    sign: bool = False,
    watermark: bool = False,
):
    from assay.gateway.rules import GatewayRulesInvalid
    from assay.gateway.service import GatewaySetupError, build_gateway
    from assay.manifest import ManifestInvalid

    try:
        return build_gateway(manifest, target, rules_path=rules, log=log, sign=sign, watermark=watermark)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    except GatewayRulesInvalid as exc:
        fail_with_problems("invalid gateway rules", exc.problems)
    except GatewaySetupError as exc:
        stderr.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None


@app.command("serve")
def serve(
    manifest: Path = typer.Argument(..., help="The system's assay.yaml."),
    target: str = typer.Option(..., "--target", help="The manifest target to put the gateway in front of."),
    rules: Path | None = typer.Option(None, "--rules", help="A rule file (default: the built-in rules)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8787, "--port", min=1, max=65535, help="Port to listen on."),
    sign: bool = typer.Option(
        False, "--sign", help="Sign every answer (C2PA text manifest, recorded in the ledger)."
    ),
    watermark: bool = typer.Option(
        False,
        "--watermark",
        help="Bundled target: write answers with the keyed text watermark and record them in the ledger.",
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Processes sharing the port (one decision-log file each)."
    ),
) -> None:
    """Serve the OpenAI chat-completions API, checking requests and answers against the rules."""
    from assay.gateway.service import build_gateway, serve_workers
    from assay.gateway.service import serve as run

    if workers > 1 and sign:
        stderr.print(
            "error: --sign keeps each answer's sidecar in the memory of the process that signed it, "
            "so it needs --workers 1",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    # every problem is reported before serving
    gateway = _build(manifest, target, rules, sign=sign, watermark=watermark)
    n = len(gateway.guard.rules.rules)
    typer.echo(
        f"Assay gateway for '{target}' on http://{host}:{port}/v1 ({n} rules, decisions logged"
        f"{f', {workers} workers' if workers > 1 else ''}); Ctrl-C stops",
        err=True,
    )
    if workers == 1:
        run(gateway, host, port)
        return
    if gateway.log is not None:
        gateway.log.close()  # nothing written: each worker keeps its own file

    def factory(worker: int):  # type: ignore[no-untyped-def]
        return build_gateway(manifest, target, rules_path=rules, worker=worker, watermark=watermark)

    serve_workers(factory, workers, host, port)


@app.command("eval")
def eval_(
    manifest: Path = typer.Argument(..., help="The system's assay.yaml."),
    target: str = typer.Option(..., "--target", help="The manifest target behind the gateway."),
    suite: list[str] = typer.Option(..., "--suite", help="A suite name or file (repeatable)."),
    rules: Path | None = typer.Option(None, "--rules", help="A rule file (default: the built-in rules)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="The first N samples of each suite."),
    sample: int | None = typer.Option(None, "--sample", min=1, help="A random N samples of each suite."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Run suites on the bare target and through the gateway: blocked, let through, fixed, broken."""
    import json

    from rich.table import Table

    from assay.cli.common import console, run_errors_exit
    from assay.gateway.compare import compare_suite

    gateway = _build(manifest, target, rules)
    results = []
    with run_errors_exit():
        for name in suite:
            results.append(
                compare_suite(manifest, target, name, gateway, limit=limit, sample=sample, seed=seed)
            )
    if gateway.log is not None:
        gateway.log.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in results], indent=2))
        return

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.0f}%"

    table = Table("Suite", "Samples", "Blocked", "Pass bare", "Pass gated", "Fixed", "Broke", "Let through")
    for r in results:
        table.add_row(
            r.suite_id,
            str(r.samples),
            str(r.blocked),
            pct(r.bare_pass_rate),
            pct(r.gateway_pass_rate),
            str(len(r.fixed)),
            str(len(r.broke)),
            str(len(r.let_through)),
        )
    console.print(table, markup=False)
    for r in results:
        if r.broke:
            console.print(f"{r.suite_id}: broke {', '.join(r.broke[:10])}", markup=False, highlight=False)
        fired = ", ".join(f"{c.rule} ×{c.fired}" for c in r.rules) or "none"
        console.print(f"{r.suite_id}: rules fired: {fired}", markup=False, highlight=False)
