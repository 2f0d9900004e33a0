"""What accepting an incident report costs in the domain layer, before any HTTP: `incidents.service.report`
(reference checks against the registry, policy evaluation, numbering under a lock, the signed first event;
for a vulnerability also the MinHash fingerprint and the near-duplicate lookup) against recording one piece
of evidence (`record_evidence`: blob, signature, chained append), the nearest existing signed write. Also
what `audit` costs per event.

    .venv/bin/python bench/incidents_intake.py [--reports 200] [--rounds 3] [--url postgresql://…]

All variants run in one process on one database, interleaved round by round; ratios are against the
evidence append (median round). SQLite in a temporary folder unless --url names another database.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default=None)
    args = ap.parse_args()

    from assay.assurance.evidence import record_evidence
    from assay.incidents import service as svc
    from assay.incidents.models import IncidentReport
    from assay.manifest import load_manifest
    from assay.registry.service import register_system
    from assay.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / ".assay", args.url or f"sqlite:///{tmp}/bench.db")
        register_system(ws, load_manifest(REPO / "examples" / "helpdesk" / "assay.yaml"))
        ws.signing_key  # noqa: B018 - the key exists before timing
        words = [
            "the",
            "assistant",
            "quoted",
            "a",
            "refund",
            "for",
            "the",
            "outage",
            "that",
            "was",
            "a",
            "hundred",
            "times",
            "too",
            "high",
        ]

        def incident(i: int) -> None:
            text = " ".join(words[(i + k) % len(words)] for k in range(60)) + f" #{i}"
            svc.report(ws, IncidentReport(system="helpdesk", title=f"report {i}", description=text))

        def vulnerability(i: int) -> None:
            text = " ".join(words[(i * 7 + k) % len(words)] for k in range(60)) + f" #{i}"
            svc.report(
                ws, IncidentReport(system="helpdesk", kind="vulnerability", title=f"v {i}", description=text)
            )

        def evidence(i: int) -> None:
            record_evidence(ws, f"bench {i}".encode(), kind="manifest", system="helpdesk", name=f"{i}.txt")

        variants = {
            "evidence append (baseline)": evidence,
            "incident report": incident,
            "vulnerability report": vulnerability,
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        n = 0
        for _ in range(args.rounds):
            for name, fn in variants.items():
                t = time.perf_counter()
                for i in range(args.reports):
                    fn(n + i)
                times[name].append((time.perf_counter() - t) / args.reports)
            n += args.reports
        t = time.perf_counter()
        results = svc.audit(ws)
        audit_s = time.perf_counter() - t
        events = sum(a.events for a in results)
        assert all(a.ok for a in results)
        base = statistics.median(times["evidence append (baseline)"])
        print(f"database: {ws.db.backend}; {args.reports} per variant × {args.rounds} rounds")
        print("| variant | per call | per second | × baseline |")
        print("|---|---|---|---|")
        for name, ts in times.items():
            m = statistics.median(ts)
            print(f"| {name} | {m * 1000:.1f} ms | {1 / m:.0f} | {m / base:.2f} |")
        print(
            f"audit: {events} events of {len(results)} incidents in {audit_s:.2f} s, "
            f"{audit_s / events * 1000:.2f} ms per event"
        )
        ws.close()


if __name__ == "__main__":
    main()
