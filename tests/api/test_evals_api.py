"""Evaluation runs over HTTP: a list, a status with a progress field, and the report."""

from __future__ import annotations

import asyncio
import shutil

from assay.evals.mockserver import run_mock_server
from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.runner import Runner
from assay.evals.service import record_run, runs_dir
from assay.evals.targets import build_target
from assay.manifest.schema import Target as TargetSpec
from assay.manifest.schema import TargetKind
from tests.api.conftest import Api


def _finished_run(api: Api) -> str:
    suite = Suite(
        id="echo",
        scorers=[ScorerSpec(name="exact")],
        samples=[Sample(id=f"s{i}", input=f"say {i}", target=f"say {i}") for i in range(10)],
    )
    with run_mock_server() as server:
        target = build_target(
            TargetSpec(id="mock", kind=TargetKind.openai, base_url=server.base_url, model="m")
        )

        async def go() -> str:
            runner = Runner(suite, target, runs_dir(api.ws))
            await runner.run()
            await target.aclose()
            return runner.run_id

        run_id = asyncio.run(go())
    record_run(api.ws, runs_dir(api.ws) / run_id, system=None)
    return run_id


def test_runs_report_progress_and_summary(api: Api) -> None:
    run_id = _finished_run(api)
    # a copy with three finished samples and no summary looks like a run in progress
    partial = runs_dir(api.ws) / f"{run_id}-partial"
    shutil.copytree(runs_dir(api.ws) / run_id, partial)
    lines = (partial / "log.jsonl").read_bytes().splitlines(keepends=True)
    (partial / "log.jsonl").write_bytes(b"".join(lines[:3]))
    (partial / "summary.json").unlink()

    listed = api.client.get("/api/v1/evals").json()
    assert {r["run_id"] for r in listed} == {run_id, partial.name}
    done = api.client.get(f"/api/v1/evals/{run_id}").json()
    assert done["status"] == "complete" and done["progress"] == 1.0 and done["summary"]["score"] == 1.0
    running = api.client.get(f"/api/v1/evals/{partial.name}").json()
    assert running["status"] == "running" and running["done"] == 3 and running["progress"] == 0.3
    assert running["summary"] is None

    report = api.client.get(f"/api/v1/evals/{run_id}/report")
    assert report.status_code == 200 and "text/html" in report.headers["content-type"]
    assert "echo" in report.text
    assert api.client.get(f"/api/v1/evals/{partial.name}/report").status_code == 200  # copied along


def test_unknown_or_escaping_run_ids_are_404(api: Api) -> None:
    assert api.client.get("/api/v1/evals/nope").status_code == 404
    assert api.client.get("/api/v1/evals/..%2F..%2Fkeys").status_code == 404
    assert api.client.get("/api/v1/evals/.hidden").status_code == 404


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_run_is_interrupted_with_its_resume_command_and_a_damaged_one_is_no_500(api: Api) -> None:
    import json

    from typer.testing import CliRunner

    from assay.cli.main import app

    run_id = _finished_run(api)
    killed = runs_dir(api.ws) / f"{run_id}-killed"
    shutil.copytree(runs_dir(api.ws) / run_id, killed)
    (killed / "summary.json").unlink()
    owner = json.loads((killed / "owner.json").read_text())
    (killed / "owner.json").write_text(json.dumps({**owner, "pid": _dead_pid()}))
    damaged = runs_dir(api.ws) / f"{run_id}-damaged"
    shutil.copytree(runs_dir(api.ws) / run_id, damaged)
    (damaged / "spec.json").write_bytes(b"\x00\xff not json")

    listed = api.client.get("/api/v1/evals")
    assert listed.status_code == 200, listed.text
    by_id = {r["run_id"]: r for r in listed.json()}
    assert by_id[killed.name]["status"] == "interrupted"
    assert by_id[killed.name]["resume_command"].startswith("assay eval run ")
    assert f"--resume {run_id}" in by_id[killed.name]["resume_command"]
    assert by_id[damaged.name]["status"] == "unreadable" and "spec.json" in by_id[damaged.name]["problem"]
    assert by_id[run_id]["status"] == "complete"

    cli = CliRunner().invoke(app, ["eval", "list", "--home", str(api.ws.home)], env={"COLUMNS": "200"})
    assert cli.exit_code == 0, cli.output
    assert (
        killed.name in cli.output
        and "interrupted" in cli.output
        and "resume it: assay eval run" in cli.output
    )
    assert f"{damaged.name} cannot be read" in cli.output
