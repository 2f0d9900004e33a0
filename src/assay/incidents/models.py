"""The incident record, its workflow states and its events.

The fields cover what the AI Incident Database, AVID and EU AI Act Art. 3(49) ask for. The reporter's
contact is deliberately absent: it lives in its own table and is never part of the public record.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assay.incidents.policy import Kind, Severity, harm_vocabulary
from assay.manifest.schema import IsoDate, VisibleText

Status = Literal[
    "received", "triaged", "investigating", "mitigated", "resolved", "closed", "duplicate", "rejected"
]
STATUSES: tuple[str, ...] = (
    "received",
    "triaged",
    "investigating",
    "mitigated",
    "resolved",
    "closed",
    "duplicate",
    "rejected",
)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("triaged", "duplicate", "rejected"),
    "triaged": ("investigating", "mitigated", "resolved", "duplicate", "rejected"),
    "investigating": ("mitigated", "resolved", "duplicate", "rejected"),
    "mitigated": ("investigating", "resolved"),
    "resolved": ("closed", "investigating"),
    "closed": (),
    "duplicate": (),
    "rejected": (),
}
"""Allowed next states. A resolved incident can be reopened; closed, duplicate and rejected are final."""
OPEN_STATUSES = ("received", "triaged", "investigating", "mitigated")
PUBLIC_STATUSES = ("mitigated", "resolved", "closed")
"""Remediated: the states in which an incident is disclosed on the system's public page and feed."""
ID_PATTERN = re.compile(r"^AS-[A-Z0-9][A-Z0-9._-]*-[0-9]{4}-[0-9]{4,}$")
MAX_TEXT = 20_000
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, what: str, max_length: int = MAX_TEXT, *, required: bool = True) -> str:
    """Free text a person typed: stripped, within its length, without control characters (a NUL cannot
    even be stored in PostgreSQL). Raises ValueError naming `what`."""
    value = value.strip()
    if required and not value:
        raise ValueError(f"{what} is empty")
    if len(value) > max_length:
        raise ValueError(f"{what} is {len(value):,} characters; at most {max_length:,}")
    if m := _CONTROL.search(value):
        raise ValueError(f"{what} holds the control character U+{ord(m.group()):04X}")
    return value


def _no_controls(value: Any, where: str) -> None:
    if (bad := _first_control(value)) is not None:
        path, char = bad
        raise ValueError(f"{where}{path} holds the control character U+{ord(char):04X}")


def _first_control(value: Any) -> tuple[str, str] | None:
    """(where inside `value`, the character) of the first control character; the path is only built
    for a value that has one (every report passes through here several times)."""
    if isinstance(value, str):
        m = _CONTROL.search(value)
        return ("", m.group()) if m else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (bad := _first_control(item)) is not None:
                return f"[{i}]{bad[0]}", bad[1]
    elif isinstance(value, dict):
        for k, item in value.items():
            if (bad := _first_control(k)) is not None:
                return "", bad[1]
            if (bad := _first_control(item)) is not None:
                return f".{k}{bad[0]}", bad[1]
    return None


def incident_id(system: str, year: int, number: int) -> str:
    """`AS-{SYSTEM}-{YYYY}-{NNNN}`: numbered per system and year, stable for the incident's life."""
    return f"AS-{system.upper()}-{year:04d}-{number:04d}"


def advisory_id(system: str, year: int, number: int) -> str:
    """`ASSAY-{SYSTEM}-{YYYY}-{NNNN}`: the public name of a remediated incident, numbered per system and
    year in the order incidents became public (so it reveals nothing of how many were reported)."""
    return f"ASSAY-{system.upper()}-{year:04d}-{number:04d}"


def normalise_id(text: str) -> str:
    return text.strip().upper()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Typed(_Strict):
    """Input a person typed: no control characters in any text field (tabs and newlines are fine)."""

    @model_validator(mode="after")
    def _controls(self) -> _Typed:
        for name, value in self.__dict__.items():  # the fields' values (nested models check themselves)
            if not isinstance(value, BaseModel):
                _no_controls(value, name)
        return self


class EvidenceLink(_Typed):
    """An evidence record id (uuid) or a blob's SHA-256 in this workspace; checked on the way in."""

    ref: str = Field(pattern=r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{64})$")
    note: str = Field("", max_length=500)


class Reporter(_Typed):
    """Who reported. `name` may appear in the record ("credit"); the contact never does."""

    name: str = Field("", max_length=200)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    other_contact: str = Field("", max_length=500)


class IncidentReport(_Typed):
    """What a reporter submits (CLI flags, `--file report.json`, later the form and the API)."""

    system: str = Field(min_length=1, max_length=64)
    component: str | None = Field(None, max_length=64)
    kind: Kind = "incident"
    title: VisibleText(1, 300)  # type: ignore[valid-type]
    description: VisibleText(1, MAX_TEXT)  # type: ignore[valid-type]
    occurred: IsoDate | None = None
    detected: IsoDate | None = None
    became_aware: IsoDate | None = Field(None, description="the deadline clock starts here (default: today)")
    harm_types: list[str] = Field(default_factory=list, max_length=20)
    affected_groups: list[str] = Field(default_factory=list, max_length=50)
    severity: Severity | None = None
    critical_infrastructure: bool = False
    death: bool = False
    widespread: bool = False
    evidence: list[EvidenceLink] = Field(default_factory=list, max_length=100)
    causes: str = Field("", max_length=MAX_TEXT)
    mitigations: str = Field("", max_length=MAX_TEXT)
    reward_tier: str | None = Field(None, max_length=40, description="vulnerabilities only")
    reporter: Reporter = Field(default_factory=Reporter)
    source: str = Field("cli", max_length=40, description="cli, file, import:aiid, api, form …")
    external_ids: dict[str, str] = Field(default_factory=dict, description="e.g. {'aiid': '23'}")

    @field_validator("harm_types")
    @classmethod
    def _known_harms(cls, values: list[str]) -> list[str]:
        vocab = harm_vocabulary()
        unknown = [v for v in values if v not in vocab]
        if unknown:
            raise ValueError(f"unknown harm type(s) {', '.join(unknown)}; known: {', '.join(vocab)}")
        return list(dict.fromkeys(values))

    @field_validator("affected_groups")
    @classmethod
    def _groups(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > 200 for v in cleaned):
            raise ValueError("an affected group is at most 200 characters")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _consistent(self) -> IncidentReport:
        if self.death and "death" not in self.harm_types:
            self.harm_types.append("death")
        if "death" in self.harm_types:
            self.death = True
        if "critical-infrastructure" in self.harm_types:
            self.critical_infrastructure = True
        if self.reward_tier is not None and self.kind != "vulnerability":
            raise ValueError("reward_tier is for vulnerability reports only")
        dates = [(n, getattr(self, n)) for n in ("occurred", "detected", "became_aware")]
        known = [(n, d) for n, d in dates if d is not None]
        for (n1, d1), (n2, d2) in zip(known, known[1:], strict=False):
            if d2 < d1:
                raise ValueError(f"{n2} ({d2}) is before {n1} ({d1})")
        return self


class Incident(_Strict):
    """The public record. Everything here may be exported; the reporter's contact is not here."""

    id: str
    system: str
    component: str | None = None
    kind: Kind
    title: str
    description: str
    status: Status = "received"
    occurred: dt.date | None = None
    detected: dt.date | None = None
    became_aware: dt.date
    received_at: dt.datetime
    updated_at: dt.datetime
    harm_types: list[str] = Field(default_factory=list)
    affected_groups: list[str] = Field(default_factory=list)
    severity: Severity | None = None
    critical_infrastructure: bool = False
    death: bool = False
    widespread: bool = False
    severe: bool = False
    rule_id: str | None = None
    rule_cite: str = ""
    deadline: dt.date | None = None
    initial_report_allowed: bool = False
    policy_id: str
    policy_version: str
    policy_by_default: bool = Field(
        False, description="no pack gave an incidents section: the EU set applied"
    )
    authority_reported_at: dt.date | None = None
    authority_report_initial: bool = False
    authority_reference: str = ""
    evidence: list[EvidenceLink] = Field(default_factory=list)
    causes: str = ""
    mitigations: str = ""
    corrective_actions: list[str] = Field(default_factory=list)
    assignee: str | None = None
    duplicate_of: str | None = None
    reporter_name: str = ""
    reward_tier: str | None = None
    disclosure_date: dt.date | None = Field(None, description="coordinated-disclosure date (vulnerabilities)")
    near_duplicate_of: str | None = None
    near_duplicate_similarity: float | None = None
    source: str = "cli"
    external_ids: dict[str, str] = Field(default_factory=dict)
    advisory_id: str | None = Field(
        None, description="given once, when the incident first became public (mitigated or later)"
    )
    event_count: int = 0
    head_hash: str = ""

    @field_validator("received_at", "updated_at")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    def public(self) -> dict[str, Any]:
        """The record's content as hashed into its events (chain bookkeeping excluded)."""
        exclude = {"event_count", "head_hash", "updated_at"}
        if self.advisory_id is None:  # records made before advisories existed hash as they did
            exclude.add("advisory_id")
        return self.model_dump(mode="json", exclude=exclude)


EventKind = Literal["reported", "triaged", "moved", "assigned", "commented", "filed", "attached", "reminded"]


class IncidentEvent(_Strict):
    """One entry of an incident's append-only log: signed, and linked to the entry before it."""

    incident_id: str
    seq: int
    kind: EventKind
    actor: str
    at: dt.datetime
    data: dict[str, Any] = Field(default_factory=dict)
    record_sha256: str = Field(description="hash of the public record after this change")
    prev_hash: str
    hash: str
    key_id: str
    signature: str

    @field_validator("at")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class DueItem(BaseModel):
    incident_id: str
    system: str
    title: str
    status: str
    rule_id: str | None
    deadline: dt.date
    days_left: int
    state: Literal["overdue", "due_soon"]
    initial_report_allowed: bool


class ChainAudit(BaseModel):
    """One incident's verdict; `problem` names the first broken link."""

    incident_id: str
    events: int
    ok: bool
    problem: str = ""
    break_seq: int | None = None
