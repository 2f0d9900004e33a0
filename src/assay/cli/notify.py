"""`assay notify …`: deliver the notification outbox (webhooks, e-mail) and see what is waiting.

Run `assay notify run` as a long-lived worker beside `assay serve`, or `assay notify run --once` from
cron. Only typer loads at import time.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, open_workspace, stderr

app = typer.Typer(no_args_is_help=True)


class StatusName(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


@app.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit (for cron)."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Seconds between passes."),
    limit: int = typer.Option(100, "--limit", min=1, max=10000, help="Notifications claimed per pass."),
    reminders: bool = typer.Option(
        True,
        "--reminders/--no-reminders",
        help="Also queue incident deadline reminders before each pass (`assay incidents remind`).",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Deliver due notifications, retrying failures with backoff. Exit 1 (with --once) if any failed."""
    import time

    from assay.notify import deliver_due

    ws = open_workspace(home)
    while True:
        if reminders:
            from assay.incidents.reminders import remind

            for r in remind(ws):
                typer.echo(f"notify: reminder for {r.incident_id} queued ({r.notices} notice(s))", err=True)
        report = deliver_due(ws, limit=limit)
        for line in report.errors:
            stderr.print(f"notify: {line}", markup=False, highlight=False)
        if report.claimed:
            typer.echo(
                f"notify: {report.delivered} delivered, {report.retrying} to retry, {report.dead} given up",
                err=True,
            )
        if once:
            raise typer.Exit(1 if report.retrying or report.dead else 0)
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


@app.command("list")
def list_(
    status: StatusName | None = typer.Option(None, "--status", help="Only this status."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    home: Path | None = HOME_OPTION,
) -> None:
    """List notifications, newest first: destination, topic, status, attempts, last error."""
    import json

    from rich.table import Table

    from assay.notify import list_notifications

    rows = list_notifications(open_workspace(home), status.value if status else None)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print("No notifications.")
        return
    table = Table("#", "Topic", "To", "Status", "Tries", "Last error")
    for r in rows:
        table.add_row(str(r.id), r.topic, r.destination, r.status, str(r.attempts), r.last_error[:60])
    console.print(table, markup=False)


@app.command("retry")
def retry(
    notification_id: int = typer.Argument(..., help="The number shown by `assay notify list`."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Queue a notification that was given up on again (after its receiver was fixed)."""
    from assay.notify.outbox import retry_dead

    if not retry_dead(open_workspace(home), notification_id):
        stderr.print(f"error: no given-up notification #{notification_id}", markup=False, highlight=False)
        raise typer.Exit(2)
    typer.echo(f"Notification #{notification_id} is queued again.")
