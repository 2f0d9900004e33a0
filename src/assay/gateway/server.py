"""The gateway's HTTP server: OpenAI's chat-completions API in front of one manifest target.

A request is checked on the way in (the input rules), sent to the target, and its answer checked on
the way out (the output rules). Errors use OpenAI's error shape, so an OpenAI client reports them as
usual: 400 malformed, 404 unknown model, 413 too large, 502 target unreachable, 504 target too slow.
A blocked request or answer is not an error: the caller gets a normal completion whose content is the
rule's message and whose `finish_reason` is `content_filter` (header `Assay-Gateway-Action: block`).

Streaming: the answer's deltas pass through as they come, except the unfinished last word and any
trailing run of digits, spaces and dashes (plus `stream_window_chars` more, 0 by default), which are
held back until more text (or the end) shows whether a rule matches across the chunk boundary; a
match that is still to be redacted is never released in part. A block mid-stream ends the stream with
a final chunk saying why. The system-prompt leak check runs on the text so far with a stricter
trigger while streaming (a few repeated word 4-grams), so only a few words can pass before it stops.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

import orjson
from aiohttp import web

from assay.gateway.engine import RANK, Decision, Guard
from assay.gateway.log import DecisionLog
from assay.gateway.upstream import Upstream, UpstreamError

ACTION_HEADER = "Assay-Gateway-Action"
PROVENANCE_HEADER = "Assay-Provenance-Manifest"
LEDGER_HEADER = "Assay-Provenance-Ledger"  # the ledger id of a watermarked answer (--watermark)
RECENT = 10_000  # decisions kept in memory for `gateway eval` (the log keeps them all)
LOG_FLUSH_S = 0.2  # decision-log lines reach the file this long after a request, in one write


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response encoded by orjson (several times cheaper than aiohttp's default `json.dumps`)."""
    return web.Response(
        body=orjson.dumps(doc), status=status, headers=headers, content_type="application/json"
    )


def openai_error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return json_response(body, status=status)


_TAIL = re.compile(r"(?:[+\d][\d\s().+-]*)?[^\s]*$")


def safe_release_point(text: str) -> int:
    """How much of a growing answer can go out now: all but its unfinished last word and a trailing
    run of digits (a card or phone number may be arriving in groups)."""
    m = _TAIL.search(text)
    return m.start() if m else len(text)


# OpenAI's sampling parameters the gateway understands: (name, whole number?, lowest, highest)
# (whole numbers stay below 2**53: a JSON parser may read a larger one as an inexact float)
_PARAMS = (
    ("max_tokens", True, 1, 2**31 - 1),
    ("max_completion_tokens", True, 1, 2**31 - 1),
    ("temperature", False, 0, 2),
    ("top_p", False, 0, 1),
    ("seed", True, -(2**53 - 1), 2**53 - 1),
)


def check_params(body: dict[str, Any]) -> tuple[str, str] | None:
    """The first sampling parameter that is not what OpenAI's API allows, and what it must be (a
    target that is not an HTTP model gets these values directly, so they are checked here). A whole
    number written as 2.0 is one (as JSON Schema counts it) and is passed on as 2."""
    for name, whole, low, high in _PARAMS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return name, "a whole number" if whole else "a number"
        if whole and isinstance(value, float):
            if not value.is_integer() or abs(value) >= 2**53:
                return name, f"a whole number between {low} and {high}"
            body[name] = value = int(value)
        if not low <= value <= high:
            return name, f"between {low} and {high}"
    return None


@functools.cache
def _openapi_template() -> dict[str, Any]:
    from importlib import resources

    from assay.yamlio import safe_load

    text = resources.files("assay.gateway").joinpath("data/openapi.yaml").read_text("utf-8")
    return safe_load(text, file="openapi.yaml")  # type: ignore[no-any-return]


def _error404(message: str) -> web.Response:
    return openai_error(404, message, "invalid_request_error", code="not_found")


def _completion(rid: str, model: str, text: str, finish: str) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
    }


def _chunk(rid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    doc = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(doc) + b"\n\n"


def _content_text(content: Any) -> str | None:
    """A message's text: a string, or a list of text parts. None for anything else, images and
    audio parts included: the rules read text only, so nothing passes that they cannot read."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content
    ):
        return "\n".join(p["text"] for p in content)
    return None


class Gateway:
    """One running gateway: its rules, its target, its decision log."""

    def __init__(
        self,
        guard: Guard,
        upstream: Upstream,
        log: DecisionLog | None,
        *,
        system: str = "",
        signer: Any = None,
        on_severe: Any = None,
        watermark: Any = None,
    ) -> None:
        self.guard = guard
        self.upstream = upstream
        self.log = log
        self.system = system
        self.models = {upstream.model, upstream.spec.id}
        self.severe: list[dict[str, Any]] = []
        self.decisions: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.counts = {"requests": 0, "blocked": 0, "redacted": 0, "flagged": 0}
        self.signer = signer  # (text) -> (ledger_id, sidecar manifest bytes), or None: answers not signed
        self.sidecars: OrderedDict[int, bytes] = OrderedDict()
        self.on_severe = on_severe  # (decision entry) -> incident id, run off the event loop
        # a service.Watermarker (the bundled target writes with the watermark; answers are recorded)
        self.watermark = watermark
        self.incidents: list[str] = []
        self._pending: set[Any] = set()
        self._flush_handle: Any = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.guard.rules.max_body_bytes, middlewares=[self._errors])
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/healthz", self.health)
        app.router.add_get("/v1/provenance/{ledger_id}", self.sidecar)
        app.router.add_get("/openapi.json", self.openapi_json)
        app.on_cleanup.append(self._cleanup)
        return app

    def _open_incident(self, entry: dict[str, Any]) -> None:
        """A severe rule fired: open an incident (assay.incidents) without holding up the answer."""
        import asyncio

        future = asyncio.get_running_loop().run_in_executor(None, self.on_severe, entry)
        self._pending.add(future)

        def done(f: Any) -> None:
            self._pending.discard(f)
            if f.exception() is None:
                self.incidents.append(f.result())
                entry["incident"] = f.result()
            else:
                entry["incident_error"] = str(f.exception())[:500]

        future.add_done_callback(done)

    async def _cleanup(self, _app: web.Application) -> None:
        import asyncio

        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        await self.upstream.aclose()
        if self.log is not None:
            self.log.close()

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            limit = self.guard.rules.max_body_bytes
            return openai_error(
                413, f"the request body is larger than {limit} bytes", "invalid_request_error"
            )
        except web.HTTPNotFound:
            return openai_error(404, f"no route {request.method} {request.path}", "invalid_request_error")
        except web.HTTPMethodNotAllowed as exc:
            resp = openai_error(
                405, f"{request.method} is not allowed on {request.path}", "invalid_request_error"
            )
            resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
            return resp

    def openapi(self) -> dict[str, Any]:
        """The gateway's OpenAPI document (data/openapi.yaml), with `model` narrowed to the ids served."""
        import copy

        doc = copy.deepcopy(_openapi_template())
        model = doc["components"]["schemas"]["ChatRequest"]["properties"]["model"]
        model["enum"] = [*sorted(self.models), None]
        return doc

    async def openapi_json(self, _request: web.Request) -> web.Response:
        return json_response(self.openapi())

    async def health(self, _request: web.Request) -> web.Response:
        return json_response({"status": "ok", **self.counts})

    async def list_models(self, _request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "owned_by": "assay-gateway"} for m in sorted(self.models)]
        return json_response({"object": "list", "data": data})

    def _parse(self, raw: bytes) -> tuple[dict[str, Any] | None, web.Response | None]:
        try:
            body = orjson.loads(raw)  # NaN, Infinity and lone surrogates are refused: not JSON
        except ValueError as exc:
            return None, openai_error(400, f"the body is not valid JSON: {exc}", "invalid_request_error")
        if not isinstance(body, dict):
            return None, openai_error(400, "the body must be a JSON object", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return None, openai_error(
                400, "'messages' must be a non-empty list", "invalid_request_error", param="messages"
            )
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                return None, openai_error(
                    400,
                    f"messages[{i}] must be an object with a 'role'",
                    "invalid_request_error",
                    param="messages",
                )
            if _content_text(m.get("content")) is None:
                return None, openai_error(
                    400,
                    f"messages[{i}].content must be a string or a list of text parts "
                    '({"type": "text", "text": ...}); the gateway passes only text it can check',
                    "invalid_request_error",
                    param="messages",
                )
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            return None, openai_error(400, "'model' must be a string", "invalid_request_error", param="model")
        if model is not None and model not in self.models:
            return None, openai_error(
                404,
                f"the model '{str(model)[:100]}' does not exist here; it serves {sorted(self.models)}",
                "invalid_request_error",
                code="model_not_found",
                param="model",
            )
        if body.get("stream") is not None and not isinstance(body["stream"], bool):
            return None, openai_error(
                400, "'stream' must be true or false", "invalid_request_error", param="stream"
            )
        problem = check_params(body)
        if problem is not None:
            name, what = problem
            return None, openai_error(400, f"'{name}' must be {what}", "invalid_request_error", param=name)
        return body, None

    def _check_input(self, body: dict[str, Any]) -> Decision:
        """Decide on the caller's messages (not the deployer's system prompt); redact them in place."""
        texts = [(i, _content_text(m.get("content")) or "") for i, m in enumerate(body["messages"])]
        caller = [(i, t) for i, t in texts if body["messages"][i].get("role") != "system"]
        decision = self.guard.decide("input", "\n\n".join(t for _, t in caller))
        if decision.action == "redact":
            for i, t in caller:
                per = self.guard.decide("input", t)
                if per.action == "redact":
                    body["messages"][i] = {
                        **body["messages"][i],
                        "content": self.guard.apply_redactions(t, per),
                    }
        return decision

    def _record(
        self, rid: str, raw: bytes, stream: bool, decisions: list[Decision], t0: float, up: float
    ) -> None:
        action = max((d.action for d in decisions), key=RANK.__getitem__)
        self.counts["requests"] += 1
        if action == "block":
            self.counts["blocked"] += 1
        elif action == "redact":
            self.counts["redacted"] += 1
        elif action == "flag":
            self.counts["flagged"] += 1
        fired = [{"stage": d.stage, **f.as_dict()} for d in decisions for f in d.fired]
        severe = [f for f in fired if f["severe"]]
        total = (time.perf_counter() - t0) * 1000
        entry = {
            "at": time.time(),
            "request_id": rid,
            "request_sha256": hashlib.sha256(raw).hexdigest(),
            "system": self.system,
            "target": self.upstream.spec.id,
            "stream": stream,
            "action": action,
            "fired": fired,
            "latency_ms": round(total, 3),
            "upstream_ms": round(up * 1000, 3),
            "gateway_ms": round(total - up * 1000, 3),
        }
        self.decisions.append(entry)
        if severe:
            self.severe.append(entry)
            if self.on_severe is not None:
                self._open_incident(entry)
        if self.log is not None:
            self.log.write(entry)
            if self._flush_handle is None:
                import asyncio

                self._flush_handle = asyncio.get_running_loop().call_later(LOG_FLUSH_S, self._flush_log)

    def _flush_log(self) -> None:
        self._flush_handle = None
        if self.log is not None:
            self.log.flush()

    async def chat(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        raw = await request.read()
        body, error = self._parse(raw)
        if error is not None:
            return error
        assert body is not None
        rid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        stream = bool(body.get("stream"))
        model = self.upstream.model
        inp = self._check_input(body)
        if inp.blocked:
            self._record(rid, raw, stream, [inp], t0, 0.0)
            if stream:
                return await self._stream_message(request, rid, model, inp.message, "block")
            return json_response(
                _completion(rid, model, inp.message, "content_filter"), headers={ACTION_HEADER: "block"}
            )
        if stream:
            return await self._stream(request, body, raw, rid, model, inp, t0)
        u0 = time.perf_counter()
        try:
            data, raw_answer = await self.upstream.complete(body)
        except UpstreamError as exc:
            self._record(rid, raw, stream, [inp], t0, time.perf_counter() - u0)
            kind = "upstream_timeout" if exc.status == 504 else "upstream_error"
            return openai_error(exc.status, str(exc), kind, code=kind)
        up = time.perf_counter() - u0
        try:
            text = data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            self._record(rid, raw, stream, [inp], t0, up)
            return openai_error(502, "the target's answer has no choices[0].message", "upstream_error")
        out = self.guard.decide("output", text)
        self._record(rid, raw, stream, [inp, out], t0, up)
        action = max(inp.action, out.action, key=RANK.__getitem__)
        if out.blocked:
            return json_response(
                _completion(rid, model, out.message, "content_filter"), headers={ACTION_HEADER: "block"}
            )
        if out.action == "redact":
            data["choices"][0]["message"]["content"] = self.guard.apply_redactions(text, out)
            raw_answer = None
        if not data.get("id"):
            data["id"] = rid
            raw_answer = None
        headers = {ACTION_HEADER: action}
        if self.watermark is not None:
            lid = await self._record_watermarked(data["choices"][0]["message"]["content"], rid, action)
            headers[LEDGER_HEADER] = str(lid)
        if self.signer is not None:
            headers.update(await self._sign(data["choices"][0]["message"]["content"]))
        if raw_answer is not None:  # unchanged: pass the target's bytes on rather than encode them again
            return web.Response(body=raw_answer, headers=headers, content_type="application/json")
        return json_response(data, headers=headers)

    async def _sign(self, text: str) -> dict[str, str]:
        """Sign the answer that leaves (C2PA text manifest, sidecar form) and record it in the ledger;
        the caller fetches the sidecar from /v1/provenance/ID to prove where the text came from."""
        import asyncio

        ledger_id, manifest = await asyncio.get_running_loop().run_in_executor(None, self.signer, text)
        self.sidecars[ledger_id] = manifest
        while len(self.sidecars) > RECENT:
            self.sidecars.popitem(last=False)
        return {PROVENANCE_HEADER: f"/v1/provenance/{ledger_id}"}

    async def _record_watermarked(self, text: str, rid: str, action: str) -> int:
        """Record an answer the bundled model wrote with the watermark, as it leaves (redactions
        applied), in the provenance ledger; the public checker then finds it."""
        import asyncio

        meta = {"source": "gateway", "request_id": rid, "action": action}
        return await asyncio.get_running_loop().run_in_executor(None, self.watermark.record, text, meta)

    async def sidecar(self, request: web.Request) -> web.Response:
        raw = request.match_info["ledger_id"]
        manifest = self.sidecars.get(int(raw)) if raw.isdigit() else None
        if manifest is None:
            return _error404(f"no signed answer #{raw[:20]} is held by this gateway")
        return web.Response(body=manifest, content_type="application/c2pa")

    async def _start_stream(self, request: web.Request, action: str) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", ACTION_HEADER: action}
        )
        await resp.prepare(request)
        return resp

    async def _stream_message(self, request: web.Request, rid: str, model: str, text: str, action: str):  # type: ignore[no-untyped-def]
        resp = await self._start_stream(request, action)
        await resp.write(_chunk(rid, model, {"role": "assistant", "content": text}))
        await resp.write(_chunk(rid, model, {}, "content_filter"))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        raw: bytes,
        rid: str,
        model: str,
        inp: Decision,
        t0: float,
    ) -> web.StreamResponse:
        window = self.guard.rules.stream_window_chars
        text, sent = "", 0  # everything received; how much of it has been released
        resp: web.StreamResponse | None = None
        out = Decision(stage="output")
        u0 = time.perf_counter()
        first = True
        released: list[str] = []  # what the caller received (for the watermark's ledger record)
        try:
            async for delta in self.upstream.stream(body):
                if resp is None:
                    resp = await self._start_stream(request, inp.action)
                text += delta
                out = self.guard.decide("output", text, streaming=True)
                if out.blocked:
                    break
                upto = max(sent, safe_release_point(text) - window)
                for f in out.fired:  # never release part of a match that is still to be redacted
                    for start, end, _ in f.spans:
                        if start < upto < end:
                            upto = start
                if upto > sent:
                    piece = self._release(text, sent, upto, out)
                    released.append(piece)
                    await resp.write(
                        _chunk(
                            rid,
                            model,
                            {"role": "assistant", "content": piece} if first else {"content": piece},
                        )
                    )
                    first = False
                    sent = upto
        except UpstreamError as exc:
            self._record(rid, raw, True, [inp, out], t0, time.perf_counter() - u0)
            if resp is None:
                kind = "upstream_timeout" if exc.status == 504 else "upstream_error"
                return openai_error(exc.status, str(exc), kind, code=kind)
            await resp.write(_chunk(rid, model, {"content": ""}, "error"))
            await resp.write(b"data: [DONE]\n\n")
            return resp
        up = time.perf_counter() - u0
        if resp is None:
            resp = await self._start_stream(request, inp.action)
        if out.blocked:
            why = out.message
            await resp.write(_chunk(rid, model, {"content": ("\n\n" if sent else "") + why}))
            await resp.write(_chunk(rid, model, {}, "content_filter"))
        else:
            if sent < len(text):
                piece = self._release(text, sent, len(text), out)
                released.append(piece)
                await resp.write(
                    _chunk(
                        rid, model, {"role": "assistant", "content": piece} if first else {"content": piece}
                    )
                )
            await resp.write(_chunk(rid, model, {}, "stop"))
            if self.watermark is not None and released:
                await self._record_watermarked(
                    "".join(released), rid, max(inp.action, out.action, key=RANK.__getitem__)
                )
        await resp.write(b"data: [DONE]\n\n")
        self._record(rid, raw, True, [inp, out], t0, up)
        return resp

    def _release(self, text: str, start: int, end: int, decision: Decision) -> str:
        """text[start:end] with the redactions that fall inside it applied."""
        spans = sorted(
            (s, e, label)
            for f in decision.fired
            if f.rule.action == "redact"
            for s, e, label in f.spans
            if s >= start and e <= end
        )
        out, last = [], start
        for s, e, label in spans:
            if s < last:
                continue
            out.append(text[last:s])
            out.append(f"[{label}]")
            last = e
        out.append(text[last:end])
        return "".join(out)
