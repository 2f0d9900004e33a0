"""The evidence chain: each system's records in one signed, hash-linked sequence.

A record carries its position (`seq`) and the hash of the record before it (`prev_hash`), and its
signature covers both; so deleting, inserting or reordering a record breaks a link that `verify_chains`
names. Signed checkpoints (length + head hash) are kept every `CHECKPOINT_EVERY` records and at the end
of every assessment and run; the index and run reports print the head they were built at. What this does
and does not prove is in docs/evidence.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel

GENESIS = "0" * 64
"""The `prev_hash` of a chain's first record."""
CHECKPOINT_EVERY = 25
LINK_FIELDS = (
    "id",
    "sha256",
    "kind",
    "system",
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


def chain_key(system: str | None) -> str:
    """A system's chain is named by its slug; evidence with no system forms the chain ""."""
    return system or ""


def _utc_text(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_text(value: dt.datetime) -> str:
    """A timestamp as every hashed chain writes it (UTC, microseconds, `Z`)."""
    return _utc_text(value)


def canonical_bytes(material: Mapping[str, Any]) -> bytes:
    """The one JSON form every chain hashes and signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_sha256(material: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(material)).hexdigest()


def link_hash(fields: Mapping[str, Any]) -> str:
    """The hash the next record carries as `prev_hash`: every field of the record, its signature and
    chain position included, so any change to a record also breaks the link after it."""
    material = {k: fields[k] for k in LINK_FIELDS}
    material["created_at"] = _utc_text(fields["created_at"])
    return canonical_sha256(material)


class ChainHead(BaseModel):
    """Where a chain stood: a third party who holds this can later check that nothing up to it was
    removed or changed (`assay evidence verify --head SYSTEM:LENGTH:HASH`)."""

    chain: str
    length: int
    head_hash: str

    def ref(self) -> str:
        return f"{self.chain}:{self.length}:{self.head_hash}"


def checkpoint_payload(chain: str, length: int, head_hash: str, created_at: dt.datetime) -> bytes:
    """The bytes a checkpoint's signature covers."""
    fields = {
        "type": "assay.evidence.checkpoint",
        "chain": chain,
        "length": length,
        "head_hash": head_hash,
        "created_at": _utc_text(created_at),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


class ChainTx(Protocol):
    """The chain's storage inside one transaction. Two implementations write the same rows:
    `assay.store.evidence_index.SessionChainTx` (SQLAlchemy: PostgreSQL, and SQLite before its schema is
    current) and `assay.store.chain_sqlite.SqliteChainTx` (plain `sqlite3`, which short commands use so
    they need not import SQLAlchemy). `Workspace.chain_transaction` picks one; the chain's rules (what is
    signed, linked and checkpointed) are written once, here and in `assurance.evidence`."""

    def lock_head(self, chain: str, genesis: str) -> dict[str, Any]:
        """The chain's head (created if new), locked until the transaction ends."""
        ...

    def read_head(self, chain: str) -> dict[str, Any] | None: ...

    def add_evidence(self, fields: dict[str, Any]) -> None: ...

    def set_head(self, chain: str, length: int, head_hash: str) -> None: ...

    def add_checkpoint(self, fields: dict[str, Any]) -> None: ...

    def last_checkpoint_length(self, chain: str) -> int | None: ...


def sign_checkpoint(tx: ChainTx, key: Any, chain: str, length: int, head_hash: str) -> None:
    """Add a signed checkpoint for the chain as it stands (inside the appender's transaction)."""
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    tx.add_checkpoint(
        {
            "chain": chain,
            "length": length,
            "head_hash": head_hash,
            "created_at": created,
            "key_id": key.key_id,
            "signature": key.sign(checkpoint_payload(chain, length, head_hash, created)),
        },
    )
