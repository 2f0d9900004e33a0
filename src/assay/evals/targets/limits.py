"""Per-target limits: a token-bucket rate limiter and retries with exponential backoff and full jitter.

A remote target is called by many concurrent samples; the limiter keeps the sustained call rate at or
under `rate_limit_per_s` from the manifest, and the retry loop absorbs transient failures (429, 5xx,
timeouts, dropped connections) so that one bad second does not turn into failed samples. Anything else
(400, 401, 404 …) is a mistake in the request or the configuration and fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from assay.evals.targets.base import TargetError

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class TokenBucket:
    """An async token bucket: at most `burst` calls at once, `rate` calls per second sustained.

    Each caller reserves its token before sleeping (the count may go negative), so waiters are served
    in arrival order without a lock: the event loop runs the reservation without interruption.
    """

    __slots__ = ("rate", "capacity", "_tokens", "_last", "acquired")

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = max(1.0, float(burst))
        self._tokens = self.capacity
        self._last = time.monotonic()
        self.acquired = 0

    def _reserve(self) -> float:
        """Take one token now; return how long the caller must wait before using it."""
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        self.acquired += 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        wait = self._reserve()
        if wait > 0:
            await asyncio.sleep(wait)


class Backoff(BaseModel):
    """How long to wait between attempts: exponential with full jitter, Retry-After honoured but capped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retries: int = Field(3, ge=0, description="attempts after the first one")
    base_s: float = Field(0.5, ge=0, description="the first backoff window")
    cap_s: float = Field(20.0, ge=0, description="the largest backoff window")
    retry_after_cap_s: float = Field(60.0, ge=0, description="the longest Retry-After that is obeyed")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number `attempt` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_cap_s)
        window = min(self.cap_s, self.base_s * (2**attempt))
        return random.uniform(0.0, window)


class Retryable(Exception):
    """A transient failure: worth another attempt after a pause."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Fatal(Exception):
    """A failure that another attempt would only repeat (a bad request, a bad key, a bad answer)."""


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date; anything else is ignored."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    backoff: Backoff,
    limiter: TokenBucket | None = None,
    what: str = "target",
) -> tuple[T, int]:
    """Run `attempt` until it succeeds; return its result and the number of retries it took.

    `attempt` raises `Retryable` or `Fatal`; every attempt, retried or not, passes the rate limiter.
    After the last retry, or on a `Fatal`, a `TargetError` carrying the retry count is raised.
    """
    tries = 0
    while True:
        if limiter is not None:
            await limiter.acquire()
        try:
            return await attempt(), tries
        except Fatal as exc:
            raise TargetError(f"{what}: {exc}", retries=tries) from exc
        except Retryable as exc:
            if tries >= backoff.retries:
                suffix = f" (after {tries} retries)" if tries else ""
                raise TargetError(f"{what}: {exc}{suffix}", retries=tries) from exc
            await asyncio.sleep(backoff.delay(tries, exc.retry_after))
            tries += 1
