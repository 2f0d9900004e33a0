"""The generic `http` target against a tiny Starlette app served on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assay.evals.mockserver import serve_asgi
from assay.evals.models import Message
from assay.evals.targets import build_target
from assay.evals.targets.base import GenerationParams, TargetError, TargetUnavailable
from assay.evals.targets.http import HTTPTarget
from assay.evals.targets.limits import Backoff
from assay.manifest.schema import Target as TargetSpec

CHAT = [
    Message(role="system", content="be brief"),
    Message(role="user", content="first"),
    Message(role="assistant", content="ok"),
    Message(role="user", content="What is the refund policy?"),
]


class HelpdeskApp:
    """An application that is not OpenAI-compatible: its own request and response shapes."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next = 0
        self.app = Starlette(routes=[Route("/ask", self.ask, methods=["POST"])])

    async def ask(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.seen.append(body)
        self.headers.append(dict(request.headers))
        if self.fail_next:
            self.fail_next -= 1
            return JSONResponse({"error": "busy"}, status_code=503)
        question = body["input"]["question"]
        return JSONResponse(
            {
                "result": {
                    "answers": [{"content": f"ANSWER to {question}"}],
                    "turns": len(body["input"]["history"]),
                }
            }
        )


@pytest.fixture
def helpdesk() -> Iterator[tuple[HelpdeskApp, str]]:
    app = HelpdeskApp()
    with serve_asgi(app.app) as root:
        yield app, f"{root}/ask"


def _call(target: HTTPTarget, messages: list[Message] = CHAT, params: GenerationParams | None = None):  # noqa: ANN201
    async def go():  # noqa: ANN202
        try:
            return await target.generate(messages, params or GenerationParams())
        finally:
            await target.aclose()

    return asyncio.run(go())


TEMPLATE = {
    "input": {"question": "{{prompt}}", "history": "{{messages}}", "note": "system says: {{system}}"},
    "options": {"max_len": "{{max_tokens}}", "temperature": "{{temperature}}"},
}


def test_json_template_and_jsonpath(
    helpdesk: tuple[HelpdeskApp, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, url = helpdesk
    monkeypatch.setenv("ASSAY_TEST_APP_KEY", "k-123")
    spec = TargetSpec(
        id="helpdesk",
        kind="http",
        base_url=url,
        request_template=TEMPLATE,
        response_path="$.result.answers[0].content",
        headers={"X-Api-Key": "${ASSAY_TEST_APP_KEY}", "X-Client": "assay"},
    )
    target = build_target(spec)
    assert isinstance(target, HTTPTarget)
    done = _call(target, params=GenerationParams(max_tokens=50))
    assert done.text == "ANSWER to What is the refund policy?"
    assert done.retries == 0 and done.latency_s > 0
    sent = app.seen[0]
    assert sent["input"]["history"][1] == {"role": "user", "content": "first"}  # a list stays a list
    assert sent["input"]["note"] == "system says: be brief"
    assert sent["options"] == {"max_len": 50, "temperature": 0.0}  # numbers stay numbers
    assert app.headers[0]["x-api-key"] == "k-123" and app.headers[0]["x-client"] == "assay"


def test_jinja_string_template(helpdesk: tuple[HelpdeskApp, str]) -> None:
    app, url = helpdesk
    template = (
        '{"input": {"question": {{ prompt | tojson }}, '
        '"history": [{% for m in messages %}{{ m.content | tojson }}'
        "{% if not loop.last %},{% endif %}{% endfor %}]}}"
    )
    target = HTTPTarget("jinja", url, request_template=template, response_path="$.result.answers[0].content")
    done = _call(target)
    assert done.text == "ANSWER to What is the refund policy?"
    assert app.seen[0]["input"]["history"] == ["be brief", "first", "ok", "What is the refund policy?"]


def test_retries_a_503_then_answers(helpdesk: tuple[HelpdeskApp, str]) -> None:
    app, url = helpdesk
    app.fail_next = 2
    target = HTTPTarget(
        "retry",
        url,
        request_template=TEMPLATE,
        response_path="$.result.answers[0].content",
        backoff=Backoff(retries=3, base_s=0.01),
    )
    done = _call(target)
    assert done.retries == 2 and done.text.startswith("ANSWER")


def test_missing_answer_path_is_a_target_error(helpdesk: tuple[HelpdeskApp, str]) -> None:
    _, url = helpdesk
    target = HTTPTarget("nopath", url, request_template=TEMPLATE, response_path="$.result.missing")
    with pytest.raises(TargetError, match=r"nothing at \$\.result\.missing"):
        _call(target)


def test_bad_jsonpath_is_reported_at_build() -> None:
    with pytest.raises(ValueError, match="bad response_path"):
        HTTPTarget("bad", "http://127.0.0.1:9/x", response_path="$[[[")


def test_missing_header_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSAY_TEST_NOPE", raising=False)
    target = HTTPTarget("h", "http://127.0.0.1:9/x", headers={"Authorization": "Bearer ${ASSAY_TEST_NOPE}"})
    with pytest.raises(TargetUnavailable, match="ASSAY_TEST_NOPE"):
        asyncio.run(target.preflight())


def test_preflight(helpdesk: tuple[HelpdeskApp, str]) -> None:
    _, url = helpdesk
    target = HTTPTarget("h", url)

    async def check() -> None:
        await target.preflight()  # GET on a POST route answers 405: reachable is enough
        await target.aclose()

    asyncio.run(check())
