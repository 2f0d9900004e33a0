"""What an assessment says about a system's incident reporting (dimension 4): the channels it offers,
its incident register with deadlines and the audit of every log, and its public advisories.

Each part is evidence of its own kind (`incident.channel`, `incident.record`, `incident.report`), the
kinds the catalog's incident-reporting controls ask for. A register is written only when the system has
incidents and an advisory feed only when something was disclosed or reported to an authority: an empty
register would otherwise count as evidence that incidents are handled.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, Field

from assay.incidents.models import ChainAudit, DueItem, incident_id
from assay.incidents.policy import IncidentsPolicy
from assay.workspace import Workspace

REPORT_FORM = "/report/{system}"
REPORT_API = "/api/v1/incidents"
STATUS_API = "/api/v1/incidents/{id}/status"
ADVISORIES_PAGE = "/incidents/{system}"
ADVISORIES_FEED = "/incidents/{system}/feed.atom"


class Channel(BaseModel):
    """One way in for a report."""

    kind: str = Field(description="form, api or contact")
    where: str
    note: str = ""


class IntakeChannels(BaseModel):
    """Where users and researchers report a problem with the system, and on what terms."""

    system: str
    channels: list[Channel]
    kinds: list[str] = Field(description="what may be reported")
    coordinated_disclosure_days: int
    reward_tiers: list[str]
    policy: str = Field(description="the incident rules (id@version) that judge severity")
    materiality: str
    authority_contacts: list[str] = Field(description="names of the bodies severe incidents go to")


class RegisterEntry(BaseModel):
    """An incident as the register lists it: no reporter, no description (they may hold personal data)."""

    id: str
    kind: str
    title: str
    status: str
    severity: str | None
    severe: bool
    rule_id: str | None
    deadline: dt.date | None
    authority_reported_at: dt.date | None
    advisory_id: str | None
    assignee: str | None
    became_aware: dt.date
    updated_at: dt.datetime
    corrective_actions: int


class IncidentRegister(BaseModel):
    system: str
    as_of: dt.date
    counts: dict[str, int] = Field(description="incidents per status")
    open: int
    severe: int
    incidents: list[RegisterEntry]
    due: list[DueItem] = Field(description="severe incidents overdue or due soon for the authority")
    audit: list[ChainAudit] = Field(description="each incident's signed log checked")

    @property
    def broken(self) -> list[ChainAudit]:
        return [a for a in self.audit if not a.ok]


OPEN_STATES = ("received", "triaged", "investigating")


def channels(system: str, policy: IncidentsPolicy, manifest_contacts: list[str]) -> IntakeChannels:
    """The intake `assay serve` offers for `system`, under `policy`, plus the manifest's own contacts."""
    found = [
        Channel(kind="form", where=REPORT_FORM.format(system=system), note="public, no account, 4 languages"),
        Channel(kind="api", where=REPORT_API, note="POST with an Idempotency-Key; a receipt to follow it"),
        *(Channel(kind="contact", where=c) for c in manifest_contacts),
    ]
    return IntakeChannels(
        system=system,
        channels=found,
        kinds=["incident", "vulnerability"],
        coordinated_disclosure_days=policy.disclosure_days,
        reward_tiers=list(policy.reward_tiers),
        policy=f"{policy.id}@{policy.version}",
        materiality=policy.materiality,
        authority_contacts=[c.name for c in policy.contacts],
    )


def register(ws: Workspace, system: str, today: dt.date, policy: IncidentsPolicy) -> IncidentRegister:
    """The system's incidents, what is due, and the audit of their logs (and of numbers issued to the
    system whose record and log are gone)."""
    from assay.incidents.service import audit, due, list_incidents

    incidents = list_incidents(ws, system=system)
    counts: dict[str, int] = {}
    for inc in incidents:
        counts[inc.status] = counts.get(inc.status, 0) + 1
    ids = {inc.id for inc in incidents}
    prefix = incident_id(system, 0, 0).removesuffix("0000-0000")  # "AS-HELPDESK-"
    own = re.compile(re.escape(prefix) + r"\d{4}-\d{4}")  # a number issued to it, whose record may be gone
    return IncidentRegister(
        system=system,
        as_of=today,
        counts=counts,
        open=sum(inc.status in OPEN_STATES for inc in incidents),
        severe=sum(inc.severe for inc in incidents),
        incidents=[
            RegisterEntry(
                id=inc.id,
                kind=inc.kind,
                title=inc.title,
                status=inc.status,
                severity=inc.severity,
                severe=inc.severe,
                rule_id=inc.rule_id,
                deadline=inc.deadline,
                authority_reported_at=inc.authority_reported_at,
                advisory_id=inc.advisory_id,
                assignee=inc.assignee,
                became_aware=inc.became_aware,
                updated_at=inc.updated_at,
                corrective_actions=len(inc.corrective_actions),
            )
            for inc in incidents
        ],
        due=[d for d in due(ws, today, policy=policy) if d.system == system],
        audit=[a for a in audit(ws) if a.incident_id in ids or own.fullmatch(a.incident_id)],
    )


def advisory_feed(ws: Workspace, system: str, system_name: str, since: dt.datetime) -> tuple[Any, bytes]:
    """The public advisories and their Atom feed (relative links: the assessment is published anywhere)."""
    from assay.incidents.disclosure import advisories, atom_feed

    items = advisories(ws, system)
    feed = atom_feed(
        system,
        system_name,
        items,
        page_url=ADVISORIES_PAGE.format(system=system),
        feed_url=ADVISORIES_FEED.format(system=system),
        since=since,
    )
    return items, feed
