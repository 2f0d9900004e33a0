"""Public disclosure: the remediated incidents of a system, redacted, as a page and an Atom feed.

Only incidents in a remediated state (mitigated, resolved, closed) that carry an advisory id are
disclosed, and of each only what its owners wrote for the public to read: title, kind, state, severity,
harms, affected groups, dates, causes, mitigations and corrective actions. The reporter (name and
contact), the reporter's own description, evidence links, the assignee, comments and the event log are
never part of it — the description may hold personal data the reporter did not mean to publish.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from pydantic import BaseModel

from assay.incidents.models import PUBLIC_STATUSES, Incident
from assay.incidents.service import list_incidents
from assay.workspace import Workspace

ATOM_NS = "http://www.w3.org/2005/Atom"


class PublicAdvisory(BaseModel):
    """One remediated incident as the public sees it; every field is safe to publish."""

    advisory_id: str
    system: str
    kind: str
    title: str
    status: str
    severity: str | None
    harm_types: list[str]
    affected_groups: list[str]
    occurred: dt.date | None
    reported_on: dt.date
    updated_at: dt.datetime
    causes: str
    mitigations: str
    corrective_actions: list[str]

    @classmethod
    def of(cls, inc: Incident) -> PublicAdvisory:
        assert inc.advisory_id is not None
        return cls(
            advisory_id=inc.advisory_id,
            system=inc.system,
            kind=inc.kind,
            title=inc.title,
            status=inc.status,
            severity=inc.severity,
            harm_types=inc.harm_types,
            affected_groups=inc.affected_groups,
            occurred=inc.occurred,
            reported_on=inc.received_at.date(),
            updated_at=inc.updated_at,
            causes=inc.causes,
            mitigations=inc.mitigations,
            corrective_actions=inc.corrective_actions,
        )

    def summary(self) -> str:
        """Plain text for a feed entry: what was done about it."""
        parts = [f"{self.kind.capitalize()}, {self.status}."]
        if self.severity:
            parts.append(f"Severity: {self.severity}.")
        if self.harm_types:
            parts.append(f"Harms: {', '.join(self.harm_types)}.")
        if self.causes:
            parts.append(f"Causes: {self.causes}")
        if self.mitigations:
            parts.append(f"Mitigations: {self.mitigations}")
        parts += [f"Corrective action: {a}" for a in self.corrective_actions]
        return "\n".join(parts)


def advisories(ws: Workspace, system: str) -> list[PublicAdvisory]:
    """The system's disclosed incidents, most recently updated first."""
    found = [
        PublicAdvisory.of(inc)
        for inc in list_incidents(ws, system=system, status=PUBLIC_STATUSES)
        if inc.advisory_id is not None
    ]
    return sorted(found, key=lambda a: (a.updated_at, a.advisory_id), reverse=True)


def _stamp(when: dt.datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def atom_feed(
    system: str,
    system_name: str,
    items: list[PublicAdvisory],
    *,
    page_url: str,
    feed_url: str,
    since: dt.datetime,
) -> bytes:
    """An Atom 1.0 (RFC 4287) feed of the advisories. Ids are URNs of the advisory ids, so an entry
    keeps its id when the page moves; `updated` is the newest entry's time, else `since` (when the
    system was registered), so the feed changes only when an advisory does."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"urn:assay:advisories:{system}")
    sub(feed, "title", f"Incident advisories: {system_name}")
    sub(feed, "updated", _stamp(max((a.updated_at for a in items), default=since)))
    sub(sub(feed, "author"), "name", f"{system_name} (via Assay)")
    sub(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    for a in items:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:assay:advisory:{a.advisory_id}")
        sub(entry, "title", f"{a.advisory_id}: {a.title}")
        sub(entry, "updated", _stamp(a.updated_at))
        sub(entry, "link", rel="alternate", href=f"{page_url}#{a.advisory_id}", type="text/html")
        sub(entry, "category", term=a.kind)
        sub(entry, "summary", a.summary(), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
