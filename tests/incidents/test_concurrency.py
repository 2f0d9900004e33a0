"""Writers in separate processes at once: every report gets its own number, and one incident's log stays
a single linear chain while all of them comment on it (the row lock). Every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from assay.incidents import service as svc

from ..conftest import REPO
from .conftest import make_report

WRITER = """
import sys, time
from pathlib import Path
from assay.workspace import Workspace
from assay.incidents import service as svc
from assay.incidents.models import IncidentReport

home, url, start_at, shared, tag = sys.argv[1:]
ws = Workspace(Path(home), url)
while time.time() < float(start_at):
    time.sleep(0.001)
for i in range(3):
    svc.report(ws, IncidentReport(system="helpdesk", title=f"{tag}-{i}", description="d"))
    svc.comment(ws, shared, f"{tag} comment {i}", actor=tag)
    svc.assign(ws, shared, tag, actor=tag)
ws.close()
"""


def test_concurrent_writers_never_fork_a_log_or_reuse_a_number(ws) -> None:  # type: ignore[no-untyped-def]
    shared = svc.report(ws, make_report()).id
    ws.signing_key  # noqa: B018 - the key exists before the writers start
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    start_at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ws.home), ws.database_url, start_at, shared, f"w{n}"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    incidents = svc.list_incidents(ws)
    numbers = sorted(int(i.id.rsplit("-", 1)[1]) for i in incidents)
    assert numbers == list(range(1, 11))
    log = svc.events(ws, shared)
    assert [e.seq for e in log] == list(range(1, 20))
    assert sum(1 for e in log if e.kind == "commented") == 9
    assert all(a.ok for a in svc.audit(ws))
