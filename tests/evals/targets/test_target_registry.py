"""The registry of target kinds, the limiter and backoff, and a cheap import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.evals import targets
from assay.evals.models import Completion, Message
from assay.evals.targets import available_kinds, build_target, register_target, target_factory
from assay.evals.targets.base import GenerationParams, Target
from assay.evals.targets.limits import Backoff, TokenBucket, parse_retry_after
from assay.manifest.schema import Target as TargetSpec


def test_builtin_kinds_are_available() -> None:
    assert {"bundled", "openai", "http", "python"} <= set(available_kinds())
    for kind in ("openai", "http", "python", "bundled"):
        assert callable(target_factory(kind))


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown target kind 'carrier-pigeon'"):
        target_factory("carrier-pigeon")


def test_a_plugin_kind_registers_like_the_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "_REGISTRY", dict(targets._REGISTRY))

    @register_target("constant")
    class Constant(Target):
        @classmethod
        def from_spec(cls, spec: TargetSpec, base_dir: Path | None = None) -> Constant:
            return cls(spec.id, spec.max_concurrency)

        async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
            return Completion(text="constant")

    assert Constant.kind == "constant"
    assert "constant" in available_kinds()
    # the manifest only knows the built-in kinds, so a plugin kind is looked up by name
    target = target_factory("constant")(TargetSpec(id="c", kind="python", callable="x:y"), None)
    assert isinstance(target, Constant)
    assert asyncio.run(target.generate([], GenerationParams())).text == "constant"


def test_registering_a_non_target_fails() -> None:
    with pytest.raises(TypeError):
        register_target("nope")(int)


def test_build_target_for_each_builtin_kind() -> None:
    specs = [
        TargetSpec(id="o", kind="openai", base_url="http://127.0.0.1:9/v1", model="m"),
        TargetSpec(id="h", kind="http", base_url="http://127.0.0.1:9/ask"),
        TargetSpec(id="p", kind="python", callable="json:dumps"),
        TargetSpec(id="b", kind="bundled", params={"batch_size": 4}),
    ]
    built = [build_target(s) for s in specs]
    assert [t.kind for t in built] == ["openai", "http", "python", "bundled"]
    assert built[3].batch_size == 4
    assert built[0].identity()["base_url"] == "http://127.0.0.1:9/v1"


def test_importing_targets_is_cheap() -> None:
    code = (
        "import sys, assay.evals.targets, assay.evals.bundled;"
        "heavy = [m for m in ('torch', 'transformers', 'httpx', 'jsonpath_ng') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_token_bucket_bounds_a_window() -> None:
    async def count_in_window() -> int:
        bucket = TokenBucket(rate=50, burst=1)
        done = 0

        async def worker() -> None:
            nonlocal done
            while True:
                await bucket.acquire()
                done += 1

        tasks = [asyncio.create_task(worker()) for _ in range(10)]
        await asyncio.sleep(0.5)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return done

    n = asyncio.run(count_in_window())
    assert 10 <= n <= 50 * 0.5 + 2


def test_backoff_is_exponential_with_full_jitter_and_capped_retry_after() -> None:
    b = Backoff(retries=5, base_s=1.0, cap_s=4.0, retry_after_cap_s=10)
    for attempt, window in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        delays = [b.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= window for d in delays)
        assert max(delays) > window / 2  # jitter spreads over the whole window
    assert b.delay(0, retry_after=3) == 3
    assert b.delay(0, retry_after=300) == 10


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (parse_retry_after(future) or 0) <= 31
