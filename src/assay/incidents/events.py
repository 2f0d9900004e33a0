"""An incident's event log: every change is an entry that carries its position, the hash of the entry
before it, the hash of the record after the change, and the workspace key's signature.

The hashing and canonical form are the evidence chain's (`assay.assurance.chain`), so both chains are
checked the same way. What the log proves: nothing in it was edited, removed, reordered or inserted
without the workspace key, and the record as stored is the one the last entry describes. What it does
not prove: that a holder of the key did not rewrite the whole log (docs/incidents.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.orm import Session

from assay.assurance.chain import GENESIS, canonical_bytes, canonical_sha256, utc_text
from assay.assurance.keys import verify_signature
from assay.incidents.models import ChainAudit, Incident, IncidentEvent
from assay.store import incidents as rows

HASHED = ("incident_id", "seq", "kind", "actor", "at", "data", "record_sha256", "prev_hash")


def record_sha256(incident: Incident) -> str:
    return canonical_sha256(incident.public())


def _material(fields: dict[str, Any]) -> dict[str, Any]:
    material = {k: fields[k] for k in HASHED}
    material["at"] = utc_text(fields["at"])
    return material


def event_hash(fields: dict[str, Any]) -> str:
    return canonical_sha256(_material(fields))


def signed_event(
    key: Any,
    incident: Incident,
    kind: str,
    actor: str,
    data: dict[str, Any],
    at: dt.datetime,
    seq: int,
    prev_hash: str,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored fields of one entry: its hash over the canonical material and the key's signature
    over the same bytes. `record`: `incident.public()` when the caller has it already."""
    fields: dict[str, Any] = {
        "incident_id": incident.id,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "at": at,
        "data": data,
        "record_sha256": canonical_sha256(record if record is not None else incident.public()),
        "prev_hash": prev_hash or GENESIS,
    }
    material = canonical_bytes(_material(fields))
    fields["hash"] = hashlib.sha256(material).hexdigest()  # = event_hash(fields)
    fields["key_id"] = key.key_id
    fields["signature"] = key.sign(material)
    return fields


def append_event(
    session: Session,
    key: Any,
    row: Any,
    incident: Incident,
    kind: str,
    actor: str,
    data: dict[str, Any],
    at: dt.datetime,
) -> IncidentEvent:
    """Append one signed entry and store the record it describes, in the caller's transaction (the
    incident row is locked by then, so two writers never fork the log)."""
    seq = row.event_count + 1
    incident.event_count = seq
    fields = signed_event(key, incident, kind, actor, data, at, seq, row.head_hash)
    rows.add_event_row(session, fields)
    incident.head_hash = fields["hash"]
    rows.update_incident(session, row, incident.public(), (seq, fields["hash"]))
    return IncidentEvent.model_validate(fields)


def _label(r: dict[str, Any]) -> str:
    return f"event #{r['seq']} ({r['kind']} by {r['actor']})"


def check_chain(
    incident_id: str,
    events: list[dict[str, Any]],
    key: Any,
    head: tuple[int, str] | None,
    current_record_sha256: str | None,
) -> ChainAudit:
    """Walk the log from #1 and stop at the first entry that is missing, repeated, altered, not signed
    by this workspace's key, or not linked to the one before; then check the head the record holds and
    that the record is the one the last entry describes. `head` is None when the record is missing."""

    def broken(seq: int | None, text: str) -> ChainAudit:
        return ChainAudit(incident_id=incident_id, events=len(events), ok=False, problem=text, break_seq=seq)

    prev_hash, expected = GENESIS, 1
    for r in events:
        if r["incident_id"] != incident_id:
            return broken(r["seq"], f"{_label(r)} belongs to {r['incident_id']}")
        if r["seq"] != expected:
            if r["seq"] > expected:
                gap = f"#{expected}" if r["seq"] == expected + 1 else f"#{expected}–#{r['seq'] - 1}"
                after = f"#{expected - 1}" if expected > 1 else "the start"
                return broken(expected, f"event {gap} removed: {after} is followed by {_label(r)}")
            return broken(r["seq"], f"{_label(r)} repeats position #{r['seq']}: an event was inserted")
        if event_hash(r) != r["hash"]:
            return broken(r["seq"], f"{_label(r)} was edited: its content no longer matches its hash")
        if r["key_id"] != key.key_id or not verify_signature(
            key.public, canonical_bytes(_material(r)), r["signature"]
        ):
            return broken(
                r["seq"],
                f"{_label(r)} is not validly signed by this workspace's key {key.key_id}: "
                "it was inserted or altered outside Assay",
            )
        if r["prev_hash"] != prev_hash:
            before = f"event #{expected - 1}" if expected > 1 else "the start of the log"
            return broken(
                r["seq"], f"{_label(r)} does not follow {before}: events were reordered or replaced"
            )
        prev_hash, expected = r["hash"], expected + 1
    if head is None:
        return broken(None, f"the record of {incident_id} was deleted; {len(events)} event(s) remain")
    length, head_hash = head
    if length > len(events):
        last = f"#{len(events)}" if events else "none"
        return broken(
            len(events) + 1,
            f"event(s) #{len(events) + 1}–#{length} removed from the end (the record says {length}, "
            f"the log ends at {last})",
        )
    if length < len(events) or head_hash != prev_hash:
        return broken(
            length + 1 if length < len(events) else length,
            f"the record's chain head ({length} events) does not match the log ({len(events)} events): "
            "events were appended or the head was altered outside Assay",
        )
    if events and current_record_sha256 != events[-1]["record_sha256"]:
        return broken(
            events[-1]["seq"],
            f"the stored record was edited after {_label(events[-1])}: it no longer matches the hash that "
            "event signed",
        )
    return ChainAudit(incident_id=incident_id, events=len(events), ok=True)


def to_event(fields: dict[str, Any]) -> IncidentEvent:
    return IncidentEvent.model_validate(fields)
