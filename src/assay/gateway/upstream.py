"""The model behind the gateway: an OpenAI-compatible endpoint spoken to directly (streaming passes
through chunk by chunk), or any other manifest target through Assay's target interface (its answer
is streamed to the caller in pieces)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from yarl import URL

from assay.manifest.schema import Target as TargetSpec

try:  # the lean client needs httptools (the `gateway` and `server` extras); aiohttp's client otherwise
    from assay.gateway.wire import WireError, WirePool, request_head
except ImportError:  # pragma: no cover - every extra that runs the tests installs httptools
    WirePool = None  # type: ignore[assignment,misc]


DRAIN_S = 0.5  # after a stream's [DONE], how long its end may take before the connection is dropped


class UpstreamError(Exception):
    """The target could not answer. `status` is what the gateway answers: 502, or 504 on a timeout."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def _too_slow(timeout_s: float) -> UpstreamError:
    return UpstreamError(f"the target did not answer within {timeout_s:g} s", 504)


def _unreachable(exc: Exception) -> UpstreamError:
    return UpstreamError(f"cannot reach the target: {exc}", 502)


def _refused(status: int, body: bytes) -> UpstreamError:
    return UpstreamError(f"the target answered HTTP {status}: {body[:200]!r}", 502)


def _not_json(exc: Exception) -> UpstreamError:
    return UpstreamError(f"the target's answer is not JSON: {exc}", 502)


class Upstream:
    """One target, with a pooled HTTP session for the OpenAI-compatible kind."""

    def __init__(self, spec: TargetSpec, base_dir: Path | None = None) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.kind = str(spec.kind.value if hasattr(spec.kind, "value") else spec.kind)
        self.timeout = aiohttp.ClientTimeout(total=spec.timeout_s, sock_connect=min(10.0, spec.timeout_s))
        self._session: aiohttp.ClientSession | None = None
        self._target: Any = None
        # built once: a request's URL, headers and JSON are the per-request cost that is left
        self._url = URL(f"{(spec.base_url or '').rstrip('/')}/chat/completions")
        self._header_cache: dict[str, str] | None = None
        # a plain-HTTP target (a model served nearby) gets the lean client; HTTPS keeps aiohttp's
        self._wire: WirePool | None = None
        self._wire_head: bytes | None = None
        plain = self._url.scheme == "http" and bool(self._url.host) and self._url.user is None
        if WirePool is not None and self.kind == "openai" and plain:  # (credentials in the URL: aiohttp)
            self._wire = WirePool(
                self._url.host, self._url.port or 80, connect_timeout=min(10.0, spec.timeout_s)
            )
        self.open_streams = 0  # upstream streams in flight (a caller that hangs up must free its own)
        self.logits_processors: list[Any] = []  # a bundled target's generation hooks (the watermark)

    @property
    def model(self) -> str:
        return self.spec.model or self.spec.id

    def _headers(self) -> dict[str, str]:
        extra = {k: os.path.expandvars(v) for k, v in (self.spec.headers or {}).items()}
        headers = {"Content-Type": "application/json", **extra}
        if self.spec.api_key_env:
            key = os.environ.get(self.spec.api_key_env, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _http(self) -> aiohttp.ClientSession:
        """One keep-alive pool for the gateway's life (no cookie jar: a proxy must not carry one
        caller's cookies to the next)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
            # api keys and headers come from the environment once, when the first request goes out
            self._header_cache = self._headers()
        return self._session

    def _request(self, payload: bytes) -> bytes:
        """The whole HTTP request for the lean client: the head is built once (headers and keys read
        from the environment when the first request goes out, as for aiohttp's)."""
        if self._wire_head is None:
            url = self._url
            host = url.raw_host or ""
            host = f"[{host}]" if ":" in host else host
            if url.explicit_port:
                host = f"{host}:{url.port}"
            try:
                self._wire_head = request_head("POST", host, url.raw_path_qs, self._headers())
            except ValueError as exc:
                raise UpstreamError(f"the target's headers in the manifest cannot be sent: {exc}") from exc
        return self._wire_head + b"%d\r\n\r\n" % len(payload) + payload

    def _body(self, body: dict[str, Any], stream: bool) -> dict[str, Any]:
        out = {k: v for k, v in body.items() if k not in ("model", "stream", "stream_options")}
        out["model"] = self.spec.model or body.get("model")
        out["stream"] = stream
        if self.spec.system_prompt and not any(m.get("role") == "system" for m in out.get("messages", [])):
            out["messages"] = [{"role": "system", "content": self.spec.system_prompt}, *out["messages"]]
        return out

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        """A whole chat completion (OpenAI response shape), and the target's own bytes of it (None when
        the answer was not an HTTP body), so an answer the rules leave alone is passed on as it came."""
        if self.kind != "openai":
            return await self._via_target(body), None
        payload = orjson.dumps(self._body(body, False))
        if self._wire is not None:
            status, data = await self._post_wire(payload)
        else:
            status, data = await self._post_aiohttp(payload)
        if status >= 400:
            raise _refused(status, data)
        try:
            return orjson.loads(data), data
        except ValueError as exc:
            raise _not_json(exc) from exc

    async def _post_wire(self, payload: bytes) -> tuple[int, bytes]:
        assert self._wire is not None
        try:
            async with asyncio.timeout(self.spec.timeout_s):
                answer = await self._wire.post(self._request(payload))
        except TimeoutError as exc:
            raise _too_slow(self.spec.timeout_s) from exc
        except WireError as exc:
            raise _unreachable(exc) from exc
        return answer.status, answer.body

    async def _post_aiohttp(self, payload: bytes) -> tuple[int, bytes]:
        session = await self._http()
        try:
            async with session.post(self._url, data=payload, headers=self._header_cache) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            raise _too_slow(self.spec.timeout_s) from exc
        except aiohttp.ClientError as exc:
            raise _unreachable(exc) from exc

    @staticmethod
    def _deltas(line: bytes) -> list[str] | None:
        """The text deltas of one server-sent-events line; None at the `[DONE]` mark."""
        line = line.strip()
        if not line.startswith(b"data:"):
            return []
        event = line[5:].strip()
        if event == b"[DONE]":
            return None
        try:
            chunk = orjson.loads(event)
        except ValueError:
            return []
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        out = []
        for choice in choices if isinstance(choices, list) else []:
            delta = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
            if delta:
                out.append(delta)
        return out

    async def _stream_wire(self, payload: bytes) -> AsyncIterator[str]:
        assert self._wire is not None
        deadline = asyncio.get_running_loop().time() + self.spec.timeout_s
        pieces: AsyncIterator[bytes] | None = None
        try:
            async with asyncio.timeout_at(deadline):
                answer, pieces = await self._wire.stream(self._request(payload))
            if answer.status >= 400:
                raise _refused(answer.status, answer.body)
            buffer = b""
            while True:
                async with asyncio.timeout_at(deadline):
                    piece = await anext(pieces, None)
                if piece is None:
                    break
                buffer += piece
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    deltas = self._deltas(line)
                    if deltas is None:  # [DONE]: read the answer's end, so the connection is reused
                        await self._drain(pieces, deadline)
                        return
                    for delta in deltas:
                        yield delta
            for delta in self._deltas(buffer) or []:
                yield delta
        except TimeoutError as exc:
            raise _too_slow(self.spec.timeout_s) from exc
        except WireError as exc:
            raise _unreachable(exc) from exc
        finally:
            if pieces is not None:
                await pieces.aclose()  # type: ignore[attr-defined]

    @staticmethod
    async def _drain(pieces: AsyncIterator[bytes], deadline: float) -> None:
        """Read what follows `[DONE]` (the body's last chunk, normally already on its way) for at
        most DRAIN_S; a target that keeps the stream open after it only loses its connection."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + DRAIN_S)):
                while await anext(pieces, None) is not None:
                    pass
        except (TimeoutError, WireError):
            pass

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        """The answer's text deltas as they arrive."""
        if self.kind != "openai":
            data = await self._via_target(body)
            text = data["choices"][0]["message"]["content"] or ""
            for i in range(0, len(text), 24):
                yield text[i : i + 24]
            return
        payload = orjson.dumps(self._body(body, True))
        self.open_streams += 1
        try:
            deltas = self._stream_wire(payload) if self._wire is not None else self._stream_aiohttp(payload)
            async for delta in deltas:
                yield delta
        finally:
            self.open_streams -= 1

    async def _stream_aiohttp(self, payload: bytes) -> AsyncIterator[str]:
        session = await self._http()
        try:
            async with session.post(self._url, data=payload, headers=self._header_cache) as resp:
                if resp.status >= 400:
                    raise _refused(resp.status, await resp.read())
                async for raw in resp.content:
                    deltas = self._deltas(raw)
                    if deltas is None:
                        break
                    for delta in deltas:
                        yield delta
        except TimeoutError as exc:
            raise _too_slow(self.spec.timeout_s) from exc
        except aiohttp.ClientError as exc:
            raise _unreachable(exc) from exc

    def use_model(self, engine: Any) -> None:
        """Serve a bundled target with an engine that is already loaded (tests, and callers that hold
        one), instead of loading the model again on the first request."""
        from assay.evals.targets import build_target

        self._target = build_target(self.spec, self.base_dir)
        self._target.engine = engine
        if self.logits_processors:
            self._target.logits_processors = list(self.logits_processors)

    async def _via_target(self, body: dict[str, Any]) -> dict[str, Any]:
        from assay.evals.models import Message
        from assay.evals.targets import build_target
        from assay.evals.targets.base import GenerationParams, TargetError, TargetUnavailable

        if self._target is None:
            self._target = build_target(self.spec, self.base_dir)
            if self.logits_processors:
                self._target.logits_processors = list(self.logits_processors)
        messages = [Message(role=m["role"], content=m["content"]) for m in body["messages"]]
        # the gateway has checked these (server.check_params): whole numbers and numbers in range
        given: dict[str, Any] = {
            "max_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
            "temperature": float(body.get("temperature") or 0.0),
        }
        if body.get("top_p") is not None:
            given["top_p"] = float(body["top_p"])
        if body.get("seed") is not None:  # OpenAI's `seed`: the same seed gives the same answer
            given["seed"] = int(body["seed"])
        params = GenerationParams(**given)
        try:
            c = await self._target.generate(messages, params)
        except (TargetError, TargetUnavailable) as exc:
            raise UpstreamError(f"the target failed: {exc}", 502) from exc
        return {
            "object": "chat.completion",
            "model": c.model or self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": c.text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": c.input_tokens or 0, "completion_tokens": c.output_tokens or 0},
        }

    async def aclose(self) -> None:
        if self._wire is not None:
            self._wire.close()
        if self._session is not None:
            await self._session.close()
        if self._target is not None:
            await self._target.aclose()
