"""What every target behind an HTTP endpoint shares: its connection settings, request headers resolved
from the environment at first use, and one JSONTransport with the target's limits and retries."""

from __future__ import annotations

from typing import Any

from assay.evals.targets.base import Target, TargetError, TargetUnavailable
from assay.evals.targets.common import expand_env, read_env
from assay.evals.targets.limits import Backoff
from assay.evals.targets.transport import JSONTransport


class RemoteTarget(Target):
    """The base of the `openai` and `http` kinds: settings, headers, the transport, closing it."""

    def __init__(
        self,
        id: str,
        *,
        model: str | None = None,
        api_key_env: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        max_concurrency: int = 8,
        rate_limit_per_s: float | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(id, max_concurrency)
        self.model = model or ""
        self.api_key_env = api_key_env
        self.system_prompt = system_prompt
        self.params = dict(params or {})
        self._extra_headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff(retries=retries)
        self._rate = rate_limit_per_s
        self._transport: JSONTransport | None = None

    def _headers(self) -> dict[str, str]:
        """Resolved at first use, so a missing variable is reported by name (its value never is).
        A bearer token from `api_key_env` is added unless the headers set Authorization themselves."""
        what = f"target {self.id!r}"
        headers = {k: expand_env(v, what) for k, v in self._extra_headers.items()}
        if self.api_key_env and not any(k.lower() == "authorization" for k in headers):
            headers["authorization"] = f"Bearer {read_env(self.api_key_env, what)}"
        return headers

    @property
    def transport(self) -> JSONTransport:
        """The target's transport; raises TargetUnavailable when a header's variable is missing."""
        if self._transport is None:
            self._transport = JSONTransport(
                what=f"target {self.id!r}",
                timeout_s=self.timeout_s,
                max_concurrency=self.max_concurrency,
                backoff=self.backoff,
                rate_limit_per_s=self._rate,
                headers=self._headers(),
            )
        return self._transport

    def call_transport(self) -> JSONTransport:
        """The transport for one call: a missing variable then fails that sample, not the run."""
        try:
            return self.transport
        except TargetUnavailable as exc:
            raise TargetError(str(exc)) from exc

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
