"""The evidence index: rows that point at blobs, the chain heads and the signed checkpoints.
The domain model lives in `assay.assurance`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.store.tables import EvidenceChainRow, EvidenceCheckpointRow, EvidenceRow, utcnow
from assay.store.upsert import insert_ignoring_conflict

COLUMNS = (
    "id",
    "sha256",
    "kind",
    "name",
    "media_type",
    "size",
    "tool",
    "tool_version",
    "created_at",
    "summary",
    "key_id",
    "signature",
    "seq",
    "prev_hash",
    "link_signed",
)
HEAD_COLUMNS = ("chain", "length", "head_hash", "origin", "origin_note", "started_at")
CHECKPOINT_COLUMNS = ("chain", "length", "head_hash", "created_at", "key_id", "signature")


def add_evidence_row(session: Session, fields: dict[str, Any]) -> None:
    row = EvidenceRow(system_slug=fields.get("system"), **{k: fields[k] for k in COLUMNS})
    session.add(row)
    session.flush()


def _as_dict(row: EvidenceRow) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in COLUMNS}
    out["system"] = row.system_slug
    return out


def _chain_filter(chain: str):  # type: ignore[no-untyped-def]
    return EvidenceRow.system_slug.is_(None) if chain == "" else EvidenceRow.system_slug == chain


def query_evidence_rows(
    session: Session, system: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    q = select(EvidenceRow).order_by(EvidenceRow.created_at, EvidenceRow.seq, EvidenceRow.id)
    if system:
        q = q.where(EvidenceRow.system_slug == system)
    if kind:
        q = q.where(EvidenceRow.kind == kind)
    return [_as_dict(r) for r in session.scalars(q.limit(limit))]


def get_evidence_row(session: Session, evidence_id: str) -> dict[str, Any] | None:
    row = session.get(EvidenceRow, evidence_id)
    return _as_dict(row) if row else None


def chain_rows(session: Session, chain: str) -> list[dict[str, Any]]:
    """One chain's records in chain order."""
    q = select(EvidenceRow).where(_chain_filter(chain)).order_by(EvidenceRow.seq, EvidenceRow.id)
    return [_as_dict(r) for r in session.scalars(q)]


def lock_chain_head(session: Session, chain: str, genesis: str) -> dict[str, Any]:
    """The chain's head, created if new, and locked until the transaction ends: concurrent appenders
    to one chain take turns (PostgreSQL: FOR UPDATE; SQLite: the caller's write lock)."""
    insert_ignoring_conflict(
        session,
        EvidenceChainRow,
        {
            "chain": chain,
            "length": 0,
            "head_hash": genesis,
            "origin": "genesis",
            "origin_note": "",
            "started_at": utcnow(),
        },
        ["chain"],
    )
    row = session.scalars(
        select(EvidenceChainRow).where(EvidenceChainRow.chain == chain).with_for_update()
    ).one()
    return {k: getattr(row, k) for k in HEAD_COLUMNS}


def set_chain_head(session: Session, chain: str, length: int, head_hash: str) -> None:
    row = session.get(EvidenceChainRow, chain)
    assert row is not None, "lock_chain_head first"
    row.length, row.head_hash = length, head_hash
    session.flush()


def chain_heads(session: Session, chain: str | None = None) -> list[dict[str, Any]]:
    """Every chain's head (or one), including chains whose head row is missing but which have records."""
    q = select(EvidenceChainRow).order_by(EvidenceChainRow.chain)
    if chain is not None:
        q = q.where(EvidenceChainRow.chain == chain)
    heads = {r.chain: {k: getattr(r, k) for k in HEAD_COLUMNS} for r in session.scalars(q)}
    slugs = select(func.coalesce(EvidenceRow.system_slug, "")).distinct()
    if chain is not None:
        slugs = slugs.where(_chain_filter(chain))
    for (slug,) in session.execute(slugs):
        if slug not in heads:
            heads[slug] = None  # type: ignore[assignment]
    return [{"chain": k, "head": v} for k, v in sorted(heads.items())]


def add_checkpoint_row(session: Session, fields: dict[str, Any]) -> None:
    session.add(EvidenceCheckpointRow(**{k: fields[k] for k in CHECKPOINT_COLUMNS}))
    session.flush()


def checkpoint_rows(session: Session, chain: str) -> list[dict[str, Any]]:
    q = (
        select(EvidenceCheckpointRow)
        .where(EvidenceCheckpointRow.chain == chain)
        .order_by(EvidenceCheckpointRow.length, EvidenceCheckpointRow.id)
    )
    out = []
    for r in session.scalars(q):
        d = {k: getattr(r, k) for k in CHECKPOINT_COLUMNS}
        if d["created_at"].tzinfo is None:
            d["created_at"] = d["created_at"].replace(tzinfo=dt.UTC)
        out.append(d)
    return out


def newest_by_kind(session: Session, system: str) -> dict[str, dict[str, Any]]:
    """The newest record of each evidence kind of one system (highest chain position)."""
    last = (
        select(EvidenceRow.kind, func.max(EvidenceRow.seq).label("seq"))
        .where(EvidenceRow.system_slug == system)
        .group_by(EvidenceRow.kind)
        .subquery()
    )
    q = (
        select(EvidenceRow)
        .join(last, (EvidenceRow.kind == last.c.kind) & (EvidenceRow.seq == last.c.seq))
        .where(EvidenceRow.system_slug == system)
    )
    return {r.kind: _as_dict(r) for r in session.scalars(q)}


class SessionChainTx:
    """The chain operations on a SQLAlchemy session (PostgreSQL, and SQLite when the plain-`sqlite3`
    path in `chain_sqlite` does not apply); the two classes are interchangeable."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_head(self, chain: str, genesis: str) -> dict[str, Any]:
        return lock_chain_head(self.session, chain, genesis)

    def read_head(self, chain: str) -> dict[str, Any] | None:
        (entry,) = chain_heads(self.session, chain) or [{"head": None}]
        return entry["head"]

    def add_evidence(self, fields: dict[str, Any]) -> None:
        add_evidence_row(self.session, fields)

    def set_head(self, chain: str, length: int, head_hash: str) -> None:
        set_chain_head(self.session, chain, length, head_hash)

    def add_checkpoint(self, fields: dict[str, Any]) -> None:
        add_checkpoint_row(self.session, fields)

    def last_checkpoint_length(self, chain: str) -> int | None:
        cps = checkpoint_rows(self.session, chain)
        return cps[-1]["length"] if cps else None
