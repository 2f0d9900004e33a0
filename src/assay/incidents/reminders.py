"""Reminders before a reporting deadline runs out.

A severe incident not yet reported to the authority has a deadline (a date: the report is due by the end
of that day, UTC). For each lead time of its policy (`reminder_hours`, default 48 and 12), the first
reminder pass after `deadline − lead` queues a reminder to the system's accountable parties and records
a signed `reminded` event naming the lead times it covers. The event is how a later pass knows: a lead
time already covered for the same deadline is never reminded again, so running the pass twice (or from
cron and the notify worker at once — the incident row is locked) queues nothing new. A pass that finds
several lead times crossed at once (the first run after a long gap) sends one reminder for all of them.
A deadline moved by a new triage gets its own reminders. Once the deadline has passed, `assay incidents
due` lists the incident as overdue; no reminder is sent after the fact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from assay.incidents.policy import BUILTIN, DEFAULT_REMINDER_HOURS, IncidentsPolicy, builtin_policy
from assay.store import incidents as rows
from assay.workspace import Workspace


class Reminder(BaseModel):
    incident_id: str
    system: str
    deadline: dt.date
    due_at: dt.datetime
    hours_left: float
    lead_hours: list[int]
    notices: int


def due_at(deadline: dt.date) -> dt.datetime:
    """A deadline date runs out at the end of that day, UTC."""
    return dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)


def _leads(inc: Any, policy: IncidentsPolicy | None) -> list[int]:
    if policy is not None:
        return policy.reminder_hours
    if inc.policy_id in BUILTIN:
        return builtin_policy(inc.policy_id).reminder_hours
    return list(DEFAULT_REMINDER_HOURS)


def _pending(inc: Any) -> bool:
    """Severe, with a deadline, not filed (an initial report counts only where the rule allows it)."""
    if not inc.severe or inc.deadline is None or inc.status in ("duplicate", "rejected"):
        return False
    filed = inc.authority_reported_at is not None and (
        not inc.authority_report_initial or inc.initial_report_allowed
    )
    return not filed


def remind(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    policy: IncidentsPolicy | None = None,
    actor: str = "reminder",
) -> list[Reminder]:
    """One reminder pass: queue what has come due since the last pass; return what was queued.
    `policy` gives the lead times for every incident; without it each incident's own built-in policy
    gives them, and the defaults (48 h, 12 h) serve incidents judged under another pack."""
    from assay.incidents import notices
    from assay.incidents.events import append_event
    from assay.incidents.service import _to_incident

    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    out: list[Reminder] = []
    with ws.db.session() as s:
        candidates = [_to_incident(r) for r in rows.deadline_rows(s)]
    for candidate in candidates:
        if not _pending(candidate):
            continue
        end = due_at(candidate.deadline)  # type: ignore[arg-type]
        crossed = [h for h in _leads(candidate, policy) if end - dt.timedelta(hours=h) <= now < end]
        if not crossed:
            continue
        with ws.db.write_session() as s:
            row = rows.lock_incident(s, candidate.id)
            if row is None:
                continue
            inc = _to_incident(row)  # as it is now, under the lock
            if not _pending(inc) or inc.deadline != candidate.deadline:
                continue
            covered: set[int] = set()
            for e in rows.event_rows(s, inc.id):
                if e["kind"] == "reminded" and e["data"].get("deadline") == inc.deadline.isoformat():
                    covered.update(e["data"].get("lead_hours", []))
            new = sorted((h for h in crossed if h not in covered), reverse=True)
            if not new:
                continue
            left = (end - now).total_seconds() / 3600
            data = {
                "deadline": inc.deadline.isoformat(),
                "due_at": end.isoformat(),
                "lead_hours": new,
                "hours_left": round(left, 2),
            }
            event = append_event(s, ws.signing_key, row, inc, "reminded", actor, data, now)
            note = (
                f"The report to the authority is due by {end:%Y-%m-%d %H:%M} UTC, in {left:.0f} hours "
                f"(rule {inc.rule_id}). Record it with `assay incidents filed {inc.id}` once sent."
            )
            ids = notices.to_parties(s, inc, "incident.deadline_reminder", event.seq, note=note)
            out.append(
                Reminder(
                    incident_id=inc.id,
                    system=inc.system,
                    deadline=inc.deadline,
                    due_at=end,
                    hours_left=round(left, 2),
                    lead_hours=new,
                    notices=len(ids),
                )
            )
    return out
