"""A small, fast OpenAI-compatible mock server for tests and benchmarks.

A raw ASGI app (no framework on the request path) served by Uvicorn on 127.0.0.1 at a free port.
It answers /v1/chat/completions deterministically (an echo of the last user turn, canned answers by
prompt, or a responder callable), with optional random latency and injected 429/5xx failures that
carry Retry-After, and counts what it was asked.

    with run_mock_server(latency_s=(0.05, 0.3), fail_rate=0.1) as server:
        ... point a target at server.base_url ...
        assert server.requests > 0

`python -m assay.evals.mockserver --port 8000` runs it in its own process, so a benchmark's client
does not share a GIL with the server; GET /_stats then reports the counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Responder = Callable[[list[dict[str, Any]], dict[str, Any]], str]


class MockConfig(BaseModel):
    """How the mock behaves. Failures come first from `fail_first`, then at random at `fail_rate`."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: str = "mock-1"
    latency_s: float | tuple[float, float] = Field(0.0, description="fixed, or a (low, high) random range")
    fail_rate: float = Field(0.0, ge=0, le=1, description="share of requests answered with a failure")
    fail_first: int = Field(0, ge=0, description="the first N chat requests fail, deterministically")
    fail_status: int | list[int] = Field(429, description="status(es) of injected failures, cycled")
    retry_after: float | None = Field(None, description="Retry-After seconds sent with 429 and 503")
    answers: dict[str, str] = Field(default_factory=dict, description="canned answer by last user prompt")
    responder: Responder | None = Field(None, description="(messages, body) -> answer text")
    seed: int = 0
    record_bodies: bool = Field(False, description="keep every request body (tests only)")
    stream_delay_s: float = Field(0.0, ge=0, description="pause before each streamed word (stream: true)")


def _word_count(text: str) -> int:
    return len(text.split())


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of OpenAI's list of content parts."""
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return content if isinstance(content, str) else str(content)


class MockApp:
    """The ASGI app and its counters."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.requests = 0
        self.chat_requests = 0
        self.statuses: Counter[int] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._rng = random.Random(config.seed)
        statuses = config.fail_status
        self._fail_statuses = [statuses] if isinstance(statuses, int) else list(statuses) or [429]
        self._failures = 0

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "chat_requests": self.chat_requests,
            "statuses": {str(k): v for k, v in self.statuses.items()},
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.requests += 1
        path: str = scope["path"]
        method: str = scope["method"]
        if method == "POST" and path.endswith("/chat/completions"):
            body = b""
            more = True
            while more:
                msg = await receive()
                body += msg.get("body", b"")
                more = msg.get("more_body", False)
            await self._chat(body, send)
        elif method == "GET" and path.endswith("/models"):
            await self._send(
                send, 200, {"object": "list", "data": [{"id": self.config.model, "object": "model"}]}
            )
        elif path == "/_stats":
            await self._send(send, 200, self.stats())
        else:
            await self._send(send, 404, {"error": {"message": f"no route {method} {path}"}})

    async def _send(
        self, send: Any, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
    ):
        data = json.dumps(payload).encode()
        self.statuses[status] += 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ]
                + (headers or []),
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def _stream(self, send: Any, model: str, text: str) -> None:
        """Server-sent events as OpenAI streams them: a role delta, then one delta per word (with the
        space before it), `stream_delay_s` apart, a final chunk with finish_reason, then [DONE]."""
        self.statuses[200] += 1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
            }
        )
        rid = f"mock-{self.chat_requests}"

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        await send({"type": "http.response.body", "body": event({"role": "assistant"}), "more_body": True})
        words = text.split(" ")
        for i, word in enumerate(words):
            if self.config.stream_delay_s:
                await asyncio.sleep(self.config.stream_delay_s)
            piece = word if i == 0 else " " + word
            await send({"type": "http.response.body", "body": event({"content": piece}), "more_body": True})
        tail = event({}, "stop") + b"data: [DONE]\n\n"
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    def _should_fail(self) -> int | None:
        cfg = self.config
        n = self.chat_requests
        if n <= cfg.fail_first or (cfg.fail_rate and self._rng.random() < cfg.fail_rate):
            status = self._fail_statuses[self._failures % len(self._fail_statuses)]
            self._failures += 1
            return status
        return None

    async def _chat(self, raw: bytes, send: Any) -> None:
        cfg = self.config
        self.chat_requests += 1
        latency = cfg.latency_s
        if isinstance(latency, tuple | list):
            latency = self._rng.uniform(latency[0], latency[1])
        if latency:
            await asyncio.sleep(latency)
        try:
            body = json.loads(raw)
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            await self._send(send, 400, {"error": {"message": "body must be JSON with 'messages'"}})
            return
        if cfg.record_bodies:
            self.bodies.append(body)
        status = self._should_fail()
        if status is not None:
            headers = []
            if cfg.retry_after is not None and status in (429, 503):
                headers.append((b"retry-after", f"{cfg.retry_after:g}".encode()))
            await self._send(send, status, {"error": {"message": f"injected {status}"}}, headers)
            return
        prompt = _text(
            next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        )
        if cfg.responder is not None:
            text = cfg.responder(messages, body)
        elif prompt in cfg.answers:
            text = cfg.answers[prompt]
        else:
            text = prompt
        prompt_tokens = sum(_word_count(str(m.get("content", ""))) for m in messages)
        if body.get("stream") is True:
            await self._stream(send, body.get("model") or cfg.model, text)
            return
        await self._send(
            send,
            200,
            {
                "id": f"mock-{self.chat_requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model") or cfg.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": _word_count(text),
                    "total_tokens": prompt_tokens + _word_count(text),
                },
            },
        )


class MockServer:
    """A running mock: `base_url` ends in /v1, like an OpenAI-compatible server's."""

    def __init__(self, app: MockApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.base_url = f"http://{host}:{port}/v1"

    @property
    def requests(self) -> int:
        """Chat-completion requests received (including those answered with an injected failure)."""
        return self.app.chat_requests

    @property
    def statuses(self) -> Counter[int]:
        return self.app.statuses

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return self.app.bodies


def listen_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket whose accepted connections send small writes at once.

    asyncio turns Nagle's algorithm off only for sockets whose proto is IPPROTO_TCP; a socket made
    with proto 0 (and the connections it accepts) kept it on, so every response written as headers
    then body waited ~40 ms for the client's delayed ACK, capping a connection at ~23 requests/s.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextmanager
def serve_asgi(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve any ASGI app from a background Uvicorn thread; yields its root URL (no trailing slash)."""
    import uvicorn

    sock = listen_socket(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="assay-asgi", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def run_mock_server(host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[MockServer]:
    """Serve the mock from a background thread for the duration of the block."""
    app = MockApp(MockConfig(**config))
    with serve_asgi(app, host, port) as root:
        yield MockServer(app, host, int(root.rsplit(":", 1)[1]))


def main(argv: list[str] | None = None) -> None:
    """Run the mock in the foreground (for benchmarks that want it in a separate process)."""
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="python -m assay.evals.mockserver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0], help="seconds, or LOW HIGH")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, nargs="+", default=[429])
    parser.add_argument("--retry-after", type=float, default=None)
    parser.add_argument("--answers", help="JSON file: {prompt: answer}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stream-delay", type=float, default=0.0, help="seconds before each streamed word")
    args = parser.parse_args(argv)
    answers: dict[str, str] = {}
    if args.answers:
        with open(args.answers, encoding="utf-8") as fh:
            answers = json.load(fh)
    latency = args.latency[0] if len(args.latency) == 1 else (args.latency[0], args.latency[1])
    app = MockApp(
        MockConfig(
            latency_s=latency,
            fail_rate=args.fail_rate,
            fail_status=args.fail_status,
            retry_after=args.retry_after,
            answers=answers,
            seed=args.seed,
            stream_delay_s=args.stream_delay,
        )
    )
    sock = listen_socket(args.host, args.port)
    print(f"http://{args.host}:{sock.getsockname()[1]}/v1", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11", loop="asyncio")
    )
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
