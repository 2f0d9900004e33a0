"""A workspace with the helpdesk example and everything its dashboard shows: a finished evaluation run
of 120 samples (half of them failing), an interrupted one, a red-team run, the label, an overdue severe
incident, a marked output and a kept verification of it. Built once per backend through the real
services; the pages are read from a live server."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assay.evals.mockserver import run_mock_server
from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.run_index import index_run
from assay.evals.runner import Runner
from assay.evals.service import record_run, runs_dir
from assay.evals.targets import build_target
from assay.manifest import load_manifest
from assay.manifest.schema import Target as TargetSpec
from assay.manifest.schema import TargetKind
from assay.registry.service import register_system
from assay.tokens import Role, create_token
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.conftest import EXAMPLE

SYSTEM = "helpdesk"
SAMPLES = 120
HOSTILE = "<script>alert('x')</script> say 5"
MARKED_TEXT = "Your fibre plan costs S$39 a month; the router is included at no charge."


@dataclass
class Dash:
    ws: Workspace
    server: LiveServer
    client: httpx.Client
    run_id: str
    interrupted_id: str
    redteam_id: str
    incident_id: str
    viewer: str

    @property
    def url(self) -> str:
        return self.server.url


def _eval_run(ws: Workspace) -> str:
    """A real run against the local OpenAI-compatible mock (it echoes the prompt): odd samples expect
    something else, so the exact scorer fails them."""
    samples = [
        Sample(id=f"s{i:03d}", input=f"say {i}", target=f"say {i}" if i % 2 == 0 else f"never {i}")
        for i in range(SAMPLES)
    ]
    samples[5] = Sample(id="s005", input=HOSTILE, target="never")  # shown escaped, never run
    suite = Suite(id="echo", title="Echo check", scorers=[ScorerSpec(name="exact")], samples=samples)
    with run_mock_server() as server:
        spec = TargetSpec(id="mock", kind=TargetKind.openai, base_url=server.base_url, model="m")
        target = build_target(spec)

        async def go() -> str:
            runner = Runner(suite, target, runs_dir(ws))
            await runner.run()
            await target.aclose()
            return runner.run_id

        run_id = asyncio.run(go())
    record_run(ws, runs_dir(ws) / run_id, system=SYSTEM)
    return run_id


def _copy_run(ws: Workspace, run_id: str, new_id: str, *, keep_lines: int | None = None) -> Path:
    """A copy of a run under another id (its files name the run, so they are rewritten to match)."""
    src, dst = runs_dir(ws) / run_id, runs_dir(ws) / new_id
    shutil.copytree(src, dst)
    for f in dst.iterdir():
        if f.suffix in (".json", ".jsonl"):
            f.write_text(f.read_text().replace(run_id, new_id))
    if keep_lines is not None:
        lines = (dst / "log.jsonl").read_text().splitlines(keepends=True)
        (dst / "log.jsonl").write_text("".join(lines[:keep_lines]))
        (dst / "summary.json").unlink()
        (dst / "report.html").unlink()  # an interrupted run has no report yet
    return dst


def populate(ws: Workspace) -> dict[str, str]:
    from assay.incidents import service as incidents
    from assay.incidents.models import IncidentReport
    from assay.label.build import build_label
    from assay.label.service import write_label
    from assay.provenance.ledger import record_text
    from assay.provenance.verify import verify_content

    manifest = load_manifest(EXAMPLE)
    register_system(ws, manifest)
    run_id = _eval_run(ws)
    interrupted = _copy_run(ws, run_id, run_id + "-cut", keep_lines=30)
    index_run(ws, interrupted, SYSTEM, "eval")
    redteam = _copy_run(ws, run_id, run_id + "-rt")
    index_run(ws, redteam, SYSTEM, "redteam")
    label = build_label(ws, manifest, EXAMPLE.parent)
    write_label(ws, label, ws.home / "out" / "label.json")
    aware = dt.date.today() - dt.timedelta(days=30)
    severe = incidents.report(
        ws,
        IncidentReport.model_validate(
            {
                "system": SYSTEM,
                "title": "Outage line gave wrong advice to a hospital",
                "description": "The assistant told a clinic its line would be back in a week; it was down.",
                "critical_infrastructure": True,
                "became_aware": aware.isoformat(),
            }
        ),
    )
    record_text(ws, MARKED_TEXT, system=SYSTEM, system_version="1.0", method="test-mark")
    verify_content(ws, MARKED_TEXT.encode(), keep=True)
    ids = {
        "run_id": run_id,
        "interrupted_id": interrupted.name,
        "redteam_id": redteam.name,
        "incident_id": severe.id,
    }
    return ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def populated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """One populated workspace per backend for the whole module: the pages only read it."""
    home = tmp_path_factory.mktemp("dash") / ".assay"
    if request.param == "sqlite":
        ws = Workspace(home, f"sqlite:///{home.parent / 'assay.db'}")
        yield ws, populate(ws)
        ws.close()
        return
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    from tests.conftest import _drop_database

    admin = request.getfixturevalue("postgres_admin_url")
    name = f"assay_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    ws = Workspace(home, make_url(admin).set(database=name).render_as_string(hide_password=False))
    try:
        yield ws, populate(ws)
    finally:
        ws.close()
        _drop_database(admin, name)


@pytest.fixture(scope="module")
def dash(populated: tuple[Workspace, dict[str, str]]) -> Iterator[Dash]:
    ws, ids = populated
    viewer = create_token(ws, "dash-viewer", Role.viewer).secret
    with LiveServer(ws) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield Dash(ws=ws, server=server, client=client, viewer=viewer, **ids)
