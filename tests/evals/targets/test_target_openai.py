"""The `openai` target against the real mock server on 127.0.0.1 (no patched clients)."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from assay.evals.mockserver import run_mock_server
from assay.evals.models import Message
from assay.evals.targets import build_target
from assay.evals.targets.base import GenerationParams, TargetError, TargetUnavailable
from assay.evals.targets.limits import Backoff
from assay.evals.targets.openai_compat import OpenAITarget
from assay.manifest.schema import Target as TargetSpec

FAST = Backoff(retries=3, base_s=0.01, cap_s=0.05)
HELLO = [Message(role="user", content="say hello to the assessor")]


def run(coro):  # noqa: ANN001, ANN201 - a tiny helper: each test owns its event loop
    return asyncio.run(coro)


async def _generate(target: OpenAITarget, messages=HELLO, params=None):  # noqa: ANN001, ANN202
    try:
        return await target.generate(messages, params or GenerationParams())
    finally:
        await target.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_happy_path_with_tokens_params_and_system_prompt() -> None:
    with run_mock_server(record_bodies=True) as server:
        spec = TargetSpec(
            id="mock",
            kind="openai",
            base_url=server.base_url,
            model="mock-1",
            system_prompt="You are terse.",
            params={"top_p": 0.9, "max_tokens": 32},
        )
        target = build_target(spec)
        assert isinstance(target, OpenAITarget)
        done = run(_generate(target, params=GenerationParams(temperature=0.5)))
    assert done.text == "say hello to the assessor"
    assert done.input_tokens == 3 + 5 and done.output_tokens == 5
    assert done.retries == 0 and done.latency_s > 0
    assert done.finish_reason == "stop" and done.model == "mock-1"
    body = server.bodies[0]
    assert body["top_p"] == 0.9 and body["max_tokens"] == 32  # manifest params beat unset defaults
    assert body["temperature"] == 0.5  # what the caller set beats the manifest
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert server.requests == 1


def test_retries_on_429_and_500_then_success() -> None:
    with run_mock_server(fail_first=2, fail_status=[429, 500]) as server:
        target = OpenAITarget("mock", server.base_url, "m", backoff=FAST)
        done = run(_generate(target))
    assert done.text == "say hello to the assessor"
    assert done.retries == 2
    assert server.statuses[429] == 1 and server.statuses[500] == 1 and server.requests == 3


def test_retry_after_is_honoured() -> None:
    with run_mock_server(fail_first=1, fail_status=429, retry_after=1) as server:
        target = OpenAITarget("mock", server.base_url, "m", backoff=FAST)
        start = time.perf_counter()
        done = run(_generate(target))
        elapsed = time.perf_counter() - start
    assert done.retries == 1
    assert elapsed >= 0.9  # the backoff alone would have waited at most 0.01 s


def test_retry_after_is_capped() -> None:
    with run_mock_server(fail_first=1, fail_status=503, retry_after=3600) as server:
        backoff = Backoff(retries=1, base_s=0.01, retry_after_cap_s=0.1)
        target = OpenAITarget("mock", server.base_url, "m", backoff=backoff)
        start = time.perf_counter()
        done = run(_generate(target))
    assert done.retries == 1 and time.perf_counter() - start < 5


def test_non_retryable_400_fails_at_once() -> None:
    with run_mock_server(fail_first=5, fail_status=400) as server:
        target = OpenAITarget("mock", server.base_url, "m", backoff=FAST)
        with pytest.raises(TargetError, match="HTTP 400") as err:
            run(_generate(target))
    assert err.value.retries == 0
    assert server.requests == 1


def test_retries_exhausted_report_the_count() -> None:
    with run_mock_server(fail_first=100, fail_status=500) as server:
        target = OpenAITarget("mock", server.base_url, "m", backoff=Backoff(retries=2, base_s=0.01))
        with pytest.raises(TargetError, match="after 2 retries") as err:
            run(_generate(target))
    assert err.value.retries == 2 and server.requests == 3


def test_timeout_becomes_target_error_after_retries() -> None:
    with run_mock_server(latency_s=2.0) as server:
        target = OpenAITarget(
            "slow", server.base_url, "m", timeout_s=0.2, backoff=Backoff(retries=1, base_s=0.01)
        )
        start = time.perf_counter()
        with pytest.raises(TargetError, match="within 0.2 s") as err:
            run(_generate(target))
    assert err.value.retries == 1
    assert time.perf_counter() - start < 2.0


def test_rate_limiter_bounds_the_rate() -> None:
    rate = 20.0
    with run_mock_server() as server:
        target = OpenAITarget("limited", server.base_url, "m", rate_limit_per_s=rate, max_concurrency=50)

        async def flood() -> None:
            calls = [asyncio.create_task(target.generate(HELLO, GenerationParams())) for _ in range(200)]
            await asyncio.sleep(1.0)
            for c in calls:
                c.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            await target.aclose()

        run(flood())
    # one token at start plus `rate` per second; in-flight ones may land just after the window
    assert 5 <= server.requests <= rate * 1.0 + 3


def test_preflight_passes_against_a_live_server() -> None:
    with run_mock_server() as server:
        target = OpenAITarget("mock", server.base_url, "m")

        async def check() -> None:
            await target.preflight()
            await target.aclose()

        run(check())


def test_unreachable_url_fails_fast_in_preflight() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    target = OpenAITarget("gone", url, "m")

    async def check() -> None:
        try:
            await target.preflight()
        finally:
            await target.aclose()

    start = time.perf_counter()
    with pytest.raises(TargetUnavailable, match=r"127\.0\.0\.1"):
        run(check())
    assert time.perf_counter() - start < 3.5


def test_missing_api_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_TEST_NO_SUCH_KEY", raising=False)
    target = OpenAITarget("keyed", "http://127.0.0.1:9/v1", "m", api_key_env="ASSAY_TEST_NO_SUCH_KEY")
    with pytest.raises(TargetUnavailable, match="ASSAY_TEST_NO_SUCH_KEY"):
        run(target.preflight())
    with pytest.raises(TargetError, match="ASSAY_TEST_NO_SUCH_KEY"):
        run(_generate(target))


def test_api_key_is_sent_but_never_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_TEST_KEY", "sk-very-secret")
    seen: list[str] = []

    with run_mock_server(fail_first=9, fail_status=400) as server:
        target = OpenAITarget("keyed", server.base_url, "m", api_key_env="ASSAY_TEST_KEY", backoff=FAST)
        assert target.transport.headers["authorization"] == "Bearer sk-very-secret"
        with pytest.raises(TargetError) as err:
            run(_generate(target))
        seen.append(str(err.value))
    assert "sk-very-secret" not in seen[0]


def test_many_concurrent_calls_share_one_client() -> None:
    with run_mock_server(latency_s=(0.0, 0.02)) as server:
        target = OpenAITarget("mock", server.base_url, "m", max_concurrency=16)

        async def many() -> list:
            client_ids = set()
            sem = asyncio.Semaphore(16)

            async def one(i: int):  # noqa: ANN202
                async with sem:
                    done = await target.generate([Message(role="user", content=f"q{i}")], GenerationParams())
                    client_ids.add(id(target.transport.client))
                    return done

            out = await asyncio.gather(*(one(i) for i in range(100)))
            await target.aclose()
            assert len(client_ids) == 1
            return out

        results = run(many())
    assert [r.text for r in results] == [f"q{i}" for i in range(100)]
    assert server.requests == 100


def test_target_survives_a_new_event_loop() -> None:
    """Preflight in one `asyncio.run`, the run in another: the pooled client follows the loop."""
    with run_mock_server() as server:
        target = OpenAITarget("mock", server.base_url, "m")
        run(target.preflight())
        assert run(_generate(target)).text == "say hello to the assessor"


def test_a_session_left_on_an_ended_loop_is_not_reported_unclosed(caplog: pytest.LogCaptureFixture) -> None:
    """Preflight in one `asyncio.run`, generation in the next: the first loop's aiohttp session cannot
    be awaited closed any more; it is let go without aiohttp's 'Unclosed client session' error."""
    import gc

    with run_mock_server() as server:
        target = OpenAITarget("mock", server.base_url, "m")
        run(target.preflight())

        async def once() -> str:
            try:
                return (await target.generate([Message(role="user", content="hi")], GenerationParams())).text
            finally:
                await target.aclose()

        with caplog.at_level("ERROR", logger="asyncio"):
            assert run(once()) == "hi"
            gc.collect()
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]
