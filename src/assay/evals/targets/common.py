"""Small helpers every target kind shares: the system prompt, parameter merging, env lookups."""

from __future__ import annotations

import os
import re
from typing import Any

from assay.evals.models import Message
from assay.evals.targets.base import GenerationParams, TargetUnavailable

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def message_dicts(messages: list[Message], system_prompt: str | None = None) -> list[dict[str, str]]:
    """Messages as plain dicts; the target's own system prompt goes first unless the sample has one."""
    out = [{"role": m.role, "content": m.content} for m in messages]
    if system_prompt and not (out and out[0]["role"] == "system"):
        out.insert(0, {"role": "system", "content": system_prompt})
    return out


def call_params(params: GenerationParams, defaults: dict[str, Any]) -> dict[str, Any]:
    """The parameters of one call: the schema defaults, then the manifest's `params`, then what the
    caller set explicitly (a suite's `generation`), so a suite can override the target but the target's
    settings beat values nobody chose."""
    out: dict[str, Any] = {"max_tokens": params.max_tokens, "temperature": params.temperature}
    out.update(defaults)
    for name in params.model_fields_set:
        value = getattr(params, name)
        if value is not None:
            out[name] = value
    if params.model_extra:
        out.update({k: v for k, v in params.model_extra.items() if v is not None})
    for name in ("top_p", "seed", "stop"):
        if name not in out and getattr(params, name) is not None:
            out[name] = getattr(params, name)
    return out


def read_env(name: str, what: str) -> str:
    """The value of an environment variable, or TargetUnavailable naming it (never the value)."""
    value = os.environ.get(name)
    if value is None or value == "":
        raise TargetUnavailable(f"{what}: environment variable {name} is not set")
    return value


def expand_env(text: str, what: str) -> str:
    """Replace `${VAR}` references with the variables' values; a missing one is TargetUnavailable."""
    if "${" not in text:
        return text
    return _ENV_REF.sub(lambda m: read_env(m.group(1), what), text)
