"""The runner against a real OpenAI-compatible mock server on 127.0.0.1: logging, cache, errors,
resume after SIGKILL and Ctrl-C, re-scoring, sample selection and a fast failure for a dead target."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.cli.main import app
from assay.evals.mockserver import run_mock_server
from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.rescore import rescore_run
from assay.evals.runlog import read_log
from assay.evals.runner import Runner, RunOptions, select_samples
from assay.evals.targets import build_target
from assay.manifest.schema import Target as TargetSpec
from assay.manifest.schema import TargetKind
from assay.store.response_cache import ResponseCache

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "helpdesk" / "assay.yaml"
runner = CliRunner()


def _suite(n: int, scorer: str = "exact") -> Suite:
    samples = [
        Sample(id=f"s{i:03d}", input=f"say {i}", target=f"say {i}", category="even" if i % 2 == 0 else "odd")
        for i in range(n)
    ]
    return Suite(id="echo", title="Echo", scorers=[ScorerSpec(name=scorer)], samples=samples)


def _target(base_url: str, **extra: object):  # type: ignore[no-untyped-def]
    spec = TargetSpec(id="mock", kind=TargetKind.openai, base_url=base_url, model="mock-1", **extra)
    return build_target(spec)


def _run(suite: Suite, target, folder: Path, cache: ResponseCache | None = None, **kw):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        try:
            return await Runner(suite, target, folder, cache=cache, **kw).run()
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_run_logs_every_sample_then_a_rerun_is_all_cached(tmp_path: Path) -> None:
    suite = _suite(24)
    with run_mock_server() as server:
        cache = ResponseCache(tmp_path / "cache.sqlite")
        first = _run(suite, _target(server.base_url, max_concurrency=6), tmp_path / "runs", cache)
        asked = server.requests
        second = _run(suite, _target(server.base_url), tmp_path / "runs", cache)
        cache.close()
        assert server.requests == asked  # the re-run never called the model
    assert first.status == "complete" and first.records == 24 and first.score == 1.0
    assert asked == 24
    assert second.cache_hits == 24 and second.score == 1.0
    records = list(read_log(tmp_path / "runs" / first.run_id / "log.jsonl"))
    assert sorted(r.sample_id for r in records) == [s.id for s in suite.samples]
    assert all(r.output == r.input[-1].content for r in records)
    assert all(r.input_tokens == 2 and r.output_tokens == 2 for r in records)
    by_category = {r["key"]: r for r in first.metrics["rows"] if r["group"] == "category"}
    assert by_category["even"]["n"] == 12 and by_category["even"]["k"] == 12


def test_endpoint_errors_are_recorded_per_sample_and_do_not_stop_the_run(tmp_path: Path) -> None:
    suite = _suite(30)
    with run_mock_server(fail_rate=0.4, fail_status=500, seed=3) as server:
        summary = _run(suite, _target(server.base_url, retries=1, max_concurrency=4), tmp_path / "runs")
    records = list(read_log(tmp_path / "runs" / summary.run_id / "log.jsonl"))
    assert summary.status == "complete" and len(records) == 30
    failed = [r for r in records if r.error]
    assert failed and summary.target_errors == len(failed)
    assert all(r.retries == 1 and r.output is None and "500" in r.error for r in failed)
    assert any(r.retries == 1 and not r.error for r in records)  # a retry that then succeeded
    assert summary.metrics["rows"][0]["target_errors"] == len(failed)


def test_rescore_uses_the_logged_answers_only(tmp_path: Path) -> None:
    suite = _suite(10)
    with run_mock_server(answers={"say 3": "no idea"}) as server:
        summary = _run(suite, _target(server.base_url), tmp_path / "runs")
        asked = server.requests
        spec = [ScorerSpec(name="contains", params={}), ScorerSpec(name="exact")]
        rescored = asyncio.run(rescore_run(tmp_path / "runs" / summary.run_id, scorers=spec))
        assert server.requests == asked
    assert summary.score == 0.9
    assert rescored.run_id == f"{summary.run_id}.rescore-1"
    records = list(read_log(tmp_path / "runs" / rescored.run_id / "log.jsonl"))
    assert {s.scorer for r in records for s in r.scores} == {"contains", "exact"}
    assert rescored.score == 0.9  # primary scorer: the first one, contains
    assert (tmp_path / "runs" / summary.run_id / "log.jsonl").exists()  # the original is kept


def test_limit_and_seeded_sample_selection() -> None:
    suite = _suite(50)
    a = select_samples(suite, RunOptions(sample=10, seed=7))
    b = select_samples(suite, RunOptions(sample=10, seed=7))
    c = select_samples(suite, RunOptions(sample=10, seed=8))
    assert [s.id for s in a] == [s.id for s in b] != [s.id for s in c]
    assert len(a) == 10 and len(set(s.id for s in a)) == 10
    assert [s.id for s in select_samples(suite, RunOptions(limit=3))] == ["s000", "s001", "s002"]


def _project(tmp_path: Path, base_url: str, n: int) -> tuple[Path, Path]:
    """A manifest with a mock target, and a JSONL suite of n echo samples beside it."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["targets"].append(
        {"id": "mock", "kind": "openai", "base_url": base_url, "model": "mock-1", "max_concurrency": 2}
    )
    data["suites"] = []
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    suite = tmp_path / "echo.jsonl"
    suite.write_text(
        "".join(json.dumps({"id": f"q{i}", "input": f"q {i}", "target": f"q {i}"}) + "\n" for i in range(n))
    )
    return manifest, suite


def _start_cli_run(manifest: Path, suite: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "assay.cli.main",
        "eval",
        "run",
        str(suite),
        "-t",
        "mock",
        "-m",
        str(manifest),
    ]
    # A shell running pytest in the background leaves SIGINT ignored, and children inherit that;
    # give the run the default disposition so that Ctrl-C reaches it as it would from a terminal.
    return subprocess.Popen(
        [*cmd, "--no-cache", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_lines(log_dir: Path, at_least: int, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = list(log_dir.glob("*/log.jsonl"))
        if logs and logs[0].read_bytes().count(b"\n") >= at_least:
            return logs[0]
        time.sleep(0.05)
    raise AssertionError(f"no log with {at_least} lines under {log_dir}")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_killed_run_resumes_with_every_sample_exactly_once(tmp_path: Path, sig: signal.Signals) -> None:
    n = 60
    # 2 in flight at 0.1-0.2 s each: ~4.5 s for the whole run, so the signal lands mid-run
    with run_mock_server(latency_s=(0.1, 0.2)) as server:
        manifest, suite = _project(tmp_path, server.base_url, n)
        proc = _start_cli_run(manifest, suite)
        log = _wait_for_lines(tmp_path / ".assay" / "runs", 8)
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        if sig == signal.SIGINT:
            assert proc.returncode == 130
            summary = json.loads((log.parent / "summary.json").read_text())
            assert summary["status"] == "interrupted"
        done_before = log.read_bytes().count(b"\n")
        assert 0 < done_before < n
        run_id = log.parent.name
        result = runner.invoke(
            app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--resume", run_id, "--json"]
        )
        assert result.exit_code == 0, result.output
    records = list(read_log(log))
    ids = [r.sample_id for r in records]
    assert len(ids) == n and sorted(set(ids)) == sorted(f"q{i}" for i in range(n))
    outcome = json.loads(result.stdout)
    assert outcome["summary"]["status"] == "complete" and outcome["summary"]["score"] == 1.0
    # throughput and CPU add up over both processes: 60 samples, 2 in flight at >= 0.1 s each
    summary = outcome["summary"]
    assert summary["segments"] == 2
    assert summary["samples_per_s"] <= 2 / 0.1 * 1.2, summary
    assert summary["wall_s"] >= n / 2 * 0.1 * 0.8, summary
    segments = [json.loads(x) for x in (log.parent / "segments.jsonl").read_text().splitlines()]
    last = {seg["index"]: seg for seg in segments}
    assert sorted(last) == [0, 1] and all(seg["cpu_s"] > 0 for seg in last.values())
    assert summary["cpu_s"] == pytest.approx(sum(seg["cpu_s"] for seg in last.values()), abs=1e-3)
    assert summary["wall_s"] == pytest.approx(sum(seg["wall_s"] for seg in last.values()), abs=1e-3)
    assert last[0]["records"] == done_before or sig == signal.SIGKILL  # a kill loses <= 1 s of its tick


def test_unreachable_target_fails_fast_before_the_run(tmp_path: Path) -> None:
    manifest, suite = _project(tmp_path, "http://127.0.0.1:9/v1", 3)
    start = time.monotonic()
    result = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest)])
    assert result.exit_code == 2
    assert "target unavailable" in result.stderr and "127.0.0.1:9" in result.stderr
    assert time.monotonic() - start < 15
    assert not list((tmp_path / ".assay" / "runs").glob("*/log.jsonl"))


def test_cli_run_writes_report_and_evidence(tmp_path: Path) -> None:
    with run_mock_server(answers={"q 1": "wrong"}) as server:
        manifest, suite = _project(tmp_path, server.base_url, 6)
        result = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert len(outcome["evidence_ids"]) == 3
    report = Path(outcome["report"]).read_text()
    assert "q 1" in report and "wrong" in report  # the failed sample is among the worst
    assert "<svg" in report
    listed = runner.invoke(app, ["eval", "list", "-m", str(manifest)])
    assert outcome["summary"]["run_id"][:20] in listed.stdout
    verify = runner.invoke(app, ["evidence", "verify", "--home", str(tmp_path / ".assay")])
    assert verify.exit_code == 0, verify.output
    # the report carries the chain head it was built at, and that head checks out
    head = re.search(r"Built at evidence chain head <code>([^<]+)</code>", report)
    assert head, "the report names no chain head"
    held = runner.invoke(app, ["evidence", "verify", "--home", str(tmp_path / ".assay"), "--head", head[1]])
    assert held.exit_code == 0, held.output


def test_malformed_rows_are_reported_with_their_line_or_fatal_with_strict(tmp_path: Path) -> None:
    with run_mock_server() as server:
        manifest, suite = _project(tmp_path, server.base_url, 5)
        lines = suite.read_text().splitlines()
        lines.insert(2, '{"id": "broken", "input": ')
        suite.write_text("\n".join(lines) + "\n")
        ok = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"])
        assert ok.exit_code == 0, ok.output
        assert f"{suite}:3" in ok.stderr
        assert json.loads(ok.stdout)["summary"]["records"] == 5
        strict = runner.invoke(
            app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--strict"]
        )
    assert strict.exit_code == 2
    assert "invalid suite" in strict.stderr and f"{suite}:3" in strict.stderr


def test_a_fully_cached_rerun_works_with_the_target_gone(tmp_path: Path) -> None:
    """Every answer in the response cache: the re-run needs no endpoint, and says so by succeeding."""
    with run_mock_server() as server:
        manifest, suite = _project(tmp_path, server.base_url, 5)
        first = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"])
        assert first.exit_code == 0, first.output
    # the server is gone; a re-run from the cache still completes, a --no-cache run fails fast
    again = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)["summary"]
    assert summary["status"] == "complete" and summary["cache_hits"] == 5 and summary["score"] == 1.0
    fresh = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--no-cache"])
    assert fresh.exit_code == 2 and "cannot reach" in fresh.output


def test_a_fully_cached_rerun_process_imports_no_http_client(tmp_path: Path) -> None:
    """A cached `assay eval run` sends nothing, so it loads no HTTP stack (aiohttp ~60 ms, httpx ~55 ms);
    its three evidence records are appended to the chain through `sqlite3`, without SQLAlchemy (~300 ms
    with the tables), and verify like any others. Checked in a fresh process, as a user runs it."""
    with run_mock_server() as server:
        manifest, suite = _project(tmp_path, server.base_url, 5)
        first = runner.invoke(app, ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"])
        assert first.exit_code == 0, first.output
        first_folder = json.loads(first.stdout)["folder"]
        args = ["eval", "run", str(suite), "-t", "mock", "-m", str(manifest), "--json"]
        heavy = (
            "httpx",
            "aiohttp",
            "alembic",
            "sqlalchemy",
            "assay.cli.redteam",
            "assay.evals.scorers.refusal",
        )
        code = (
            "import sys\n"
            "from assay.cli.main import main\n"
            f"sys.argv = ['assay', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
            f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
            "print('HEAVY', status, heavy, file=sys.stderr)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
        assert server.requests == 5  # the re-run sent nothing
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY"))
    assert line == "HEAVY 0 []", proc.stderr[-2000:]
    outcome = json.loads(proc.stdout)
    assert outcome["summary"]["cache_hits"] == 5
    verify = runner.invoke(app, ["evidence", "verify", "--home", str(tmp_path / ".assay")])
    assert verify.exit_code == 0, verify.output
    # two runs, three records each, and the checkpoint each run ends with
    assert (
        "chain helpdesk: 6 records linked" in verify.stdout and "last signed checkpoint #6" in verify.stdout
    )
    runs = sorted(str(p) for p in (tmp_path / ".assay" / "runs").iterdir())
    assert runs == sorted([first_folder, outcome["folder"]]) and first_folder != outcome["folder"]
    assert runs[-1] == outcome["folder"]  # run ids sort in the order the runs started
