"""How fast the dashboard answers with a full store: 100 runs and 50,000 samples (issue 15).

    .venv/bin/python bench/dashboard.py [--runs 100] [--samples 50000] [--requests 300] [--url postgresql://…]

The store is filled in bulk (the run index's own `replace_run`, chunked INSERTs; each run's summary
also signed as evidence, as `record_run` does) with the helpdesk example registered and its label
built, then served by `assay serve` in its own process, as a user starts it (with ASSAY_DATABASE_URL
for another database). Timed, sequentially, over HTTP on 127.0.0.1:

- `/healthz` — the floor: a request through the same server that reads nothing (the baseline);
- the public system page — label, the conformance of every control, the newest 200 runs;
- a samples page — 50 samples of a random run at a random keyset position (`?after=N`);
- the last page of the largest run, to show that a deep page costs what the first does.

Prints p50 and p99 of each and the ratio of each p50 to the baseline's; the target is p99 < 200 ms.
SQLite in a temporary folder unless --url names another database (it must be empty or disposable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM = "helpdesk"
WORDS = (
    "the plan fibre router refund outage account bill speed please help with my internet is slow what does"
    " it cost to upgrade and when will an engineer come to fix the line"
)
VOCAB = WORDS.split(" ")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words))


def fill(url: str, home: Path, runs: int, samples: int) -> float:
    """Register the example, build its label and index `runs` runs holding `samples` samples in all."""
    from assay.assurance.evidence import record_evidence
    from assay.label.build import build_label
    from assay.label.service import write_label
    from assay.manifest import load_manifest
    from assay.registry.service import register_system
    from assay.store.runs import replace_run
    from assay.workspace import Workspace

    ws = Workspace(home, url)
    manifest = load_manifest(REPO / "examples" / "helpdesk" / "assay.yaml")
    register_system(ws, manifest)
    write_label(ws, build_label(ws, manifest, REPO / "examples" / "helpdesk"), home / "out" / "label.json")
    rng = random.Random(15)
    sizes = run_sizes(runs, samples)
    start = time.perf_counter()
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for r, per_run in enumerate(sizes):
        rows = []
        for i in range(per_run):
            passed = rng.random() < 0.8
            rows.append(
                {
                    "seq": i,
                    "sample_id": f"s{i:05d}",
                    "epoch": 0,
                    "category": rng.choice(["billing", "outage", "harmful", "privacy"]),
                    "language": rng.choice(["en", "zh", "ms", "ta"]),
                    "prompt": _text(rng, 40),
                    "answer": _text(rng, 90),
                    "scorer": "refusal",
                    "score": 1.0 if passed else 0.0,
                    "passed": passed,
                    "why": _text(rng, 15),
                    "error": "",
                    "scores": [{"scorer": "refusal", "value": 1.0 if passed else 0.0, "passed": passed}],
                }
            )
        run = {
            "run_id": f"bench-{r:03d}",
            "system_slug": SYSTEM,
            "kind": "redteam" if r % 5 == 0 else "eval",
            "suite_id": f"suite-{r % 9}",
            "suite_title": f"Suite {r % 9}",
            "target_id": "bundled",
            "status": "complete",
            "samples": per_run,
            "records": per_run,
            "failed": sum(1 for x in rows if not x["passed"]),
            "score": sum(1 for x in rows if x["passed"]) / per_run,
            "grade": "B",
            "started_at": t0 + dt.timedelta(minutes=r),
            "finished_at": t0 + dt.timedelta(minutes=r, seconds=30),
            "metrics": {},
        }
        with ws.db.session() as s:
            replace_run(s, run, rows)
        # as `record_run` does: the run's summary is signed evidence of the system (conformance reads it)
        record_evidence(
            ws,
            json.dumps({k: str(v) for k, v in run.items()}).encode(),
            kind="redteam.run" if run["kind"] == "redteam" else "eval.run",
            system=SYSTEM,
            name=f"runs/{run['run_id']}/summary.json",
            media_type="application/json",
        )
    took = time.perf_counter() - start
    ws.close()
    return took


def run_sizes(runs: int, samples: int) -> list[int]:
    """The first run holds half the samples (the deep-page case); the others share the rest."""
    big = samples // 2
    rest = samples - big
    return [big] + [rest // (runs - 1) + (1 if i < rest % (runs - 1) else 0) for i in range(runs - 1)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`assay serve` in its own process; its log goes to a file beside the workspace, never a full pipe."""
    import httpx

    port = _free_port()
    assay = Path(sys.executable).parent / "assay"
    env = {**os.environ, "ASSAY_DATABASE_URL": url}
    log = (home.parent / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(assay), "serve", "--home", str(home), "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"assay serve did not start:\n{(home.parent / 'serve.log').read_text()[-2000:]}")


def timed(client, paths: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for path in paths:
        t = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--samples", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--url", default=None, help="a database URL (default: SQLite in a temporary folder)")
    args = ap.parse_args()
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / ".assay"
        url = args.url or f"sqlite:///{tmp}/bench.db"
        took = fill(url, home, args.runs, args.samples)
        backend = url.split(":", 1)[0]
        print(f"{backend}: {args.runs} runs, {args.samples:,} samples indexed in {took:.1f} s")
        proc, base = serve(home, url)
        try:
            rng = random.Random(7)
            sizes = run_sizes(args.runs, args.samples)
            n = args.requests
            system = f"/dashboard/{SYSTEM}"
            runs_at = f"/dashboard/{SYSTEM}/runs/bench-"
            picks = [rng.randrange(args.runs) for _ in range(n)]
            samples = [f"{runs_at}{r:03d}?after={rng.randrange(sizes[r]) - 1}" for r in picks]
            last = f"/dashboard/{SYSTEM}/runs/bench-000?after={sizes[0] - 51}"
            first = f"/dashboard/{SYSTEM}/runs/bench-000?after=-1"
            with httpx.Client(base_url=base, timeout=30) as c:
                timed(c, ["/healthz"] * 20 + [system] * 10 + samples[:10])  # warm up
                # interleaved, so a busy neighbour on the shared machine hits every series alike
                series: dict[str, list[float]] = {
                    "healthz": [],
                    "system": [],
                    "samples": [],
                    "first": [],
                    "last": [],
                }
                for i in range(n):
                    series["healthz"] += timed(c, ["/healthz"])
                    series["system"] += timed(c, [system])
                    series["samples"] += timed(c, [samples[i]])
                    if i % 3 == 0:
                        series["first"] += timed(c, [first])
                        series["last"] += timed(c, [last])
                results = series
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        base_p50 = statistics.median(results["healthz"])
        names = {
            "healthz": "/healthz (baseline)",
            "system": "system page",
            "samples": "samples page (random run, random position)",
            "first": f"first page of the largest run ({sizes[0]:,} samples)",
            "last": "last page of the largest run",
        }
        print("| page | p50 ms | p99 ms | p50 × baseline |")
        print("|---|---|---|---|")
        for key, label in names.items():
            v = results[key]
            p50 = statistics.median(v)
            print(f"| {label} | {p50:.1f} | {pct(v, 0.99):.1f} | {p50 / base_p50:.1f} |")
        ok = pct(results["system"], 0.99) < 200 and pct(results["samples"], 0.99) < 200
        print(f"target p99 < 200 ms: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
