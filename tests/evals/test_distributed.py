"""Scale-out over Ray: a real local Ray instance (2 CPUs) and the mock OpenAI-compatible server.

Ray workers are separate processes, so the mock listens on 127.0.0.1 where they can reach it. Scoring,
the log and the cache stay on the driver; these tests check that nothing is lost or doubled there.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from assay.evals.distributed import RayRunner, evaluate_on_ray, import_ray
from assay.evals.mockserver import run_mock_server
from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.runlog import LOG, read_log
from assay.evals.runner import RunOptions
from assay.evals.targets import build_target
from assay.manifest.schema import Target as TargetSpec
from assay.store.response_cache import ResponseCache

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install 'assay[ray]'); the scale-out tests need a local instance",
)

N = 30
WRONG = {3, 14, 25}  # samples the mock answers wrongly, so the metrics have something to count


def _prompt(i: int) -> str:
    return f"What is {i} + {i + 1}? Answer with the number only."


def _suite() -> Suite:
    return Suite(
        id="sums",
        title="Sums",
        scorers=[ScorerSpec(name="exact")],
        samples=[
            Sample(
                id=f"s{i:02d}", input=_prompt(i), target=str(2 * i + 1), category="odd" if i % 2 else "even"
            )
            for i in range(N)
        ],
    )


def _answers() -> dict[str, str]:
    return {_prompt(i): str(2 * i + 1 + (1 if i in WRONG else 0)) for i in range(N)}


def _spec(base_url: str) -> TargetSpec:
    return TargetSpec(
        id="mock", kind="openai", base_url=base_url, model="mock-1", max_concurrency=4, retries=1
    )


def _records(folder: Path) -> list:  # type: ignore[type-arg]
    return list(read_log(folder / LOG))


def _check_log(folder: Path) -> None:
    records = _records(folder)
    ids = [r.sample_id for r in records]
    assert sorted(ids) == [f"s{i:02d}" for i in range(N)], "every sample exactly once"
    for r in records:
        i = int(r.sample_id[1:])
        assert r.error is None
        assert r.output == _answers()[_prompt(i)]
        assert r.scores[0].passed is (i not in WRONG)


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """One local instance for the tests that do not test starting one (saves ~6 s a test)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'assay[ray]')")
    owned = not ray.is_initialized()
    if owned:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield
    if owned:
        ray.shutdown()


class _Stop(Exception):
    """Stands in for Ctrl-C in the middle of a run."""


# -- without Ray ---------------------------------------------------------------------------------------
def test_missing_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'assay\[ray\]'"):
        import_ray()


def test_cluster_wide_limits_are_shared_among_tasks(tmp_path: Path) -> None:
    spec = TargetSpec(
        id="mock", kind="openai", base_url="http://127.0.0.1:9/v1", max_concurrency=8, rate_limit_per_s=20
    )
    runner = RayRunner(_suite(), build_target(spec), tmp_path, target_spec=spec)
    slots, per_task, size = runner._plan(jobs=1000, cluster_cpus=16)
    assert (slots, per_task) == (8, 1)  # never more than max_concurrency calls in flight overall
    assert 1 <= size <= 16
    slots, per_task, _ = runner._plan(jobs=1000, cluster_cpus=2)
    assert (slots, per_task) == (2, 4)
    worker = TargetSpec.model_validate_json(runner._worker_spec(2, 4))
    assert worker.max_concurrency == 4 and worker.rate_limit_per_s == 10


# -- on a local Ray instance ---------------------------------------------------------------------------
@needs_ray
def test_run_spreads_samples_and_scores_each_once(tmp_path: Path) -> None:
    """RayRunner starts its own local instance, answers every sample once and stops the instance."""
    import ray

    was_running = ray.is_initialized()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with run_mock_server(answers=_answers(), latency_s=0.01) as server:
        spec = _spec(server.base_url)
        target = build_target(spec)
        runner = RayRunner(
            _suite(), target, tmp_path / "runs", target_spec=spec, address="local", num_cpus=2, cache=cache
        )
        summary = asyncio.run(runner.run())
        assert ray.is_initialized() == was_running, "an instance the run started is stopped after it"
        assert server.requests == N
        _check_log(runner.folder)
        assert summary.status == "complete" and summary.records == N and summary.target_errors == 0
        assert summary.score == pytest.approx((N - len(WRONG)) / N)
        assert summary.metrics  # rates by category and their intervals come from the driver's scoring

        # the driver filled the response cache: a second run needs neither the target nor Ray
        again = RayRunner(_suite(), target, tmp_path / "runs", target_spec=spec, num_cpus=2, cache=cache)
        summary2 = asyncio.run(again.run())
        assert server.requests == N and summary2.cache_hits == N
        _check_log(again.folder)
    cache.close()


@needs_ray
def test_resume_after_interruption_skips_finished_samples(tmp_path: Path, ray_instance: None) -> None:
    with run_mock_server(answers=_answers(), latency_s=0.02, record_bodies=True) as server:
        spec = _spec(server.base_url)
        target = build_target(spec)

        def stop_midway(done: int, total: int) -> None:
            if done >= 10:
                raise _Stop

        first = RayRunner(_suite(), target, tmp_path, target_spec=spec, chunk_size=2, progress=stop_midway)
        with pytest.raises(_Stop):
            asyncio.run(first.run())
        finished = {r.input[-1].content for r in _records(first.folder)}
        assert 10 <= len(finished) < N
        asked = len(server.bodies)

        resumed = RayRunner(_suite(), target, tmp_path, target_spec=spec, run_id=first.run_id)
        summary = asyncio.run(resumed.run(resume=True))
        assert summary.status == "complete"
        # a task cancelled at the interruption may still land a request late; it is never a finished one
        asked_again = {b["messages"][-1]["content"] for b in server.bodies[asked:]}
        assert not asked_again & finished, "finished samples are not asked again"
        assert asked_again >= set(_answers()) - finished
        _check_log(first.folder)


@needs_ray
def test_evaluate_on_ray_records_the_run(
    tmp_path: Path, ray_instance: None, example_manifest_path: Path
) -> None:
    """The service path: manifest target, suite file, response cache, report and evidence."""
    from assay.manifest.loader import load_manifest
    from assay.workspace import Workspace

    suite_file = tmp_path / "sums.yaml"
    suite_file.write_text(yaml.safe_dump(_suite().model_dump(mode="json", exclude_none=True)))
    ws = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'assay.db'}")
    with run_mock_server(answers=_answers()) as server:
        manifest = load_manifest(example_manifest_path)
        manifest = manifest.model_copy(update={"targets": [*manifest.targets, _spec(server.base_url)]})
        outcome = asyncio.run(
            evaluate_on_ray(
                ws, str(suite_file), "mock", manifest=manifest, base_dir=tmp_path, options=RunOptions()
            )
        )
    ws.close()
    assert outcome.summary.status == "complete" and outcome.summary.records == N
    assert len(outcome.evidence_ids) == 3 and Path(outcome.report).exists()
    _check_log(Path(outcome.folder))


@needs_ray
def test_a_worker_that_cannot_reach_the_target_stops_the_run_without_logging(
    tmp_path: Path, ray_instance: None
) -> None:
    """A task-level failure is not a per-sample answer: nothing is logged, so a resume asks again."""
    from assay.evals.distributed import DistributedRunError

    with run_mock_server() as server:
        closed = server.base_url  # the server is gone once the block ends
    spec = _spec(closed)
    runner = RayRunner(_suite(), build_target(spec), tmp_path, target_spec=spec)
    with pytest.raises(DistributedRunError, match="cannot use the target"):
        asyncio.run(runner.run())
    assert _records(runner.folder) == []
