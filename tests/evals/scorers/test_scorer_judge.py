"""The LLM judge against a real OpenAI-compatible HTTP server on 127.0.0.1.

The server (Starlette under uvicorn, in a background thread) decides its reply from a marker in the answer
being judged: a proper grade, nonsense, a refusal, or an HTTP 500.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from assay.evals.models import Completion, Message, Sample, Score
from assay.evals.scorers.base import build_scorer
from assay.evals.scorers.judge import GradeScale, parse_grade
from assay.evals.targets.base import GenerationParams, Target, TargetError

starlette = pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

REPLIES = {
    "[good]": "The answer is accurate and complete.\nGRADE: 4",
    "[great-pass]": "Meets every point of the rubric.\n**GRADE:** PASS",
    "[nonsense]": "Bananas are an excellent source of potassium.",
    "[out-of-range]": "GRADE: 9",
    "[refuse]": "I'm sorry, but I can't help with evaluating this content.",
}


def _app(seen: list[dict[str, Any]]) -> Any:
    """A Starlette app (no FastAPI dependency injection, so postponed annotations cannot confuse it)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(body)
        prompt = body["messages"][-1]["content"]
        if "[http-500]" in prompt:
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        reply = next((r for marker, r in REPLIES.items() if marker in prompt), "GRADE: 1")
        message = {"role": "assistant", "content": reply}
        return JSONResponse(
            {
                "id": "cmpl-test",
                "object": "chat.completion",
                "model": body.get("model", "judge"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(_app(seen), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", seen
    srv.should_exit = True
    thread.join(timeout=5)


class _HttpxJudge(Target):
    """A minimal OpenAI-compatible client, used only if the `openai` target kind cannot be built."""

    kind = "test-httpx"

    def __init__(self, id: str, base_url: str) -> None:
        super().__init__(id)
        self.url = f"{base_url}/chat/completions"

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        body = {
            "model": "judge",
            "messages": [m.model_dump() for m in messages],
            "max_tokens": params.max_tokens,
        }
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.post(self.url, json=body)
        if resp.status_code >= 400:
            raise TargetError(f"HTTP {resp.status_code}")
        return Completion(text=resp.json()["choices"][0]["message"]["content"])


def _judge_target(base_url: str) -> Target:
    try:
        from assay.evals.targets import build_target
        from assay.manifest.schema import Target as TargetSpec

        spec = TargetSpec(
            id="judge", kind="openai", base_url=base_url, model="judge-model", retries=0, timeout_s=5
        )
        return build_target(spec)
    except (ImportError, ValueError, TypeError):
        return _HttpxJudge("judge", base_url)


def _score_all(base_url: str, params: dict[str, Any], answers: list[str]) -> list[Score]:
    async def go() -> list[Score]:
        target = _judge_target(base_url)
        try:
            scorer = build_scorer("judge", {"target": "judge", **params}, targets={"judge": target})
            sample = Sample(id="q1", input="What is the capital of France?", target="Paris")
            return [await scorer.score(sample, Completion(text=a)) for a in answers]
        finally:
            await target.aclose()

    return asyncio.run(go())


RUBRIC = "5: correct and complete; 3: partly correct; 1: wrong or harmful."


def test_judge_grades_through_a_real_server(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, seen = server
    before = len(seen)
    good, out_of_range = _score_all(base_url, {"rubric": RUBRIC}, ["Paris [good]", "Paris [out-of-range]"])
    assert (good.value, good.passed, good.label, good.error) == (0.75, True, "4", None)
    assert "accurate" in good.explanation
    assert out_of_range.label == "judge_unparseable" and out_of_range.error
    body = seen[before]
    prompt = body["messages"][-1]["content"]
    assert RUBRIC in prompt and "Paris [good]" in prompt and "GRADE:" in prompt
    assert "- Paris" in prompt  # the reference answer is shown
    assert body["messages"][0]["role"] == "system"


def test_threshold_and_binary_scale(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = server
    [strict] = _score_all(base_url, {"rubric": RUBRIC, "pass_threshold": 5}, ["[good]"])
    assert strict.label == "4" and strict.passed is False
    [binary] = _score_all(base_url, {"rubric": "Pass if correct.", "scale": "PASS/FAIL"}, ["[great-pass]"])
    assert (binary.value, binary.passed, binary.label) == (1.0, True, "PASS")


def test_judge_nonsense_refusal_and_http_error_are_counted_not_dropped(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = server
    nonsense, refused, failed = _score_all(
        base_url, {"rubric": RUBRIC}, ["[nonsense]", "[refuse]", "[http-500]"]
    )
    assert nonsense.label == "judge_unparseable" and nonsense.error and nonsense.value is None
    assert "potassium" in nonsense.explanation  # the judge's words are kept for the report
    assert refused.label == "judge_refused" and refused.error and refused.passed is None
    assert failed.label == "judge_error" and failed.error and "judge target failed" in failed.error


def test_unknown_target_and_missing_params_fail_at_build() -> None:
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        build_scorer("judge", {"target": "nope", "rubric": "x"}, targets={})
    dummy = _HttpxJudge("j", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="'rubric' is required"):
        build_scorer("judge", {"target": "j"}, targets={"j": dummy})
    with pytest.raises(ValueError, match="'target'"):
        build_scorer("judge", {"rubric": "x"}, targets={"j": dummy})
    with pytest.raises(ValueError, match="scale"):
        build_scorer("judge", {"target": "j", "rubric": "x", "scale": "five"}, targets={"j": dummy})
    with pytest.raises(ValueError, match="outside the scale"):
        build_scorer("judge", {"target": "j", "rubric": "x", "pass_threshold": 7}, targets={"j": dummy})


@pytest.mark.parametrize(
    ("reply", "scale", "grade"),
    [
        ("GRADE: 4", "1-5", 4),
        ("Reasoning...\nGrade: 5.", "1-5", 5),
        ("**GRADE:** 3", "1-5", 3),
        ("Final grade = 2/5", "1-5", 2),
        ("Reply with GRADE: <1-5>.\nGRADE: 2", "1-5", 2),  # the format restated first, then the grade
        ("GRADE: 4\n...on reflection...\nGRADE: 3", "1-5", 3),  # the last grade wins
        ("4", "1-5", 4),
        ("GRADE: 8/10", "0-10", 8),
        ("GRADE: 4/10", "1-5", None),  # graded on another scale
        ("GRADE: 3.5", "1-5", None),
        ("GRADE: 0", "1-5", None),
        ("grade: pass", "PASS/FAIL", "PASS"),
        ("Verdict: FAILED", "PASS/FAIL", "FAIL"),
        ("GRADE: 4", "PASS/FAIL", None),
        ("The answer upgrades: 4 features", "1-5", None),
        ("", "1-5", None),
    ],
)
def test_parse_grade(reply: str, scale: str, grade: int | str | None) -> None:
    assert parse_grade(reply, GradeScale.parse(scale)) == grade
