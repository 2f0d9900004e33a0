"""The transactional outbox: enqueue inside the caller's transaction, deliver with retries later.

Why an outbox: sending from inside a request or a state change either loses the message when the
process dies after the commit, or sends it for a change that is then rolled back. Writing the message
as a row in the same transaction as the change, and delivering it from that row, avoids both.

Delivery is at least once: a worker that dies after sending and before recording it sends the message
again when its claim expires, with the same `message_id`, which the receiver uses to drop the repeat.
Two workers never send the same row at the same time: each claims due rows for a lease first.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import socket
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.workspace import Workspace

Channel = Literal["webhook", "email"]
Status = Literal["pending", "delivered", "dead"]

LEASE_S = 60.0
MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
KILL_AFTER_SEND_ENV = "ASSAY_TEST_KILL_AFTER_SEND"
"""Fault injection for the crash tests: the worker SIGKILLs itself right after its N-th send, before
recording it (nothing else reads this)."""


class DeliveryFailed(Exception):
    """A send that did not succeed. `permanent`: retrying cannot help (e.g. the receiver answered 400)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Notification(BaseModel):
    """One outbox row as the domain sees it."""

    id: int
    message_id: str
    channel: Channel
    destination: str
    secret_env: str = ""
    topic: str
    subject: str = ""
    payload: dict[str, Any]
    status: Status
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None = None
    last_error: str = ""


class DeliveryReport(BaseModel):
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = Field(default_factory=list)


Sender = Callable[[Notification], None]


def _utc(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def enqueue(
    session: Any,
    *,
    channel: Channel,
    destination: str,
    topic: str,
    payload: Mapping[str, Any],
    subject: str = "",
    secret_env: str = "",
    message_id: str | None = None,
) -> str:
    """Add a notification to the caller's open transaction; return its message id.

    A webhook must name the environment variable that holds its signing secret (`secret_env`): the
    secret itself is never stored. An e-mail destination must look like an address."""
    from assay.store.tables import OutboxRow

    if channel == "webhook":
        if not destination.startswith(("http://", "https://")):
            raise ValueError(f"webhook destination must be an http(s) URL, got {destination[:80]!r}")
        if not secret_env:
            raise ValueError("a webhook needs secret_env: the environment variable holding its HMAC secret")
    elif channel == "email":
        if "@" not in destination or any(c in destination for c in "\r\n<>"):
            raise ValueError(f"e-mail destination must be one address, got {destination[:80]!r}")
    else:
        raise ValueError(f"unknown channel {channel!r}; expected 'webhook' or 'email'")
    mid = message_id or str(uuid.uuid4())
    now = _utc()
    values = {
        "message_id": mid,
        "channel": channel,
        "destination": destination,
        "secret_env": secret_env,
        "topic": topic,
        "subject": subject,
        "payload": dict(payload),
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "claimed_until": None,
        "claimed_by": "",
        "last_error": "",
    }
    if isinstance(session, OutboxBatch):
        session.values.append(values)
    else:
        session.add(OutboxRow(**values))
    return mid


class OutboxBatch:
    """Stands in for the session in `enqueue` when many notifications are written at once (the intake's
    group commit): it collects the rows, and `take` hands them to `store.bulk.insert_many` with the
    batch's other tables, in the caller's transaction. Nothing is queued until that insert runs."""

    def __init__(self) -> None:
        self.values: list[dict[str, Any]] = []

    def take(self) -> tuple[Any, list[dict[str, Any]]]:
        """(table, rows) for `bulk.insert_many`, which then owns them: the batch is empty again."""
        from assay.store.tables import OutboxRow

        values, self.values = self.values, []
        return OutboxRow.__table__, values


def _row(r: Any) -> Notification:
    return Notification(
        id=r.id,
        message_id=r.message_id,
        channel=r.channel,
        destination=r.destination,
        secret_env=r.secret_env,
        topic=r.topic,
        subject=r.subject,
        payload=r.payload,
        status=r.status,
        attempts=r.attempts,
        created_at=_aware(r.created_at),
        next_attempt_at=_aware(r.next_attempt_at),
        delivered_at=_aware(r.delivered_at),
        last_error=r.last_error,
    )


def list_notifications(ws: Workspace, status: Status | None = None, limit: int = 200) -> list[Notification]:
    from sqlalchemy import select

    from assay.store.tables import OutboxRow

    q = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
    if status:
        q = q.where(OutboxRow.status == status)
    with ws.db.session() as s:
        return [_row(r) for r in s.scalars(q)]


def retry_dead(ws: Workspace, notification_id: int) -> bool:
    """Put a dead notification back in the queue (after fixing its receiver); False if none such."""
    from assay.store.tables import OutboxRow

    with ws.db.write_session() as s:
        row = s.get(OutboxRow, notification_id)
        if row is None or row.status != "dead":
            return False
        row.status, row.attempts, row.next_attempt_at, row.claimed_until = "pending", 0, _utc(), None
        return True


def _claim(ws: Workspace, worker: str, now: dt.datetime, limit: int, lease_s: float) -> list[Notification]:
    from sqlalchemy import or_, select

    from assay.store.tables import OutboxRow

    q = (
        select(OutboxRow)
        .where(
            OutboxRow.status == "pending",
            OutboxRow.next_attempt_at <= now,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    with ws.db.write_session() as s:
        if ws.db.backend == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        until = now + dt.timedelta(seconds=lease_s)
        for r in rows:
            r.claimed_until, r.claimed_by = until, worker
        return [_row(r) for r in rows]


def backoff_s(attempts: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Wait before attempt `attempts + 1`: doubling from `base`, capped, with up to 10% jitter."""
    wait = min(cap, base * 2 ** max(0, attempts - 1))
    return wait * (1 + random.random() / 10)


def _settle(
    ws: Workspace,
    n: Notification,
    worker: str,
    error: DeliveryFailed | None,
    now: dt.datetime,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    from assay.store.tables import OutboxRow

    with ws.db.write_session() as s:
        row = s.get(OutboxRow, n.id)
        if row is None or row.claimed_by != worker or row.status != "pending":
            return  # another worker took it over after our lease ran out; it records the outcome
        row.attempts += 1
        row.claimed_until, row.claimed_by = None, ""
        if error is None:
            row.status, row.delivered_at, row.last_error = "delivered", now, ""
            report.delivered += 1
            return
        row.last_error = str(error)[:2000]
        if error.permanent or row.attempts >= max_attempts:
            row.status = "dead"
            report.dead += 1
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=backoff_s(row.attempts))
            report.retrying += 1
        report.errors.append(f"#{n.id} {n.channel} {n.destination}: {error}")


def deliver_due(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    limit: int = 100,
    lease_s: float = LEASE_S,
    max_attempts: int = MAX_ATTEMPTS,
    senders: Mapping[str, Sender] | None = None,
    worker: str | None = None,
) -> DeliveryReport:
    """Claim the notifications that are due, send each, record the outcome; one pass."""
    from assay.notify.send import send_email, send_webhook

    use: dict[str, Sender] = {"webhook": send_webhook, "email": send_email, **(senders or {})}
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    report = DeliveryReport()
    claimed = _claim(ws, worker, _utc(now), limit, lease_s)
    report.claimed = len(claimed)
    kill_at = os.environ.get(KILL_AFTER_SEND_ENV, "")
    for i, n in enumerate(claimed, 1):
        error: DeliveryFailed | None = None
        try:
            use[n.channel](n)
        except DeliveryFailed as exc:
            error = exc
        except Exception as exc:  # a sender bug must not lose the row: it is retried and reported
            error = DeliveryFailed(f"{type(exc).__name__}: {exc}")
        if kill_at.isdigit() and i == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        _settle(ws, n, worker, error, _utc(now), max_attempts, report)
    return report
