"""`assay gateway --workers N`: several processes on one port, each with its own decision-log file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assay.evals.mockserver import listen_socket, run_mock_server
from tests.gateway.conftest import manifest_for


def _free_port() -> int:
    sock = listen_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_workers_share_the_port_and_each_seals_its_own_decision_log(tmp_path: Path) -> None:
    from assay.assurance.evidence import list_evidence
    from assay.workspace import Workspace

    with run_mock_server(answers={"q": "an answer"}) as mock:
        manifest = manifest_for(tmp_path, mock.base_url)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "assay", "gateway", str(manifest), "--target", "gw-target"]
            + ["--port", str(port), "--workers", "2"],
            env=env,
            start_new_session=True,  # its own process group, as in a terminal
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.1)
            body = {"model": "mock-1", "messages": [{"role": "user", "content": "q"}]}
            n = 24
            for _ in range(n):  # a new connection each time, so the kernel may hand it to either worker
                r = httpx.post(url + "/chat/completions", json=body, timeout=10)
                assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "an answer"
        finally:
            # Ctrl-C in a terminal: SIGINT to the whole group, the workers included, twice
            os.killpg(proc.pid, signal.SIGINT)
            os.killpg(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    folder = tmp_path / ".assay" / "gateway" / "helpdesk"
    files = sorted(folder.glob("decisions-*.jsonl"))
    assert files and all(f.stem.endswith(("-w0", "-w1")) for f in files)
    lines = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert len(lines) == n and len({x["request_id"] for x in lines}) == n  # none lost, none twice
    # every worker sealed its file as evidence when it stopped
    sealed = list_evidence(Workspace.for_manifest(manifest), "helpdesk", kind="monitor.log")
    assert len(sealed) == len(files)
