"""The HTTP plumbing shared by the `openai` and `http` kinds: one pooled client per target, JSON in
and out, failures sorted into retryable and fatal, and a fast reachability probe.

The hot path is deliberately plain (orjson bytes in and out, no per-request validation models) and
runs on aiohttp: against the zero-latency mock an aiohttp request costs ~0.35 ms of CPU where an httpx
one cost 3-6 ms (measured in bench/eval_throughput.py), and its pool does not slow down as it grows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from assay.evals.targets.base import TargetUnavailable
from assay.evals.targets.limits import (
    RETRYABLE_STATUS,
    Backoff,
    Fatal,
    Retryable,
    TokenBucket,
    call_with_retries,
    parse_retry_after,
)

if TYPE_CHECKING:  # aiohttp (~60 ms to import) loads with the first session, not with the target
    import aiohttp

CONNECT_TIMEOUT_S = 3.0
PREFLIGHT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProbeResponse:
    """What preflight needs of an answer: its status, where it came from and its headers."""

    status_code: int
    url: str
    headers: dict[str, str]
    text: str


def _excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def dumps(body: Any) -> bytes:
    """JSON bytes for a request body; orjson where it can (~10x faster), the standard library for what
    orjson refuses (integers past 64 bits, other exotic values a manifest's params may hold)."""
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        import json

        return json.dumps(body, ensure_ascii=False).encode()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _forget(session: aiohttp.ClientSession) -> None:
    """Let go of a session whose event loop has ended: it cannot be awaited closed any more, and
    aiohttp would otherwise report it as unclosed when it is collected. Its sockets close with it."""
    connector = session.connector
    if connector is not None and not connector.closed:
        # on a closed loop this only marks the pool closed; a half-torn-down one may raise
        with contextlib.suppress(Exception):
            connector._close()


class JSONTransport:
    """POSTs JSON to one endpoint with the target's limits; owns the target's aiohttp session."""

    def __init__(
        self,
        *,
        what: str,
        timeout_s: float,
        max_concurrency: int,
        backoff: Backoff,
        rate_limit_per_s: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.backoff = backoff
        self.limiter = TokenBucket(rate_limit_per_s) if rate_limit_per_s else None
        self.headers = {"content-type": "application/json", "accept": "application/json", **(headers or {})}
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        """The session for the running event loop, made on first use and reused (keep-alive).

        Pooled connections belong to one event loop, so a target used from a new loop (a preflight in
        one `asyncio.run`, the run in another) gets a fresh session there. Making it lazily keeps a run
        answered wholly from the cache from importing aiohttp at all."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            import aiohttp

            if self._session is not None:
                _forget(self._session)
            self._loop = loop
            connector = aiohttp.TCPConnector(
                limit=max(1, self.max_concurrency), limit_per_host=0, keepalive_timeout=30.0
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self.timeout_s,  # waiting for a pooled connection included
                    sock_connect=min(CONNECT_TIMEOUT_S, self.timeout_s),
                    sock_read=self.timeout_s,
                ),
                trust_env=False,
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post_json(self, url: str, body: Any) -> tuple[Any, int, float]:
        """The decoded answer, the retries it took, and the seconds from first attempt to answer."""
        import aiohttp

        payload = dumps(body)
        session = self.client
        timeout_s = self.timeout_s

        async def attempt() -> Any:
            try:
                async with session.post(url, data=payload, allow_redirects=False) as resp:
                    status = resp.status
                    raw = await resp.read()
                    retry_after = resp.headers.get("retry-after")
            except TimeoutError as exc:
                raise Retryable(f"no answer from {url} within {timeout_s:g} s") from exc
            except aiohttp.ClientError as exc:
                raise Retryable(f"connection to {url} failed: {type(exc).__name__}: {exc}") from exc
            if status < 300:
                try:
                    return orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise Fatal(f"{url} answered HTTP {status} with a body that is not JSON") from exc
            if status in RETRYABLE_STATUS or status >= 500:
                raise Retryable(
                    f"HTTP {status} from {url}: {_excerpt(_decode(raw))}", parse_retry_after(retry_after)
                )
            raise Fatal(f"HTTP {status} from {url} (not retried): {_excerpt(_decode(raw))}")

        start = time.perf_counter()
        data, retries = await call_with_retries(attempt, self.backoff, self.limiter, self.what)
        return data, retries, time.perf_counter() - start

    async def probe(self, method: str, url: str, body: Any = None) -> ProbeResponse:
        """One quick request for preflight: unreachable in ≤ 3 s connect time → TargetUnavailable."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(
            total=min(self.timeout_s, PREFLIGHT_TIMEOUT_S), sock_connect=CONNECT_TIMEOUT_S
        )
        data = None if body is None else dumps(body)
        try:
            async with self.client.request(
                method, url, data=data, timeout=timeout, allow_redirects=False
            ) as resp:
                raw = await resp.read()
                return ProbeResponse(resp.status, str(resp.url), dict(resp.headers), _decode(raw))
        except TimeoutError as exc:
            raise TargetUnavailable(
                f"{self.what}: {url} did not answer in time ({type(exc).__name__})"
            ) from exc
        except aiohttp.ClientError as exc:
            raise TargetUnavailable(
                f"{self.what}: cannot reach {url}: {type(exc).__name__}: {exc or 'connection failed'}"
            ) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            _forget(session)
