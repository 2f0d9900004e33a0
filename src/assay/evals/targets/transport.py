"""The HTTP plumbing shared by the `openai` and `http` kinds: one pooled client per target, JSON in
and out, failures sorted into retryable and fatal, and a fast reachability probe.

The hot path is deliberately plain (bytes in, `json.loads` out, no per-request validation models)
because a remote target is benchmarked against a bare httpx loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # httpx (~55 ms to import) loads with the first client, not with the target
    import ssl

    import httpx

CONNECT_TIMEOUT_S = 3.0
PREFLIGHT_TIMEOUT_S = 10.0
CONNECTIONS_PER_CLIENT = 10


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client in the process.

    httpx builds a fresh context per client by default, loading the CA bundle each time (~35 ms);
    a target's pool has several clients and a run makes a pool per event loop, which added up to
    ~0.2 s of a fully cached `assay eval run`. Contexts are safe to share between clients."""
    import httpx

    return httpx.create_ssl_context()


"""httpcore rescans every pooled connection for each waiting request, so one pool of 50 connections
costs ~4x the CPU per request of five pools of 10 (measured in bench/eval_throughput.py)."""


def _excerpt(resp: httpx.Response, limit: int = 300) -> str:
    try:
        text = resp.text
    except Exception:  # an undecodable body still deserves a status line
        return ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


class JSONTransport:
    """POSTs JSON to one endpoint with the target's limits; owns the target's single `AsyncClient`."""

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
        self._clients: list[httpx.AsyncClient | None] = []
        self._sizes: list[int] = []
        self._in_flight: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def _new_client(self, connections: int) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            headers=self.headers,
            timeout=httpx.Timeout(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s)),
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=30.0
            ),
            follow_redirects=False,
            trust_env=False,
            verify=shared_ssl_context(),
        )

    def _pool(self) -> list[httpx.AsyncClient | None]:
        """The target's client slots for the running event loop; each client is made on first use
        (`_client_at`) and reused (keep-alive).

        Connections are split over clients of at most CONNECTIONS_PER_CLIENT each. Pooled connections
        belong to one event loop, so a target used from a new loop (a preflight in one `asyncio.run`, the
        run in another) gets fresh clients there. Making them lazily keeps a preflight, or a run answered
        wholly from the cache, from building clients it never uses (~10 ms each)."""
        loop = asyncio.get_running_loop()
        if not self._clients or self._loop is not loop:
            self._loop = loop
            total = max(1, self.max_concurrency)
            n = -(-total // CONNECTIONS_PER_CLIENT)
            self._sizes = [total // n + (1 if i < total % n else 0) for i in range(n)]
            self._clients = [None] * n
            self._in_flight = [0] * n
        return self._clients

    def _client_at(self, i: int) -> httpx.AsyncClient:
        client = self._clients[i]
        if client is None:
            client = self._clients[i] = self._new_client(self._sizes[i])
        return client

    @property
    def client(self) -> httpx.AsyncClient:
        """The first client (preflight probes and other one-off calls use it)."""
        self._pool()
        return self._client_at(0)

    async def post_json(self, url: str, body: Any) -> tuple[Any, int, float]:
        """The decoded answer, the retries it took, and the seconds from first attempt to answer."""
        import httpx

        payload = json.dumps(body, ensure_ascii=False).encode()
        clients = self._pool()
        in_flight = self._in_flight
        timeout_s = self.timeout_s

        async def attempt() -> Any:
            # the least busy client takes the request
            i = min(range(len(clients)), key=in_flight.__getitem__) if len(clients) > 1 else 0
            in_flight[i] += 1
            try:
                resp = await (clients[i] or self._client_at(i)).post(url, content=payload)
            except httpx.TimeoutException as exc:
                raise Retryable(f"no answer from {url} within {timeout_s:g} s") from exc
            except httpx.TransportError as exc:
                raise Retryable(f"connection to {url} failed: {type(exc).__name__}: {exc}") from exc
            finally:
                in_flight[i] -= 1
            status = resp.status_code
            if status < 300:
                try:
                    return json.loads(resp.content)
                except ValueError as exc:
                    raise Fatal(f"{url} answered HTTP {status} with a body that is not JSON") from exc
            if status in RETRYABLE_STATUS or status >= 500:
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                raise Retryable(f"HTTP {status} from {url}: {_excerpt(resp)}", retry_after)
            raise Fatal(f"HTTP {status} from {url} (not retried): {_excerpt(resp)}")

        start = time.perf_counter()
        data, retries = await call_with_retries(attempt, self.backoff, self.limiter, self.what)
        return data, retries, time.perf_counter() - start

    async def probe(self, method: str, url: str, body: Any = None) -> httpx.Response:
        """One quick request for preflight: unreachable in ≤ 3 s connect time → TargetUnavailable."""
        import httpx

        timeout = httpx.Timeout(min(self.timeout_s, PREFLIGHT_TIMEOUT_S), connect=CONNECT_TIMEOUT_S)
        try:
            if body is None:
                return await self.client.request(method, url, timeout=timeout)
            return await self.client.request(method, url, json=body, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise TargetUnavailable(
                f"{self.what}: {url} did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise TargetUnavailable(
                f"{self.what}: cannot reach {url}: {type(exc).__name__}: {exc or 'connection failed'}"
            ) from exc

    async def aclose(self) -> None:
        clients, self._clients = [c for c in self._clients if c is not None], []
        if clients and self._loop is asyncio.get_running_loop():
            await asyncio.gather(*(c.aclose() for c in clients))
