"""A cap on request bodies, enforced before any handler buffers them.

The manifest loader refuses files over 2 MiB; the server refuses bodies over the same size, both when a
client announces the length and when it streams without one.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.manifest.loader import MAX_MANIFEST_BYTES

MAX_BODY_BYTES = MAX_MANIFEST_BYTES
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB"


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str = TOO_LARGE) -> None:
        super().__init__(status_code=413, detail=detail)


class BodySizeLimit:
    """Pure ASGI middleware: 413 on a large Content-Length, or as soon as a stream passes the cap."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, too_large: type[BodyTooLarge] = BodyTooLarge
    ) -> None:
        """`too_large` is the error raised (and answered) when the cap is passed; routes with another
        cap pass a subclass that carries its own message."""
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = content_length(scope)
        if length is not None and length > self.max_bytes:
            await _refuse(send, self.too_large().detail)
            return

        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self.too_large()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Handlers normally turn this into a 413 themselves; this catches routes outside FastAPI.
            if started:
                raise
            await _refuse(send, self.too_large().detail)


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
