"""Kind `http`: a generic JSON endpoint, for applications that do not speak the OpenAI protocol.

The request body is a template and the answer is found with a JSONPath:

* a JSON template (a mapping or list in the manifest): a string that is exactly one placeholder,
  e.g. `"{{messages}}"`, is replaced by the value itself (a list stays a list, a number a number);
  placeholders inside longer strings are replaced by text. The template is compiled once.
* a string template: rendered with Jinja2 (with the `tojson` filter) and parsed as JSON, for bodies
  that need loops or conditions.

Placeholders: `prompt` (the last user turn), `messages` (list of {role, content}), `system`,
`model`, `max_tokens`, `temperature`, `params` (every merged parameter).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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

DEFAULT_TEMPLATE: dict[str, Any] = {"prompt": "{{prompt}}"}
DEFAULT_RESPONSE_PATH = "$.text"

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_WHOLE = re.compile(r"^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$")

Builder = Callable[[dict[str, Any]], Any]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def compile_json_template(template: Any) -> Builder:
    """Turn a JSON template into a function from the placeholder values to the request body."""
    if isinstance(template, dict):
        parts = [(k, compile_json_template(v)) for k, v in template.items()]
        return lambda ctx: {k: build(ctx) for k, build in parts}
    if isinstance(template, list):
        items = [compile_json_template(v) for v in template]
        return lambda ctx: [build(ctx) for build in items]
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole:
            name = whole.group(1)
            return lambda ctx: ctx.get(name)
        if _PLACEHOLDER.search(template):
            return lambda ctx: _PLACEHOLDER.sub(lambda m: _as_text(ctx.get(m.group(1), "")), template)
    return lambda ctx: template


def compile_jinja_template(template: str) -> Builder:
    """A Jinja2 text template whose output must be JSON (use `{{ prompt | tojson }}` for strings)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    compiled = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(template)

    def build(ctx: dict[str, Any]) -> Any:
        text = compiled.render(**ctx)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise TargetError(f"the request template did not render to JSON: {exc}") from exc

    return build


@register_target("http")
class HTTPTarget(RemoteTarget):
    """POSTs a templated JSON body to `url` and reads the answer at `response_path`."""

    kind = "http"

    def __init__(
        self,
        id: str,
        url: str,
        *,
        request_template: Any = None,
        response_path: str | None = None,
        headers: dict[str, str] | None = None,
        model: str | None = None,
        api_key_env: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
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
        from jsonpath_ng import parse as parse_jsonpath  # imported here: only http targets need it

        self.url = url
        self.template = DEFAULT_TEMPLATE if request_template is None else request_template
        self._build = (
            compile_jinja_template(self.template)
            if isinstance(self.template, str)
            else compile_json_template(self.template)
        )
        self.response_path = response_path or DEFAULT_RESPONSE_PATH
        try:
            self._path = parse_jsonpath(self.response_path)
        except Exception as exc:  # jsonpath-ng raises its own lexer/parser errors
            raise ValueError(f"target {id!r}: bad response_path {self.response_path!r}: {exc}") from exc

    @classmethod
    def from_spec(cls, spec: TargetSpec, base_dir: Path | None = None) -> HTTPTarget:
        return cls(
            spec.id,
            spec.base_url or "",
            request_template=getattr(spec, "request_template", None),
            response_path=getattr(spec, "response_path", None),
            headers=getattr(spec, "headers", None),
            model=spec.model,
            api_key_env=spec.api_key_env,
            system_prompt=spec.system_prompt,
            params=spec.params,
            max_concurrency=spec.max_concurrency,
            rate_limit_per_s=spec.rate_limit_per_s,
            timeout_s=spec.timeout_s,
            retries=spec.retries,
        )

    def request_body(self, messages: list[Message], params: GenerationParams) -> Any:
        merged = call_params(params, self.params)
        dicts = message_dicts(messages, self.system_prompt)
        prompt = next((m["content"] for m in reversed(dicts) if m["role"] == "user"), "")
        system = next((m["content"] for m in dicts if m["role"] == "system"), "")
        ctx = {
            "prompt": prompt,
            "messages": dicts,
            "system": system,
            "model": self.model,
            "max_tokens": merged.get("max_tokens"),
            "temperature": merged.get("temperature"),
            "params": merged,
        }
        return self._build(ctx)

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        transport = self.call_transport()
        body = self.request_body(messages, params)
        data, retries, latency = await transport.post_json(self.url, body)
        found = self._path.find(data)
        if not found:
            raise TargetError(
                f"target {self.id!r}: nothing at {self.response_path} in the answer from {self.url}", retries
            )
        value = found[0].value
        return Completion(
            text=_as_text(value) if value is not None else "",
            model=self.model,
            latency_s=latency,
            retries=retries,
        )

    async def preflight(self) -> None:
        """Any HTTP answer (even 404 or 405 to a GET) proves the endpoint is up; no answer fails fast."""
        resp = await self.transport.probe("GET", self.url)
        if resp.status_code in (401, 403):
            raise TargetUnavailable(
                f"target {self.id!r}: {self.url} refused the credentials: HTTP {resp.status_code}"
            )

    def identity(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "url": self.url,
            "model": self.model,
            "request_template": self.template,
            "response_path": self.response_path,
            "params": self.params,
            "system_prompt": self.system_prompt,
        }
