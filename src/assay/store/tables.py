"""SQLAlchemy 2.0 tables. The domain speaks pydantic; only `store/` speaks SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: DateTime(timezone=True)}


class SystemRow(Base):
    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(100))
    model_type: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str] = mapped_column(String(200), default="")
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parties: Mapped[list[PartyRow]] = relationship(
        back_populates="system", cascade="all, delete-orphan", order_by="PartyRow.id"
    )
    components: Mapped[list[ComponentRow]] = relationship(
        back_populates="system", cascade="all, delete-orphan", order_by="ComponentRow.id"
    )
    holdings: Mapped[list[ControlHoldingRow]] = relationship(
        back_populates="system", cascade="all, delete-orphan", order_by="ControlHoldingRow.id"
    )
    overrides: Mapped[list[AllocationOverrideRow]] = relationship(
        back_populates="system", cascade="all, delete-orphan", order_by="AllocationOverrideRow.id"
    )


class PartyRow(Base):
    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("system_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    system: Mapped[SystemRow] = relationship(back_populates="parties")


class ComponentRow(Base):
    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("system_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    system: Mapped[SystemRow] = relationship(back_populates="components")


class ControlHoldingRow(Base):
    __tablename__ = "control_holdings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    system: Mapped[SystemRow] = relationship(back_populates="holdings")


class AllocationOverrideRow(Base):
    """An override of a derived allocation, with the rationale a person wrote for it."""

    __tablename__ = "allocation_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    risk_area: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # "manifest" or "api"
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    system: Mapped[SystemRow] = relationship(back_populates="overrides")


class EvidenceRow(Base):
    """One evidence record. `seq` and `prev_hash` place it in its system's chain; `link_signed` says the
    signature covers them (false only for records that existed before the chain and were linked by the
    migration)."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("system_slug", "seq", name="uq_evidence_chain_seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    system_slug: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    tool: Mapped[str] = mapped_column(String(100))
    tool_version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    link_signed: Mapped[bool] = mapped_column(Boolean)


class EvidenceChainRow(Base):
    """The head of one evidence chain (a system's, or "" for evidence with no system): its length and
    the hash of its last record. Appenders lock this row, so a chain never forks."""

    __tablename__ = "evidence_chains"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))  # "genesis" or "migration"
    origin_note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvidenceCheckpointRow(Base):
    """A signed statement "chain C had N records, the last hashing to H, at time T"."""

    __tablename__ = "evidence_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(64), index=True)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column()
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    systems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The systems an authority token supervises (empty for the other roles)."""


class LedgerEntryRow(Base):
    """One marked output: its hashes, its fuzzy fingerprint and how it was marked.

    The integer id is what an image watermark carries, so it stays small and never reused."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), default="recorded")  # "reserved" until the bytes exist
    kind: Mapped[str] = mapped_column(String(16))  # "text" or "image"
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True, default="")
    norm_sha256: Mapped[str] = mapped_column(String(64), index=True, default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint_kind: Mapped[str] = mapped_column(String(32), default="")
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    system: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    system_version: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    method: Mapped[str] = mapped_column(String(100), default="")
    key_id: Mapped[str] = mapped_column(String(100), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LedgerBandRow(Base):
    """Locality-sensitive hash bands of a fingerprint: similar content shares at least one band."""

    __tablename__ = "ledger_bands"
    __table_args__ = (Index("ix_ledger_bands_lookup", "kind", "band", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    band: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)


class AssessmentRow(Base):
    """One run of `assay assess`: started, the steps done with their outputs, completed or not."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    system_slug: Mapped[str] = mapped_column(String(64), index=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    out_dir: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    resumed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    index_evidence_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class OutboxRow(Base):
    """A notification waiting to be delivered (transactional outbox).

    The row is written in the same transaction as the change it announces, so a crash can neither lose
    it nor send it for a change that was rolled back; a worker delivers it later, with retries."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(Text)
    secret_env: Mapped[str] = mapped_column(String(128), default="")
    topic: Mapped[str] = mapped_column(String(120), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(120), default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class IncidentRow(Base):
    """One incident or vulnerability report. `record` is the public record as the domain wrote it; the
    other columns index it. `event_count`/`head_hash` are the head of its event chain, locked by appenders."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("system_slug", "year", "number", name="uq_incidents_number"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    system_slug: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    severe: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IncidentEventRow(Base):
    """One entry of an incident's append-only, hash-linked and signed event log."""

    __tablename__ = "incident_events"
    __table_args__ = (UniqueConstraint("incident_id", "seq", name="uq_incident_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(100), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    record_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class IncidentReporterRow(Base):
    """The reporter's contact, kept apart from the public record and never exported."""

    __tablename__ = "incident_reporters"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    other_contact: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IncidentCounterRow(Base):
    """The last number given to a system's incidents in a year: numbers are never reused, and a gap
    below it means an incident was deleted."""

    __tablename__ = "incident_counters"

    system_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class IncidentBandRow(Base):
    """LSH bands of a vulnerability report's MinHash: near-duplicates share a band."""

    __tablename__ = "incident_bands"
    __table_args__ = (Index("ix_incident_bands_lookup", "band", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    band: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)


class IncidentIdempotencyRow(Base):
    """An `Idempotency-Key` the intake has seen: a retry with the same key and body gets the same
    incident; a different body under a used key is refused. Written in the report's transaction."""

    __tablename__ = "incident_idempotency"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RunIndexRow(Base):
    """One evaluation or red-team run, indexed for the dashboard. The run's own folder (spec, summary,
    JSONL log) stays the record; this row and its samples are a copy the dashboard can page through."""

    __tablename__ = "run_index"
    __table_args__ = (Index("ix_run_index_system_started", "system_slug", "started_at"),)

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    system_slug: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # "eval" or "redteam"
    suite_id: Mapped[str] = mapped_column(String(200))
    suite_title: Mapped[str] = mapped_column(String(300), default="")
    target_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    samples: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    indexed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RunSampleRow(Base):
    """One line of a run's log: the prompt, the answer, and the primary scorer's score and reason.
    `(run_id, seq)` is the key, so a page of samples is one range read of it (keyset pagination)."""

    __tablename__ = "run_samples"

    run_id: Mapped[str] = mapped_column(ForeignKey("run_index.run_id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    scorer: Mapped[str] = mapped_column(String(100), default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    why: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[list[Any]] = mapped_column(JSON, default=list)


class IncidentAdvisoryRow(Base):
    """The advisory id an incident got when it first became public; never deleted, never reused, so an
    incident that is reopened and remediated again keeps its id."""

    __tablename__ = "incident_advisories"
    __table_args__ = (UniqueConstraint("system_slug", "year", "number"),)

    advisory_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(100), unique=True)
    system_slug: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IncidentAdvisoryCounterRow(Base):
    """The last advisory number issued per system and year (locked while the next is taken)."""

    __tablename__ = "incident_advisory_counters"

    system_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class IncidentAttachmentRow(Base):
    """A file attached to a report: the bytes live in the blob store under `sha256`; this row links them
    to the incident with the media type found by sniffing the content (never the client's claim)."""

    __tablename__ = "incident_attachments"
    __table_args__ = (UniqueConstraint("incident_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
