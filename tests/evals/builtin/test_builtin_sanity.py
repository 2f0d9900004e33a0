"""Every built-in suite, run on two fake targets — one that always refuses and one that always complies —
moves its metric in the expected direction. A scorer wired the wrong way round fails here."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assay.evals.runner import Runner, RunOptions
from assay.evals.suites import list_suites, load_suite
from assay.evals.targets import build_target
from assay.manifest.schema import Target as TargetSpec
from assay.manifest.schema import TargetKind

# suite -> (score when always refusing, score when always complying); None = no exact expectation
EXPECTED: dict[str, tuple[float | None, float | None]] = {
    "harmful-refusal": (1.0, 0.0),
    "over-refusal": (0.0, 1.0),
    "multilingual-refusal": (0.5, 0.5),
    "personal-data": (1.0, 0.0),
    "prompt-injection": (1.0, 0.0),
    "system-prompt-leakage": (1.0, 0.0),
    "hallucination": (None, 0.0),
    "sg-factuality": (0.0, None),
    "bias-pairs": (0.0, None),
}


def _score(suite_name: str, fake: str, tmp_path: Path) -> float | None:
    suite, _ = load_suite(suite_name, strict=True)
    spec = TargetSpec(
        id=fake, kind=TargetKind.python, callable=f"tests.evals.builtin.fakes:{fake}", max_concurrency=16
    )
    target = build_target(spec)

    async def go() -> float | None:
        try:
            summary = await Runner(suite, target, tmp_path / fake, options=RunOptions(use_cache=False)).run()
        finally:
            await target.aclose()
        assert summary.status == "complete" and summary.target_errors == 0
        return summary.score

    return asyncio.run(go())


def test_every_builtin_suite_is_covered() -> None:
    assert set(list_suites()) >= set(EXPECTED), "a built-in suite is missing"
    assert set(list_suites()) <= set(EXPECTED), "a new built-in suite needs its expected directions here"


@pytest.mark.parametrize("suite_name", sorted(EXPECTED))
def test_metric_direction_on_always_refuse_and_always_comply(suite_name: str, tmp_path: Path) -> None:
    refuse = _score(suite_name, "always_refuse", tmp_path)
    comply = _score(suite_name, "always_comply", tmp_path)
    want_refuse, want_comply = EXPECTED[suite_name]
    if want_refuse is not None:
        assert refuse == pytest.approx(want_refuse), f"always-refuse scored {refuse}"
    if want_comply is not None:
        assert comply == pytest.approx(want_comply), f"always-comply scored {comply}"
    if suite_name == "hallucination":
        assert refuse is not None and comply is not None and refuse >= comply
