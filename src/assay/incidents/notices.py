"""Who hears of an incident besides the authority, and what they are told.

- The system's accountable parties: those the registry's RACI makes Accountable or Responsible for the
  `incident_response` risk area. They hear of every new report (`incident.reported`, or
  `incident.severe` when it is severe on arrival), of a triage that makes it severe, and of deadline
  reminders. A party is reached at its manifest `notify:` address or webhook, else at its `contact`
  when that is an e-mail address; a party with neither is skipped (and `recipients` says so).
- The reporter, when they left an e-mail address: an acknowledgement on receipt and a message on each
  change of the public status — the same facts `GET /api/v1/incidents/{id}/status` shows, nothing
  internal (no notes, severity, assignee or other reporters).

Everything is queued in the caller's transaction through the outbox (`assay.notify.enqueue`), so it
commits with the change or not at all. Each message id is derived from the incident, the event that
caused it, the topic and the destination (a UUID 5): the receiver's idempotency id, and queueing the
same notice twice is impossible (the outbox's message ids are unique).
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any, Literal

from pydantic import BaseModel

from assay.incidents.models import Incident

RISK_AREA = "incident_response"
_NAMESPACE = uuid.UUID("6f1d0c53-8f0e-4b51-9a3c-2f5b2d8e7a10")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class Recipient(BaseModel):
    """One accountable party and how it is reached."""

    party: str
    name: str
    role: Literal["A", "R", "A/R"]
    email: str | None = None
    webhook: str | None = None
    secret_env: str = ""


class Recipients(BaseModel):
    system: str
    reachable: list[Recipient]
    unreachable: list[str]
    """Accountable or responsible parties with neither `notify:` nor an e-mail `contact`."""


def message_id(incident_id: str, seq: int, topic: str, channel: str, destination: str) -> str:
    """The stable id of one notice: the same event, topic and destination always give the same id."""
    return str(uuid.uuid5(_NAMESPACE, f"{incident_id}|{seq}|{topic}|{channel}|{destination}"))


def secret_env_for(party_id: str) -> str:
    return "ASSAY_WEBHOOK_SECRET_" + re.sub(r"[^A-Z0-9_]", "_", party_id.upper())


def recipients_of(manifest: Any) -> Recipients:
    """The accountable parties of a manifest for `incident_response`, from its RACI (overrides applied)."""
    from assay.registry.allocation import allocate

    alloc = allocate(manifest).allocation(RISK_AREA)
    system = manifest.system.id
    if alloc is None or alloc.not_applicable:
        return Recipients(system=system, reachable=[], unreachable=[])
    order = list(dict.fromkeys([p for p in (alloc.accountable, *alloc.responsible) if p]))
    parties = {p.id: p for p in manifest.parties}
    reachable, unreachable = [], []
    for pid in order:
        party = parties.get(pid)
        if party is None:
            continue
        role = alloc.role_of(pid)
        email = webhook = None
        secret = ""
        if party.notify is not None and (party.notify.email or party.notify.webhook):
            email, webhook = party.notify.email, party.notify.webhook
            if webhook:
                secret = party.notify.webhook_secret_env or secret_env_for(pid)
        elif _EMAIL.match(party.contact or ""):
            email = party.contact
        if not email and not webhook:
            unreachable.append(pid)
            continue
        reachable.append(
            Recipient(party=pid, name=party.name, role=role, email=email, webhook=webhook, secret_env=secret)
        )
    return Recipients(system=system, reachable=reachable, unreachable=unreachable)


_cache: dict[tuple[str, str, tuple[Any, ...]], Recipients] = {}
_cache_lock = threading.Lock()


def recipients(session: Any, system: str) -> Recipients:
    """`recipients_of` the stored system, read in the caller's session. Remembered per manifest digest
    and set of kept overrides, so a burst of reports does not derive the RACI once per report (nor load
    the manifest: the key is one small query)."""
    from assay.registry.service import manifest_of_row
    from assay.store.systems import get_system_row, system_version

    version = system_version(session, system)
    if version is None:
        return Recipients(system=system, reachable=[], unreachable=[])
    key = (system, version)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    row = get_system_row(session, system)
    if row is None:  # pragma: no cover - removed since the line above, in this transaction
        return Recipients(system=system, reachable=[], unreachable=[])
    found = recipients_of(manifest_of_row(row))
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = found
    return found


def _enqueue(session: Any, inc_id: str, seq: int, topic: str, **kw: Any) -> str:
    from assay.notify import enqueue

    mid = message_id(inc_id, seq, topic, kw["channel"], kw["destination"])
    return enqueue(session, topic=topic, message_id=mid, **kw)


def to_parties(
    session: Any,
    inc: Incident,
    topic: str,
    seq: int,
    *,
    found: Recipients | None = None,
    note: str = "",
    record: dict[str, Any] | None = None,
) -> list[str]:
    """Queue `topic` about `inc` to each accountable party (caused by event `seq`). `found`: the
    recipients when the caller has them; `record`: `inc.public()` when the caller has it."""
    found = found if found is not None else recipients(session, inc.system)
    if not found.reachable:
        return []
    what = {
        "incident.reported": "New incident report",
        "incident.severe": "Severe AI incident",
        "incident.deadline_reminder": "Reporting deadline near",
    }.get(topic, topic)
    deadline = f"; report to the authority due {inc.deadline}" if inc.severe and inc.deadline else ""
    subject = f"{what}: {inc.id} ({inc.system}){deadline}"
    severe = "no"
    if inc.severe:
        severe = "yes" + (f" (rule {inc.rule_id})" if inc.rule_id else "")
    lines = [
        subject,
        "",
        inc.title,
        "",
        f"Status: {inc.status}. Severe under {inc.policy_id}@{inc.policy_version}: {severe}.",
    ]
    if note:
        lines += ["", note]
    lines += [
        "",
        "You receive this because the registry makes you accountable or responsible for incident "
        f"response of '{inc.system}'.",
    ]
    text = "\n".join(lines)
    ids = []
    record = record if record is not None else inc.public()
    for r in found.reachable:
        payload = {
            "incident": record,
            "event": seq,
            "party": r.party,
            "raci": r.role,
            "deadline": str(inc.deadline) if inc.deadline else None,
            "text": text,
        }
        if r.email:
            ids.append(
                _enqueue(
                    session,
                    inc.id,
                    seq,
                    topic,
                    channel="email",
                    destination=r.email,
                    subject=subject,
                    payload=payload,
                )
            )
        if r.webhook:
            ids.append(
                _enqueue(
                    session,
                    inc.id,
                    seq,
                    topic,
                    channel="webhook",
                    destination=r.webhook,
                    secret_env=r.secret_env,
                    payload=payload,
                )
            )
    return ids


def reporter_view(inc: Incident) -> dict[str, Any]:
    """What a reporter may be told: exactly the fields of their receipt's status view."""
    return {
        "id": inc.id,
        "kind": inc.kind,
        "system": inc.system,
        "title": inc.title,
        "status": inc.status,
        "received_at": inc.received_at.isoformat(),
        "updated_at": inc.updated_at.isoformat(),
        "status_url": f"/api/v1/incidents/{inc.id}/status",
    }


def to_reporter(session: Any, inc: Incident, email: str | None, seq: int, *, received: bool) -> str | None:
    """Queue the reporter's acknowledgement (`received`) or a status-change notice, if they left an
    e-mail address. Only the public status view goes out."""
    if not email or not _EMAIL.match(email):
        return None
    view = reporter_view(inc)
    if received:
        topic = "report.received"
        subject = f"We received your report {inc.id}"
        text = (
            f"Thank you. Your report about '{inc.system}' was received as {inc.id} on "
            f"{inc.received_at:%Y-%m-%d %H:%M} UTC.\n\nTitle: {inc.title}\nStatus: {inc.status}\n\n"
            f"Follow it at {view['status_url']} with the receipt you were given."
        )
    else:
        topic = "report.status"
        subject = f"Your report {inc.id} is now {inc.status}"
        text = (
            f"Your report {inc.id} about '{inc.system}' is now {inc.status} "
            f"(since {inc.updated_at:%Y-%m-%d %H:%M} UTC).\n\nTitle: {inc.title}\n\n"
            f"Follow it at {view['status_url']} with the receipt you were given."
        )
    return _enqueue(
        session,
        inc.id,
        seq,
        topic,
        channel="email",
        destination=email,
        subject=subject,
        payload={"report": view, "text": text},
    )
