"""The gateway's cost: calls straight to a model vs the same calls through `assay gateway`.

Three processes on this machine: the project's mock model (`python -m assay.evals.mockserver`), the
gateway in front of it (`assay gateway MANIFEST --target mock`, default rules), and this script as
the client (aiohttp, `--concurrency` callers). Printed: throughput through the gateway as a share of
direct, the added latency at p50/p99, and for streaming the added delay before the first token.
A fourth process, a bare TCP relay (bench/tcp_relay.py: copies bytes, parses nothing, checks
nothing), is measured the same way as the floor: what any proxy in front of the mock costs at least.
Also the CPU time each process spends per request (from /proc), and from it the most requests a
second the machine's cores could carry each way if nothing else ran: the ratio of those ceilings is
what the gateway's cost allows, whatever the load from other jobs does to the measured ratio.

    .venv/bin/python bench/gateway.py                 # 2,000 requests each way, 50 callers
    .venv/bin/python bench/gateway.py --requests 500  # quicker
    .venv/bin/python bench/gateway.py --latency 0.05 0.3   # the mock answers after 50-300 ms, like a model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
PROMPTS = [
    "What download speeds does the fibre plan give?",
    "My internet has been slow since yesterday evening. What should I check first?",
    "How do I read my monthly bill, and when is the payment due?",
    "Can I move my plan to a new address in Tampines next month?",
]


def _start(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http"):
        proc.kill()
        raise SystemExit(f"{cmd[0:3]} did not start: {line} {proc.stderr.read() if proc.stderr else ''}")
    return proc, line


async def _wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(200):
            try:
                async with s.get(url + "/models") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"{url} never answered")


async def _load(url: str, n: int, concurrency: int, stream: bool) -> tuple[float, list[float], list[float]]:
    """Wall seconds, per-request latencies and (streaming) first-token delays."""
    latencies: list[float] = []
    first: list[float] = []
    todo = iter(range(n))
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def worker() -> None:
            for i in todo:
                body = {
                    "model": "mock-1",
                    "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                    "stream": stream,
                }
                t0 = time.perf_counter()
                async with s.post(url + "/chat/completions", json=body) as r:
                    if stream:
                        got_first = False
                        async for line in r.content:
                            if not got_first and b'"content"' in line:
                                first.append(time.perf_counter() - t0)
                                got_first = True
                    else:
                        await r.read()
                    if r.status != 200:
                        raise SystemExit(f"HTTP {r.status} from {url}")
                latencies.append(time.perf_counter() - t0)

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t, latencies, first


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children that are still running (`--workers`)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _cpu_s(pid) + sum(_cpu_s(int(k)) for k in kids)


def _self_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--stream-requests", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1, help="assay gateway --workers")
    ap.add_argument("--single-requests", type=int, default=300, help="requests from one caller")
    ap.add_argument(
        "--latency", type=float, nargs="+", default=[0.0], help="the mock's latency: seconds, or LOW HIGH"
    )
    args = ap.parse_args()
    py = sys.executable
    latency = [str(x) for x in args.latency]
    mock, mock_url = _start(
        [py, "-m", "assay.evals.mockserver", "--port", "0", "--stream-delay", "0.002", "--latency", *latency]
    )
    mock_port = mock_url.rsplit(":", 1)[1].split("/")[0]
    relay, relay_url = _start([py, str(REPO / "bench/tcp_relay.py"), "127.0.0.1", mock_port])
    tmp = Path(tempfile.mkdtemp(prefix="assay-gw-bench-"))
    example = (REPO / "examples/helpdesk/assay.yaml").read_text()
    target = (
        "  - id: mock\n    kind: openai\n"
        f"    base_url: {mock_url}\n    model: mock-1\n    retries: 0\n"
        "    system_prompt: You are the helpdesk assistant of Lion City Broadband.\n"
    )
    manifest = tmp / "assay.yaml"
    manifest.write_text(example.replace("targets:\n", "targets:\n" + target, 1))
    (tmp / "suites").symlink_to(REPO / "examples/helpdesk/suites")
    env = {**os.environ, "ASSAY_HOME": str(tmp / ".assay")}
    port_probe = __import__("socket").socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    gw = subprocess.Popen(
        [py, "-m", "assay", "gateway", str(manifest), "--target", "mock", "--port", str(port)]
        + (["--workers", str(args.workers)] if args.workers > 1 else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    gw_url = f"http://127.0.0.1:{port}/v1"
    try:
        asyncio.run(_wait_ready(mock_url))
        asyncio.run(_wait_ready(gw_url))
        paths = {"direct": mock_url, "relay": relay_url, "gateway": gw_url}
        proxy_pid = {"direct": None, "relay": relay.pid, "gateway": gw.pid}
        warm = min(200, args.requests)
        for url in paths.values():  # warm every path
            asyncio.run(_load(url, warm, args.concurrency, False))
        rows = {}
        cpu: dict[str, dict[str, float]] = {}
        for name, url in paths.items():
            pid = proxy_pid[name]
            proxy_cpu = (lambda pid=pid: _tree_cpu_s(pid)) if pid else (lambda: 0.0)
            before = (_cpu_s(mock.pid), proxy_cpu(), _self_cpu_s())
            wall, lat, _ = asyncio.run(_load(url, args.requests, args.concurrency, False))
            after = (_cpu_s(mock.pid), proxy_cpu(), _self_cpu_s())
            rows[name] = (args.requests / wall, _pct(lat, 0.5), _pct(lat, 0.99))
            ms = [(b - a) / args.requests * 1000 for a, b in zip(before, after, strict=True)]
            cpu[name] = {"mock": ms[0], "proxy": ms[1], "client": ms[2]}
        single = {}  # one caller at a time: the proxy's own latency, without queueing
        for name, url in paths.items():
            _, lat, _ = asyncio.run(_load(url, args.single_requests, 1, False))
            single[name] = _pct(lat, 0.5)
        first = {}
        for name, url in paths.items():
            _, _, f = asyncio.run(_load(url, args.stream_requests, 10, True))
            first[name] = statistics.median(f) * 1000
    finally:
        for proc in (gw, relay, mock):
            proc.terminate()
        gw.wait(30)
        relay.wait(10)
        mock.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)  # the manifest and the gateway's workspace
    d = rows["direct"]
    lat = " ".join(f"{x * 1000:g}" for x in args.latency)
    print(
        f"{args.requests} requests each way, {args.concurrency} concurrent callers, default rules, "
        f"mock latency {lat} ms"
    )
    print(f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rps, p50, p99) in rows.items():
        print(f"{name:10} {rps:8.0f} {p50:8.2f} {p99:8.2f}")
    for name in ("relay", "gateway"):
        p = rows[name]
        target = " (targets: >= 0.80, p50 < 5 ms)" if name == "gateway" else " (the floor: bytes copied only)"
        print(
            f"through the {name}: {p[0] / d[0]:.2f} of direct, added p50 {p[1] - d[1]:+.2f} ms,"
            f" p99 {p[2] - d[2]:+.2f} ms{target}"
        )
    print(
        "one caller at a time, p50: "
        + ", ".join(f"{n} {v:.2f} ms" for n, v in single.items())
        + f"; the gateway adds {single['gateway'] - single['direct']:+.2f} ms"
    )
    print(
        f"streaming, first token (median of {args.stream_requests}, 10 callers): "
        + ", ".join(f"{n} {v:.2f} ms" for n, v in first.items())
        + f"; the gateway adds {first['gateway'] - first['direct']:+.2f} ms (target < 10 ms)"
    )
    cores = os.cpu_count() or 1
    print(f"CPU ms per request (mock / proxy / client), and the most req/s {cores} cores could carry:")
    ceiling = {}
    for name, c in cpu.items():
        ceiling[name] = cores / (sum(c.values()) / 1000)
        print(
            f"  {name:8} {c['mock']:.3f} / {c['proxy']:.3f} / {c['client']:.3f} ms"
            f" -> {ceiling[name]:,.0f} req/s ({ceiling[name] / ceiling['direct']:.2f} of direct)"
        )
    print(
        json.dumps(
            {
                "rows": rows,
                "first_token_ms": first,
                "cpu_ms": cpu,
                "ceiling": ceiling,
                "single_p50_ms": single,
            }
        )
    )


if __name__ == "__main__":
    main()
