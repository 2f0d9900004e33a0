"""`assay serve`: the API and the web pages for one workspace, on Uvicorn.

Only typer (and the small shared helpers) load at import time; FastAPI and Uvicorn load when serving.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, fail_on_invalid_manifest, open_workspace, stderr


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach; reads are open only there."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    home: Path | None = HOME_OPTION,
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Register (or replace) this manifest's system before serving."
    ),
    public_reads: bool = typer.Option(
        False,
        "--public-reads",
        help="Let anyone read without a token even on a non-loopback address (never the default).",
    ),
) -> None:
    """Serve the JSON API under /api/v1 and the pages at /; writes need a token (`assay token create`)."""
    import uvicorn

    from assay.api.app import create_app
    from assay.api.limits import KeepQuota
    from assay.incidents.batch import batch_size
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.registry.service import register_system

    try:
        keep_quota = KeepQuota.from_env()
        batch_size()  # ASSAY_INTAKE_BATCH, checked before anything starts
    except ValueError as exc:
        stderr.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    ws = open_workspace(home)
    if manifest is not None:
        try:
            record = register_system(ws, load_manifest(manifest))
        except ManifestInvalid as exc:
            fail_on_invalid_manifest(exc)
        stderr.print(f"registered system '{record.id}' from {manifest}", highlight=False, markup=False)

    open_reads = is_loopback(host) or public_reads
    if not open_reads:
        stderr.print(
            f"{host} is not a loopback address: reads need a viewer token too "
            "(--public-reads to open them). Put a TLS proxy in front before exposing this.",
            highlight=False,
            markup=False,
        )
    shown = f"[{host}]" if ":" in host else host
    stderr.print(f"Assay serving {ws.home} at http://{shown}:{port}/", highlight=False, markup=False)
    stderr.print(f"the dashboard: http://{shown}:{port}/dashboard", highlight=False, markup=False)
    app = create_app(ws, open_reads=open_reads, keep_quota=keep_quota)
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add `serve` to the root command."""
    app.command("serve")(serve)
