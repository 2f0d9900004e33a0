"""The accepted path of `POST /api/v1/incidents` without FastAPI's routing and dependency solving.

The public intake is the one route that must take hundreds of requests a second, and on it FastAPI's
own work (matching the route, solving dependencies, validating parameters) costs more than storing the
report. This ASGI layer sits inside the body-size limits and handles only a request it can accept as
the route would: the exact path, no query string, a JSON body that validates as `PublicReport`, an
`Idempotency-Key` of 1–200 characters if any, the client within its rate limit, and the group-commit
writer running. It then answers exactly as the route does (the same functions build the answers).
Everything else — bad JSON, a field the model refuses, a query parameter, a client over its limit, a
server without the writer — is passed on untouched, with its body, to the FastAPI route, so every error
keeps the shape and the OpenAPI document the route declares.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.incidents.batch import Pending
from assay.incidents.intake import MAX_IDEMPOTENCY_KEY, IdempotencyConflict, PublicReport
from assay.incidents.service import IncidentError

PATH = "/api/v1/incidents"


class FastIntake:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        headers: dict[bytes, list[bytes]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, []).append(value)
        chunks: list[bytes] = []
        while True:  # the body-size limits outside this layer stop an oversized body here
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        outcome = self._accept(state, scope, headers, body)
        if outcome is None:
            await self.app(scope, _replay(body, receive), send)
            return
        from assay.api.routers.incidents import accepted, body_digest, refusal

        report, key = outcome
        item = Pending(report, source="api", idempotency_key=key, body_sha256=body_digest(report))
        try:
            inc, replayed = await state.intake.submit(item)
        except (IdempotencyConflict, IncidentError) as exc:
            status, content = refusal(exc)
            await _answer(send, status, {}, json.dumps(content).encode())
            return
        status, extra, payload = accepted(state.workspace, inc, replayed)
        await _answer(send, status, extra, payload)

    @staticmethod
    def _accept(
        state: Any, scope: Scope, headers: dict[bytes, list[bytes]], body: bytes
    ) -> tuple[PublicReport, str | None] | None:
        """The report and its key when this layer may take the request; None: the route decides."""
        if not state.intake.running:
            return None
        ctype = headers.get(b"content-type", [b""])
        if len(ctype) != 1 or ctype[0].split(b";")[0].strip().lower() != b"application/json":
            return None
        keys = headers.get(b"idempotency-key", [])
        if len(keys) > 1:
            return None
        key = keys[0].decode("latin-1") if keys else None
        if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
            return None
        try:
            report = PublicReport.model_validate(json.loads(body))
        except (ValueError, ValidationError, RecursionError):
            return None
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            state.report_limiter.hit(client)
        except Exception:  # over the limit: the route answers 429 with Retry-After
            return None
        return report, key


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _answer(send: Send, status: int, extra: dict[str, str], payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
