"""Kind `openai`: any endpoint that speaks OpenAI's /v1/chat/completions (OpenAI, vLLM, Ollama,
LiteLLM, llama.cpp server, Azure-style proxies …)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.evals.models import Completion, Message
from assay.evals.targets import register_target
from assay.evals.targets.base import GenerationParams, TargetError, TargetUnavailable
from assay.evals.targets.common import call_params, message_dicts
from assay.evals.targets.limits import Backoff
from assay.evals.targets.remote import RemoteTarget

if TYPE_CHECKING:
    from assay.manifest.schema import Target as TargetSpec


@register_target("openai")
class OpenAITarget(RemoteTarget):
    """Chat completions over the target's pooled aiohttp session, with its limits and retries."""

    kind = "openai"

    def __init__(
        self,
        id: str,
        base_url: str,
        model: str | None = None,
        *,
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
        super().__init__(
            id,
            model=model,
            api_key_env=api_key_env,
            system_prompt=system_prompt,
            params=params,
            headers=headers,
            max_concurrency=max_concurrency,
            rate_limit_per_s=rate_limit_per_s,
            timeout_s=timeout_s,
            retries=retries,
            backoff=backoff,
        )
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"

    @classmethod
    def from_spec(cls, spec: TargetSpec, base_dir: Path | None = None) -> OpenAITarget:
        return cls(
            spec.id,
            spec.base_url or "",
            spec.model,
            api_key_env=spec.api_key_env,
            system_prompt=spec.system_prompt,
            params=spec.params,
            headers=getattr(spec, "headers", None),
            max_concurrency=spec.max_concurrency,
            rate_limit_per_s=spec.rate_limit_per_s,
            timeout_s=spec.timeout_s,
            retries=spec.retries,
        )

    def request_body(self, messages: list[Message], params: GenerationParams) -> dict[str, Any]:
        body = call_params(params, self.params)
        body["model"] = self.model
        body["messages"] = message_dicts(messages, self.system_prompt)
        return body

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        transport = self.call_transport()
        data, retries, latency = await transport.post_json(self.url, self.request_body(messages, params))
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise TargetError(
                f"target {self.id!r}: {self.url} answered without choices[0].message.content", retries
            ) from exc
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            model=data.get("model") or self.model,
            finish_reason=choice.get("finish_reason"),
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            latency_s=latency,
            retries=retries,
        )

    async def preflight(self) -> None:
        """GET {base_url}/models; where that route does not exist, a 1-token chat call instead."""
        transport = self.transport  # raises TargetUnavailable for a missing key variable
        resp = await transport.probe("GET", f"{self.base_url}/models")
        if resp.status_code in (404, 405):
            body = {"model": self.model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
            resp = await transport.probe("POST", self.url, body)
        if resp.status_code in (401, 403):
            hint = f" (key from {self.api_key_env})" if self.api_key_env else " (no api_key_env is set)"
            raise TargetUnavailable(
                f"target {self.id!r}: {self.base_url} refused the credentials{hint}: HTTP {resp.status_code}"
            )
        if resp.status_code >= 400 and resp.status_code != 429:
            raise TargetUnavailable(
                f"target {self.id!r}: {resp.url} answered HTTP {resp.status_code} to the preflight check"
            )

    def identity(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "base_url": self.base_url,
            "model": self.model,
            "params": self.params,
            "system_prompt": self.system_prompt,
        }
