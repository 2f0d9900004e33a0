"""The public intake under load, over HTTP, against `assay serve` as a user starts it.

    .venv/bin/python bench/intake.py [--reports 3000] [--clients 50] [--backend sqlite|postgresql|both]
                                     [--pg-url postgresql://assay:assay@127.0.0.1:5432/assay_bench_intake]
                                     [--batch 1,256]

For each backend and each `ASSAY_INTAKE_BATCH` value, a fresh workspace (SQLite in a temporary folder;
PostgreSQL: the database in --pg-url, dropped and made again — the role needs CREATEDB) with the
helpdesk example registered, `assay serve --manifest … --port P` started as a subprocess on 127.0.0.1
(rate limit lifted with `ASSAY_REPORT_RATE`), then `--clients` concurrent aiohttp clients post
`--reports` reports, each with its own Idempotency-Key and a reporter e-mail (so each report also queues
an acknowledgement and the accountable party's notice). The first `--warmup` answers are not timed.
Prints accepted reports per second, p50 and p99 latency, and each run against the first batch size
given (batch 1 = one transaction per report, the intake as it was before group commit). Afterwards the
incidents in the database are counted (each accepted one exactly once) and, with --audit, every log
is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "examples" / "helpdesk" / "assay.yaml"
PG_URL = "postgresql://assay:assay@127.0.0.1:5432/assay_bench_intake"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_pg(url: str) -> None:
    """Drop and create the bench database (connecting to the server's `postgres` database)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def start_server(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`assay serve` in its own process group, as a user runs it; returns once /healthz answers."""
    import httpx

    cmd = [sys.executable, "-m", "assay", "serve", "--home", str(home), "--port", str(port)]
    cmd += ["--manifest", str(MANIFEST)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"assay serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("assay serve did not answer /healthz within 60 s")


def body(i: int) -> dict[str, object]:
    return {
        "system": "helpdesk",
        "title": f"Wrong refund amount quoted (report {i})",
        "description": "Asked about last week's outage refund, the assistant said S$500; the policy says "
        f"S$5. Seen on the customer portal, session {i}.",
        "harm_types": ["financial"],
        "reporter": {"name": "A. Customer", "email": f"customer{i}@example.sg"},
    }


async def drive(
    url: str, reports: int, clients: int, warmup: int
) -> tuple[list[float], int, float, list[str]]:
    """Post `reports` reports from `clients` concurrent clients; (timed latencies, accepted, seconds, ids)."""
    import aiohttp

    latencies: list[float] = []
    ids: list[str] = []
    accepted = 0
    failures: dict[int, int] = {}
    counter = iter(range(reports))
    t_start = 0.0
    timed = asyncio.Event()

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal accepted, t_start
        for i in counter:
            t = time.perf_counter()
            async with session.post(
                f"{url}/api/v1/incidents", json=body(i), headers={"Idempotency-Key": str(uuid.uuid4())}
            ) as r:
                payload = await r.json()
            dt_ = time.perf_counter() - t
            if r.status != 201:
                failures[r.status] = failures.get(r.status, 0) + 1
                continue
            ids.append(payload["id"])
            accepted += 1
            if accepted == warmup:
                t_start = time.perf_counter()
                timed.set()
            elif accepted > warmup:
                latencies.append(dt_)

    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    elapsed = time.perf_counter() - t_start
    if failures:
        print(f"  non-201 answers: {failures}", file=sys.stderr)
    return latencies, accepted, elapsed, ids


def count_and_audit(home: Path, db_url: str, ids: list[str], audit: bool) -> str:
    from assay.incidents import service as svc
    from assay.workspace import Workspace

    ws = Workspace(home, db_url)
    try:
        stored = [i.id for i in svc.list_incidents(ws)]
        ok = sorted(stored) == sorted(ids)
        note = f"stored {len(stored)}, each accepted once: {'yes' if ok else 'NO'}"
        if audit:
            bad = [a for a in svc.audit(ws) if not a.ok]
            note += f"; audit: {'all logs intact' if not bad else bad[0].problem}"
        return note
    finally:
        ws.close()


def run_one(backend: str, batch: int, args: argparse.Namespace) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / ".assay"
        if backend == "postgresql":
            fresh_pg(args.pg_url)
            db_url = args.pg_url
        else:
            db_url = f"sqlite:///{tmp}/assay.db"
        env = {
            **os.environ,
            "ASSAY_DATABASE_URL": db_url,
            "ASSAY_REPORT_RATE": "100000000/1",
            "ASSAY_INTAKE_BATCH": str(batch),
            "PYTHONPATH": os.pathsep.join(x for x in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if x),
        }
        port = free_port()
        proc = start_server(home, port, env)
        try:
            server_cpu, client_cpu = cpu_seconds(proc.pid), time.process_time()
            lat, accepted, elapsed, ids = asyncio.run(
                drive(f"http://127.0.0.1:{port}", args.reports, args.clients, args.warmup)
            )
            server_cpu = cpu_seconds(proc.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        note = count_and_audit(home, db_url, ids, args.audit)
    lat.sort()
    return {
        "backend": backend,
        "batch": batch,
        "rate": (accepted - args.warmup) / elapsed,
        "p50": statistics.median(lat) * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "note": note,
        "server_ms": server_cpu / accepted * 1000,
        "client_ms": client_cpu / accepted * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--batch", default="1,256", help="ASSAY_INTAKE_BATCH values; the first is the baseline")
    ap.add_argument("--audit", action="store_true", help="also audit every log afterwards")
    args = ap.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    batches = [int(b) for b in args.batch.split(",")]
    load = os.getloadavg()[0]
    print(f"{args.reports} reports, {args.clients} clients, first {args.warmup} untimed; load {load:.1f}")
    print(
        "| database | ASSAY_INTAKE_BATCH | accepted/s | p50 | p99 | × baseline (accepted/s) "
        "| CPU per report: server, client | check |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backend in backends:
        base = None
        for batch in batches:
            r = run_one(backend, batch, args)
            base = base or r["rate"]
            print(
                f"| {backend} | {batch} | {r['rate']:.0f} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | "
                f"{float(r['rate']) / float(base):.2f} | {r['server_ms']:.2f} ms, {r['client_ms']:.2f} ms "
                f"| {r['note']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
