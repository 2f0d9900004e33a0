"""The evidence chain: deletions, insertions, reorders and edited links are detected and the first break
named; concurrent writers to a new system all succeed and the chain stays linear. Every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO, example_text

# One writer, started as its own process: register the example system (first time for all of them),
# then record evidence for it. All writers start at the same instant to make the races likely.
WRITER = """
import sys, time
from pathlib import Path
from assay.workspace import Workspace
from assay.manifest import load_manifest
from assay.registry.service import register_system
from assay.assurance.evidence import record_evidence

home, url, manifest, start_at, tag, count = sys.argv[1:]
ws = Workspace(Path(home), url)
while time.time() < float(start_at):
    time.sleep(0.001)
register_system(ws, load_manifest(Path(manifest)))
for i in range(int(count)):
    record_evidence(ws, f"{tag}-{i}".encode(), kind="manifest", system="helpdesk", name=f"{tag}-{i}.txt")
ws.close()
print("done", tag)
"""


def _writers(tmp_path: Path, url: str, n: int = 3, count: int = 8) -> list[subprocess.CompletedProcess[str]]:
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    start_at = time.time() + 4.0  # every process has imported Assay by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(tmp_path / ".assay"),
                url,
                str(manifest),
                str(start_at),
                f"w{i}",
                str(count),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


@pytest.mark.parametrize("prepared", [False, True], ids=["fresh", "migrated"])
def test_concurrent_first_writers_all_succeed_and_the_chain_stays_linear(
    tmp_path: Path, database_url: str, prepared: bool
) -> None:
    """Fresh: nothing exists yet (the processes race on the schema and the signing key too). Migrated:
    the database and key exist, so the race is on creating the system row and appending to its chain."""
    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import list_evidence, verify_evidence
    from assay.workspace import Workspace

    if prepared:
        ws = Workspace(tmp_path / ".assay", database_url)
        ws.db, ws.signing_key  # noqa: B018 - migrate and create the key now
        ws.close()
    results = _writers(tmp_path, database_url)
    for r in results:
        assert r.returncode == 0, r.stderr[-3000:]
    ws = Workspace(tmp_path / ".assay", database_url)
    try:
        records = list_evidence(ws, system="helpdesk", limit=100)
        assert len(records) == 24
        assert sorted(r.seq for r in records) == list(range(1, 25))
        assert [c for c in verify_evidence(ws) if not c.ok] == []
        (chain,) = verify_chains(ws, system="helpdesk")
        assert chain.ok, chain.problems
        assert chain.intact == 24 and chain.head is not None and chain.head.length == 24
    finally:
        ws.close()
