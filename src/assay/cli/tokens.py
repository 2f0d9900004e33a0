"""`assay token …`: API tokens for `assay serve`. A secret is shown once; only its hash is kept.

Only typer (and the small shared helpers) load at import time, so `assay --help` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, open_workspace, stderr

app = typer.Typer(no_args_is_help=True)


class RoleName(StrEnum):
    """The roles of `assay.tokens.Role`, repeated so that --help needs no database code."""

    viewer = "viewer"
    triager = "triager"
    editor = "editor"
    admin = "admin"
    authority = "authority"


@app.command("create")
def create(
    name: str = typer.Argument(..., help="A name to know the token by, e.g. the person or the CI job."),
    role: RoleName = typer.Option(
        RoleName.viewer,
        "--role",
        help="viewer reads; triager also works incidents; editor also changes the registry; admin also "
        "systems. authority: reads the incidents of the --system(s) it supervises, writes nothing.",
    ),
    systems: list[str] = typer.Option(
        [], "--system", help="A system an authority token supervises (repeat for more); authority only."
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Make a token and print its secret, which is not shown again. Exits 2 for a bad role or scope."""
    from assay.tokens import Role, TokenError, TokenScopeError, create_token

    ws = open_workspace(home)
    try:
        issued = create_token(ws, name, Role(role.value), systems)
    except TokenError as exc:
        stderr.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, TokenScopeError) else 1) from None
    # The secret goes alone to stdout so a script can capture it; the advice goes to stderr.
    typer.echo(issued.secret)
    scope = f", supervising {', '.join(issued.token.systems)}" if issued.token.systems else ""
    typer.echo(
        f"Token '{name}' ({role.value}{scope}) created. Keep the secret above somewhere safe: it is not "
        "shown again, and only its hash is stored. Send it as 'Authorization: Bearer <secret>'.",
        err=True,
    )


@app.command("list")
def list_(
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List tokens by name and role; secrets are never shown."""
    import json

    from rich.table import Table

    from assay.tokens import list_tokens

    tokens = list_tokens(open_workspace(home))
    if as_json:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tokens], indent=2))
        return
    table = Table("name", "role", "systems", "prefix", "created", "last used", "status")
    for t in tokens:
        table.add_row(
            t.name,
            t.role.value,
            ", ".join(t.systems),
            t.prefix + "…",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
            "revoked" if t.revoked else "active",
        )
    console.print(table)


@app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="The token's name."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Revoke a token; the server refuses it from the next request on."""
    from assay.tokens import TokenError, revoke_token

    try:
        revoke_token(open_workspace(home), name)
    except TokenError as exc:
        stderr.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"Token '{name}' revoked.")
