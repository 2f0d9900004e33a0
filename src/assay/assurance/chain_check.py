"""Checking evidence chains: every link, every signature on the way, the head and the checkpoints.

Kept apart from `chain` (the format) and `evidence` (single records) because it needs both."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from assay.assurance.chain import (
    GENESIS,
    ChainHead,
    chain_key,
    checkpoint_payload,
    link_hash,
    sign_checkpoint,
)
from assay.assurance.keys import verify_signature
from assay.workspace import Workspace


class ChainCheck(BaseModel):
    """One chain's verdict. `problems[0]` is the first break when the links are broken."""

    chain: str
    records: int
    intact: int
    head: ChainHead | None = None
    origin: str = "genesis"
    origin_note: str = ""
    checkpoints: int = 0
    last_checkpoint_length: int | None = None
    last_checkpoint_at: dt.datetime | None = None
    break_seq: int | None = None
    break_evidence_id: str | None = None
    ok: bool
    problems: list[str] = []


def _describe(r: dict[str, Any]) -> str:
    return f"#{r['seq']} ({r['id']} {r['kind']} {r['name']})".replace(" )", ")")


def _first_break(
    ws: Workspace, rows: list[dict[str, Any]], origin: str
) -> tuple[str | None, dict | None, dict[int, str]]:  # type: ignore[type-arg]
    """Walk the chain from #1; stop at the first record that is missing, out of place, not validly signed
    or not linked to the one before. Returns the break (or None), its record and the intact hashes."""
    from assay.assurance.evidence import _to_model

    key = ws.signing_key
    hashes: dict[int, str] = {}
    prev_hash, prev, expected, signed_seen = GENESIS, None, 1, False
    for r in rows:
        if r["seq"] != expected:
            if r["seq"] > expected:
                gap = f"#{expected}" if r["seq"] == expected + 1 else f"#{expected}–#{r['seq'] - 1}"
                after = f"#{expected - 1}" if prev else "the start"
                return f"record {gap} missing: {after} is followed by {_describe(r)}", r, hashes
            return f"{_describe(r)} repeats position #{r['seq']}", r, hashes
        ev = _to_model(dict(r))
        if ev.key_id != key.key_id or not verify_signature(key.public, ev.signed_payload(), ev.signature):
            return (
                f"{_describe(r)} is not validly signed by this workspace's key {key.key_id}: "
                "it was inserted, moved or altered outside Assay",
                r,
                hashes,
            )
        if ev.link_signed:
            signed_seen = True
        elif signed_seen or origin != "migration":
            return (
                f"{_describe(r)} claims to predate the chain, but the chain did not start by migration",
                r,
                hashes,
            )
        if r["prev_hash"] != prev_hash:
            what = (
                f"#{expected - 1}, which hashes to {prev_hash}"
                if prev
                else f"the chain start ({GENESIS[:8]}…)"
            )
            return f"{_describe(r)} does not follow {what}: it names {r['prev_hash'] or 'nothing'}", r, hashes
        prev_hash = link_hash(r)
        hashes[expected] = prev_hash
        prev, expected = r, expected + 1
    return None, None, hashes


def check_chain(ws: Workspace, chain: str, expect: list[ChainHead] | None = None) -> ChainCheck:
    from assay.store.evidence_index import chain_heads, chain_rows, checkpoint_rows

    with ws.db.session() as s:
        rows = chain_rows(s, chain)
        (entry,) = chain_heads(s, chain) or [{"head": None}]
        cps = checkpoint_rows(s, chain)
    head = entry["head"]
    origin = head["origin"] if head else "genesis"
    problems: list[str] = []
    brk, brk_row, hashes = _first_break(ws, rows, origin)
    intact = len(hashes)
    if brk:
        problems.append(brk)
    if head is None and rows:
        problems.append("the chain's head row is missing (deleted outside Assay?)")
    elif head is not None and not brk:
        if head["length"] > intact:
            problems.append(
                f"the chain head says {head['length']} records but only {intact} are present: "
                f"#{intact + 1}–#{head['length']} were removed from the end"
            )
        elif head["length"] < intact:
            problems.append(f"records after #{head['length']} were added without moving the chain head")
        elif intact and hashes[intact] != head["head_hash"]:
            problems.append(f"the chain head's hash does not match record #{intact}")
    key = ws.signing_key
    for cp in cps:
        when = f"{cp['created_at']:%Y-%m-%d %H:%M} UTC"
        payload = checkpoint_payload(chain, cp["length"], cp["head_hash"], cp["created_at"])
        if cp["key_id"] != key.key_id or not verify_signature(key.public, payload, cp["signature"]):
            problems.append(
                f"the checkpoint at #{cp['length']} ({when}) is not validly signed by key {key.key_id}"
            )
        elif cp["length"] > intact:
            problems.append(
                f"the signed checkpoint of {when} covers {cp['length']} records, "
                f"but only #1–#{intact} are present and intact"
            )
        elif hashes.get(cp["length"]) != cp["head_hash"]:
            problems.append(
                f"record #{cp['length']} no longer hashes to what the checkpoint of {when} signed"
            )
    for h in expect or []:
        if h.length == 0 and h.head_hash == GENESIS:
            continue  # a head taken before anything was recorded holds nothing to check
        if h.length > intact:
            problems.append(
                f"the head you hold (#{h.length}) is past the intact chain (#{intact}): records were removed"
            )
        elif hashes.get(h.length) != h.head_hash:
            problems.append(f"record #{h.length} does not hash to the head you hold: the chain was rewritten")
    valid_cps = [c for c in cps if c["length"] <= intact and hashes.get(c["length"]) == c["head_hash"]]
    return ChainCheck(
        chain=chain,
        records=len(rows),
        intact=intact,
        head=ChainHead(chain=chain, length=intact, head_hash=hashes[intact]) if intact else None,
        origin=origin,
        origin_note=head["origin_note"] if head else "",
        checkpoints=len(cps),
        last_checkpoint_length=valid_cps[-1]["length"] if valid_cps else None,
        last_checkpoint_at=valid_cps[-1]["created_at"] if valid_cps else None,
        break_seq=intact + 1 if brk else None,
        break_evidence_id=brk_row["id"] if brk_row else None,
        ok=not problems,
        problems=problems,
    )


def verify_chains(
    ws: Workspace, system: str | None = None, expect: list[ChainHead] | None = None
) -> list[ChainCheck]:
    """Check every chain (or one system's); `expect` are heads a third party holds from earlier reports."""
    from assay.store.evidence_index import chain_heads

    with ws.db.session() as s:
        names = [e["chain"] for e in chain_heads(s, chain_key(system) if system else None)]
    for h in expect or []:
        if h.chain not in names and (system is None or h.chain == chain_key(system)):
            names.append(h.chain)
    return [check_chain(ws, n, [h for h in expect or [] if h.chain == n]) for n in names]


def current_head(ws: Workspace, system: str | None) -> ChainHead:
    """The chain head as stored now, for an index or report to print (length 0 for an empty chain)."""
    chain = chain_key(system)
    with ws.chain_transaction(write=False) as tx:
        head = tx.read_head(chain)
    if head is None:
        return ChainHead(chain=chain, length=0, head_hash=GENESIS)
    return ChainHead(chain=chain, length=head["length"], head_hash=head["head_hash"])


def checkpoint(ws: Workspace, system: str | None) -> ChainHead:
    """Sign a checkpoint of the chain as it stands now (skipped if the newest already covers it)."""
    chain = chain_key(system)
    key = ws.signing_key
    with ws.chain_transaction() as tx:
        head = tx.lock_head(chain, GENESIS)
        if head["length"] and tx.last_checkpoint_length(chain) != head["length"]:
            sign_checkpoint(tx, key, chain, head["length"], head["head_hash"])
    return ChainHead(chain=chain, length=head["length"], head_hash=head["head_hash"])
