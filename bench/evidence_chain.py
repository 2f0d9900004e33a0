"""What the evidence chain costs: recording evidence with the chain (lock, link, head update, periodic
checkpoint) against the same signed insert without it, and `verify` of a whole chain.

    .venv/bin/python bench/evidence_chain.py [--records 300] [--rounds 3] [--url postgresql://…]

Both variants run in the same process on the same database, interleaved round by round; the ratio is
chained ÷ plain (median round). SQLite in a temporary folder unless --url names another database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path


def plain_insert(ws, i: int) -> None:  # type: ignore[no-untyped-def]
    """The record as it was stored before the chain: blob, signature, one row in a plain transaction."""
    from assay.assurance.evidence import Evidence
    from assay.store.evidence_index import add_evidence_row

    content = f"plain {i} {uuid.uuid4()}".encode()
    ev = Evidence(
        id=str(uuid.uuid4()),
        sha256=ws.blobs.put(content),
        kind="manifest",
        system="bench-plain",
        name=f"{i}.txt",
        size=len(content),
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        seq=i,
        link_signed=False,
    )
    ev.key_id = ws.signing_key.key_id
    ev.signature = ws.signing_key.sign(ev.signed_payload())
    with ws.db.session() as s:
        add_evidence_row(s, ev.model_dump())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default=None)
    args = ap.parse_args()

    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import record_evidence
    from assay.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / ".assay", args.url or f"sqlite:///{tmp}/bench.db")
        ws.signing_key, ws.db  # noqa: B018 - key and schema before timing
        plain, chained, n = [], [], 0
        for _ in range(args.rounds):
            t = time.perf_counter()
            for _ in range(args.records):
                n += 1
                plain_insert(ws, n)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            for i in range(args.records):
                record_evidence(
                    ws,
                    f"chained {n} {i} {uuid.uuid4()}".encode(),
                    kind="manifest",
                    system="bench-chain",
                    name=f"{i}.txt",
                )
            chained.append(time.perf_counter() - t)
        t = time.perf_counter()
        (check,) = verify_chains(ws, system="bench-chain")
        verify_s = time.perf_counter() - t
        assert check.ok, check.problems
        p, c = statistics.median(plain), statistics.median(chained)
        print(f"database: {ws.db.backend}; {args.records} records a round, {args.rounds} rounds (median)")
        print(f"{'variant':<34}{'ms/record':>10}{'× plain':>9}")
        print(f"{'plain signed insert (baseline)':<34}{1000 * p / args.records:>10.2f}{1.0:>9.2f}")
        print(f"{'chained append':<34}{1000 * c / args.records:>10.2f}{c / p:>9.2f}")
        print(
            f"verify_chains over {check.intact} records: {verify_s:.2f} s "
            f"({1000 * verify_s / check.intact:.2f} ms/record)"
        )
        ws.close()


if __name__ == "__main__":
    main()
