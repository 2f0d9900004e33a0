"""`assay gateway MANIFEST --target ID`: an OpenAI-compatible guardrail proxy in front of a target;
`assay gateway eval`: what its rules block, let through and break on a suite. Only typer loads at
import time."""

from __future__ import annotations

from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from assay.cli.common import fail_on_invalid_manifest, fail_with_problems, stderr


class _ServeByDefault(TyperGroup):
    """`assay gateway MANIFEST …` means `assay gateway serve MANIFEST …`; `eval` stays a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_ServeByDefault, no_args_is_help=True)


def _build(manifest: Path, target: str, rules: Path | None, log: bool = True):  # type: ignore[no-untyped-def]
    from assay.gateway.rules import GatewayRulesInvalid
    from assay.gateway.service import GatewaySetupError, build_gateway
    from assay.manifest import ManifestInvalid

    try:
        return build_gateway(manifest, target, rules_path=rules, log=log)
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
) -> None:
    """Serve the OpenAI chat-completions API, checking requests and answers against the rules."""
    from assay.gateway.service import serve as run

    gateway = _build(manifest, target, rules)
    n = len(gateway.guard.rules.rules)
    typer.echo(
        f"Assay gateway for '{target}' on http://{host}:{port}/v1 ({n} rules, decisions logged); "
        "Ctrl-C stops",
        err=True,
    )
    run(gateway, host, port)
