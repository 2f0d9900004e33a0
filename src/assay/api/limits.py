"""Limits on what one request or one client may cost the server.

A cap on request bodies, enforced before any handler buffers them: the manifest loader refuses files over
2 MiB; the server refuses bodies over the same size, both when a client announces the length and when it
streams without one. And a quota on verifications kept as evidence, per client.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


# --- the quota on kept verifications ------------------------------------------------------------------


@dataclass(frozen=True)
class KeepQuota:
    """How much one client may keep as evidence through `/verify` in a window of time.

    Verifying is free and open; keeping writes blobs and signed records that stay, so it is counted per
    client (the token, else the address) both in uploads and in bytes."""

    count: int = 100
    bytes: int = 200 * 1000 * 1000
    window_s: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeepQuota:
        """`ASSAY_KEEP_QUOTA_COUNT`, `ASSAY_KEEP_QUOTA_BYTES` and `ASSAY_KEEP_QUOTA_WINDOW_S` override
        the defaults; a value that is not a positive number is an error naming the variable."""
        env = os.environ if env is None else env
        values: dict[str, float] = {}
        for name, field, kind in (
            ("ASSAY_KEEP_QUOTA_COUNT", "count", int),
            ("ASSAY_KEEP_QUOTA_BYTES", "bytes", int),
            ("ASSAY_KEEP_QUOTA_WINDOW_S", "window_s", float),
        ):
            raw = env.get(name)
            if raw is None or not raw.strip():
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r}: expected a positive {kind.__name__}") from None
            if value <= 0:
                raise ValueError(f"{name}={raw!r}: expected a positive {kind.__name__}")
            values[field] = value
        return cls(**values)  # type: ignore[arg-type]


class QuotaExceeded(HTTPException):
    """429 with `Retry-After`: the seconds until enough of the window has passed for this upload."""

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(status_code=429, detail=detail, headers={"Retry-After": str(seconds)})


class KeepLedger:
    """What each client kept in the current window, in this process (each worker counts its own)."""

    def __init__(self, quota: KeepQuota, clock: Callable[[], float] = time.monotonic) -> None:
        self.quota = quota
        self._clock = clock
        self._kept: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def reserve(self, client: str, size: int) -> None:
        """Count one upload of `size` bytes for `client`, or raise `QuotaExceeded` and count nothing."""
        q = self.quota
        if size > q.bytes:
            raise QuotaExceeded(
                f"the upload ({size:,} bytes) is larger than the {q.bytes:,} bytes a client may keep "
                f"in {q.window_s:g} s; verify it without keep",
                q.window_s,
            )
        with self._lock:
            now = self._clock()
            kept = self._kept.setdefault(client, deque())
            while kept and kept[0][0] <= now - q.window_s:
                kept.popleft()
            used = sum(n for _, n in kept)
            if len(kept) + 1 <= q.count and used + size <= q.bytes:
                kept.append((now, size))
                return
            # the wait is until enough of the oldest uploads leave the window for this one to fit
            count, total = len(kept), used
            for at, n in kept:
                count, total = count - 1, total - n
                if count + 1 <= q.count and total + size <= q.bytes:
                    raise QuotaExceeded(
                        f"keep quota reached for {client}: at most {q.count} uploads and {q.bytes:,} "
                        f"bytes kept per {q.window_s:g} s; verifying without keep is not limited",
                        at + q.window_s - now,
                    )
            raise QuotaExceeded("keep quota reached", q.window_s)  # not reached: size <= q.bytes


# --- the rate of public incident reports ----------------------------------------------------------


class ReportLimiter:
    """At most `count` reports per client in `window_s` seconds (`ASSAY_REPORT_RATE`, e.g. `30/60`):
    the public intake is open to anyone, so one client cannot flood it. Counted per process."""

    def __init__(self, count: int = 30, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.count, self.window_s, self._clock = count, window_s, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReportLimiter:
        raw = (os.environ if env is None else env).get("ASSAY_REPORT_RATE", "").strip()
        if not raw:
            return cls()
        count, _, window = raw.partition("/")
        try:
            n, w = int(count), float(window or 60)
        except ValueError:
            raise ValueError(f"ASSAY_REPORT_RATE={raw!r}: expected COUNT/SECONDS, e.g. 30/60") from None
        if n <= 0 or w <= 0:
            raise ValueError(f"ASSAY_REPORT_RATE={raw!r}: expected positive numbers")
        return cls(n, w)

    def hit(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(client, deque())
            while seen and seen[0] <= now - self.window_s:
                seen.popleft()
            if len(seen) >= self.count:
                raise QuotaExceeded(
                    f"too many reports from {client}: at most {self.count} in {self.window_s:g} s",
                    seen[0] + self.window_s - now,
                )
            seen.append(now)
            if len(self._seen) > 100_000:  # forget idle clients rather than grow without end
                for key in [k for k, v in self._seen.items() if not v][:50_000]:
                    del self._seen[key]
