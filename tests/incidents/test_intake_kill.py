"""`assay serve` killed with SIGKILL while 10 clients post reports: after a restart every report that got
a 201 is stored exactly once, and each Idempotency-Key retried gets the same id back. A real server
process on 127.0.0.1, every backend."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx

from assay.incidents import service as svc
from tests.notify.test_outbox import _free_port

from ..conftest import REPO

CLIENTS = 10
REPORTS = 200
KILL_AFTER = 60  # 201s seen before the kill


def _serve(ws: Any, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ASSAY_DATABASE_URL": ws.database_url,
        "ASSAY_REPORT_RATE": "1000000/1",
        "PYTHONPATH": str(REPO / "src"),
    }
    cmd = [sys.executable, "-m", "assay", "serve", "--home", str(ws.home), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("assay serve did not come up within 60 s")


def _body(i: int) -> dict[str, Any]:
    return {
        "system": "helpdesk",
        "title": f"kill-test report {i}",
        "description": f"Report number {i} sent while the server is killed.",
        "reporter": {"email": f"r{i}@example.org"},
    }


async def _load(url: str, proc: subprocess.Popen[bytes]) -> tuple[dict[int, str], set[int]]:
    """Post until the server dies; (key number -> id for every 201, key numbers never answered)."""
    accepted: dict[int, str] = {}
    unanswered: set[int] = set()
    todo = iter(range(REPORTS))

    async def client(http: httpx.AsyncClient) -> None:
        for i in todo:
            try:
                r = await http.post(
                    f"{url}/api/v1/incidents", json=_body(i), headers={"Idempotency-Key": f"kill-{i}"}
                )
            except httpx.TransportError:
                unanswered.add(i)
                return
            assert r.status_code == 201, r.text
            accepted[i] = r.json()["id"]
            if len(accepted) == KILL_AFTER:
                os.kill(proc.pid, signal.SIGKILL)

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return accepted, unanswered


async def _retry(url: str, numbers: list[int]) -> dict[int, tuple[int, str, bool]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def one(n: int) -> tuple[int, str, bool]:
            r = await http.post("/api/v1/incidents", json=_body(n), headers={"Idempotency-Key": f"kill-{n}"})
            got = r.json()
            return r.status_code, got.get("id", ""), got.get("replayed", False)

        return dict(zip(numbers, await asyncio.gather(*(one(n) for n in numbers)), strict=True))


def test_sigkill_under_load_loses_no_accepted_report_and_retries_get_their_ids(ws) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    proc = _serve(ws, port)
    try:
        accepted, unanswered = asyncio.run(_load(f"http://127.0.0.1:{port}", proc))
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(accepted) >= KILL_AFTER and unanswered, (len(accepted), unanswered)  # killed mid-load

    stored = svc.list_incidents(ws)
    by_title = Counter(i.title for i in stored)
    ids = {i.id for i in stored}
    for n, ident in accepted.items():
        assert ident in ids and by_title[f"kill-test report {n}"] == 1, n  # present exactly once
    assert all(a.ok for a in svc.audit(ws))  # no torn log, no number issued and lost

    proc = _serve(ws, port)
    try:
        retried = asyncio.run(_retry(f"http://127.0.0.1:{port}", [*accepted, *unanswered]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    for n, ident in accepted.items():
        assert retried[n] == (201, ident, True), n  # the same id, as a replay
    # a request that never got its answer is stored at most once: retrying it settles it
    assert all(retried[n][0] == 201 for n in unanswered)
    titles = Counter(i.title for i in svc.list_incidents(ws))
    assert all(count == 1 for count in titles.values())
    assert set(titles) >= {f"kill-test report {n}" for n in [*accepted, *unanswered]}
    assert all(a.ok for a in svc.audit(ws))


def test_the_server_really_groups_commits(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Not a timing test: 60 concurrent reports share transactions (fewer batches than reports)."""
    from assay.api.limits import ReportLimiter
    from assay.incidents import batch
    from tests.api.server import LiveServer

    sizes: list[int] = []
    real = batch._write

    def counting(ws_: Any, items: Any, policy: Any) -> Any:
        sizes.append(len(items))
        return real(ws_, items, policy)

    monkeypatch.setattr(batch, "_write", counting)
    with LiveServer(ws) as server:
        server._server.config.app.state.report_limiter = ReportLimiter(count=1000, window_s=60)

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                posts = (http.post("/api/v1/incidents", json=_body(i)) for i in range(60))
                return [r.status_code for r in await asyncio.gather(*posts)]

        assert asyncio.run(burst()) == [201] * 60
    assert sum(sizes) == 60 and len(sizes) < 60 and max(sizes) > 1
    assert len(svc.list_incidents(ws)) == 60
