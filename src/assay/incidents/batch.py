"""Group commit for the public intake: many reports, one transaction, one durable commit.

A report on its own costs a transaction and a commit (on SQLite an fsync of the WAL); under load those
dominate. Here one writer task takes every report waiting, stores them all in one transaction — each
with its number, its record, its signed first event, its reporter contact, its idempotency key and its
notices, exactly as `service.report` stores one — and only after that transaction has committed does
each request get its answer. So a 201 always means the report is on disk, and a crash before the commit
answers nobody.

Idempotency stays exact: a key stored earlier answers with its incident (or a conflict for another
body), and two requests with the same key in one batch get one incident — the second is answered as a
retry of the first. If the batch's transaction fails for any reason (e.g. a concurrent writer in
another process used one of its keys first), each report is stored again on its own through
`intake.submit`, so one bad report never fails the others.

The writer runs in one thread of its own, so at most one intake transaction is open at a time; while it
commits, the next batch gathers. `ASSAY_INTAKE_BATCH` sets the largest batch (default 256; `1` turns
batching off and each report is stored on its own, as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from assay.assurance.chain import GENESIS
from assay.incidents.events import signed_event
from assay.incidents.intake import IdempotencyConflict, PublicReport, submit
from assay.incidents.models import Incident, IncidentReport, incident_id
from assay.notify.outbox import OutboxBatch
from assay.store import incidents as rows
from assay.store.bulk import insert_many
from assay.workspace import Workspace

DEFAULT_BATCH = 256
REUSED = "this Idempotency-Key was already used for a different report"
ENV_BATCH = "ASSAY_INTAKE_BATCH"


@dataclass
class Pending:
    report: PublicReport
    source: str = "api"
    idempotency_key: str | None = None
    body_sha256: str = ""
    full: IncidentReport | None = None  # the report as the full model validates it, once checked


Outcome = tuple[Incident, bool] | BaseException


def batch_size(env: dict[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get(ENV_BATCH, "").strip()
    if not raw:
        return DEFAULT_BATCH
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV_BATCH}={raw!r}: expected a whole number of reports, 1 or more")
    return int(raw)


def write_batch(ws: Workspace, items: Sequence[Pending], *, policy: Any = None) -> list[Outcome]:
    """Store `items` in one transaction; one outcome per item, in order: (incident, replayed) or the
    exception that refused it (ReportInvalid, IncidentError, IdempotencyConflict)."""
    try:
        return _write(ws, items, policy)
    except Exception:  # the batch as a whole failed: each report on its own, so only a bad one fails
        out: list[Outcome] = []
        for it in items:
            try:
                out.append(
                    submit(
                        ws,
                        it.report,
                        source=it.source,
                        idempotency_key=it.idempotency_key,
                        body_sha256=it.body_sha256,
                        policy=policy,
                    )
                )
            except Exception as exc:
                out.append(exc)
        return out


def _write(ws: Workspace, items: Sequence[Pending], policy: Any) -> list[Outcome]:
    from assay.incidents import notices
    from assay.incidents.duplicates import find_near_duplicate
    from assay.incidents.intake import MAX_IDEMPOTENCY_KEY
    from assay.incidents.service import (
        IncidentError,
        _to_incident,
        announce_report,
        prepare_report,
    )

    outcomes: list[Outcome | None] = [None] * len(items)
    prepared: dict[int, Any] = {}
    key = ws.signing_key
    alias: dict[int, int] = {}  # a later in-batch request with the same key and body -> the first one
    replay: dict[int, str] = {}  # -> an incident stored by an earlier batch
    # one transaction for the whole batch, its reads included: on PostgreSQL every statement is a round
    # trip, and a second transaction cost five more
    with ws.db.write_session() as s:
        components = {
            sys_id: rows.system_components(s, sys_id) for sys_id in {it.report.system for it in items}
        }
        for i, it in enumerate(items):
            ikey = it.idempotency_key
            if ikey is not None and not 1 <= len(ikey) <= MAX_IDEMPOTENCY_KEY:
                outcomes[i] = IdempotencyConflict(
                    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
                )
                continue
            try:
                rep = it.full if it.full is not None else it.report.as_report(it.source)
                prepared[i] = prepare_report(
                    ws, rep, policy=policy, actor="reporter", components=components.get(rep.system)
                )
            except IncidentError as exc:
                outcomes[i] = exc

        keys = [items[i].idempotency_key for i in prepared if items[i].idempotency_key]
        stored = rows.get_idempotency_many(s, keys)  # type: ignore[arg-type]
        first_of: dict[str, int] = {}
        new: list[int] = []
        for i in prepared:
            k, digest = items[i].idempotency_key, items[i].body_sha256
            if k is None:
                new.append(i)
            elif k in stored:
                if stored[k]["request_sha256"] != digest:
                    outcomes[i] = IdempotencyConflict(REUSED)
                else:
                    replay[i] = stored[k]["incident_id"]
            elif k in first_of:
                if items[first_of[k]].body_sha256 != digest:
                    outcomes[i] = IdempotencyConflict(REUSED)
                else:
                    alias[i] = first_of[k]
            else:
                first_of[k] = i
                new.append(i)

        # numbers: one counter lock per system and year for the whole batch
        counts: dict[tuple[str, int], int] = {}
        for i in new:
            p = prepared[i]
            counts[(p.inc.system, p.today.year)] = counts.get((p.inc.system, p.today.year), 0) + 1
        next_no = {k: rows.reserve_numbers(s, k[0], k[1], n) for k, n in sorted(counts.items())}

        incident_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        reporter_rows: list[dict[str, Any]] = []
        key_rows: list[dict[str, Any]] = []
        band_rows: list[dict[str, Any]] = []
        found: dict[str, Any] = {}
        outbox = OutboxBatch()
        for i in new:
            p = prepared[i]
            inc, rep = p.inc, p.rep
            if p.print_ is not None:  # a vulnerability: earlier reports of this batch count too
                rows.insert_reports(s, incident_rows, [], [], [], band_rows)
                incident_rows, band_rows = [], []
                near = find_near_duplicate(s, rep.system, p.print_)
                if near is not None:
                    inc.near_duplicate_of, inc.near_duplicate_similarity = near.incident_id, near.similarity
            k = (inc.system, p.today.year)
            number = next_no[k]
            next_no[k] += 1
            inc.id = incident_id(inc.system, p.today.year, number)
            inc.event_count = 1
            record = inc.public()
            event = signed_event(key, inc, "reported", p.actor, p.event_data(), p.now, 1, GENESIS, record)
            inc.head_hash = event["hash"]
            incident_rows.append(
                {
                    "id": inc.id,
                    "system_slug": inc.system,
                    "year": p.today.year,
                    "number": number,
                    "kind": inc.kind,
                    "status": inc.status,
                    "severe": inc.severe,
                    "deadline": inc.deadline,
                    "record": record,
                    "fingerprint": p.print_.fingerprint if p.print_ else b"",
                    "event_count": 1,
                    "head_hash": event["hash"],
                    "received_at": p.now,
                    "updated_at": p.now,
                }
            )
            event_rows.append(event)
            contact = rep.reporter
            if contact.email or contact.other_contact or contact.name:
                reporter_rows.append(
                    {
                        "incident_id": inc.id,
                        "name": contact.name,
                        "email": contact.email,
                        "other_contact": contact.other_contact,
                    }
                )
            if items[i].idempotency_key is not None:
                key_rows.append(
                    {
                        "key": items[i].idempotency_key,
                        "request_sha256": items[i].body_sha256,
                        "incident_id": inc.id,
                    }
                )
            if p.print_ is not None:
                band_rows.extend({"incident_id": inc.id, "band": b, "value": v} for b, v in p.print_.bands)
            if inc.system not in found:
                found[inc.system] = notices.recipients(s, inc.system)
            announce_report(outbox, inc, p.choice.policy, contact.email, found[inc.system], record)
            outcomes[i] = (inc, False)
        tables = rows.report_rows(incident_rows, event_rows, reporter_rows, key_rows, band_rows)
        insert_many(s, [*tables, outbox.take()])  # on PostgreSQL one round trip for them all
        replayed = {i: _to_incident(rows.get_incident_row(s, ident)) for i, ident in replay.items()}
    # committed: only now may anyone be told their report is stored
    for i, inc in replayed.items():
        outcomes[i] = (inc, True)
    for i, j in alias.items():
        first = outcomes[j]
        outcomes[i] = (first[0], True) if isinstance(first, tuple) else first
    return [o if o is not None else RuntimeError("report not handled") for o in outcomes]


class IntakeQueue:
    """The writer task of the API: `await submit(...)` returns once the report's batch has committed."""

    def __init__(self, ws: Workspace, *, max_batch: int | None = None, policy: Any = None) -> None:
        self.ws = ws
        self.max_batch = max_batch if max_batch is not None else batch_size()
        self.policy = policy
        self._queue: asyncio.Queue[tuple[Pending, asyncio.Future[tuple[Incident, bool]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.max_batch <= 1 or self.running:
            return
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-intake")
        self._task = asyncio.create_task(self._run(), name="assay-intake-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, item: Pending) -> tuple[Incident, bool]:
        assert self._queue is not None, "the intake writer is not running"
        if item.full is None:
            # the second validation is pure CPU: done here, while the writer waits on the database, and
            # a report it refuses (ReportInvalid) is answered without queueing
            item.full = item.report.as_report(item.source)
        fut: asyncio.Future[tuple[Incident, bool]] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, fut))
        return await fut

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                work = functools.partial(write_batch, self.ws, [it for it, _ in batch], policy=self.policy)
                outcomes = await loop.run_in_executor(self._executor, work)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never leave a request waiting
                outcomes = [exc] * len(batch)
            for (_, fut), out in zip(batch, outcomes, strict=True):
                if fut.done():  # the client went away; its report is stored all the same
                    continue
                if isinstance(out, BaseException):
                    fut.set_exception(out)
                else:
                    fut.set_result(out)
