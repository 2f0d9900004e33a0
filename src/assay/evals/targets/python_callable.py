"""Kind `python`: a function in the same process (`module:function`), to test an application without
putting it behind a server.

The function is called as `fn(messages, params)`: `messages` is a list of {"role", "content"} dicts
and `params` a dict (max_tokens, temperature, … merged with the manifest's `params`). It may be sync
(run in a worker thread so the event loop stays free) or async, and returns either the answer text or a
dict with `text` and, optionally, `input_tokens`, `output_tokens`, `model`, `finish_reason`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.evals.models import Completion, Message
from assay.evals.targets import register_target
from assay.evals.targets.base import GenerationParams, Target, TargetError, TargetUnavailable
from assay.evals.targets.common import call_params, message_dicts
from assay.evals.targets.limits import TokenBucket

if TYPE_CHECKING:
    from assay.manifest.schema import Target as TargetSpec


def load_callable(ref: str, base_dir: Path | None = None) -> Callable[..., Any]:
    """Import `module:function` (dots after the colon reach attributes); the manifest's folder is
    importable, so a module beside assay.yaml works."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise TargetUnavailable(f"callable {ref!r} is not of the form module:function")
    if base_dir is not None and str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetUnavailable(f"cannot import module {module_name!r} for callable {ref!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise TargetUnavailable(f"module {module_name!r} has no attribute {attr!r}") from exc
    if not callable(obj):
        raise TargetUnavailable(f"{ref!r} is not callable")
    return obj


@register_target("python")
class PythonTarget(Target):
    """Calls a Python function per sample; sync functions go to a worker thread."""

    kind = "python"

    def __init__(
        self,
        id: str,
        callable_ref: str,
        *,
        fn: Callable[..., Any] | None = None,
        base_dir: Path | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        max_concurrency: int = 8,
        rate_limit_per_s: float | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(id, max_concurrency)
        self.callable_ref = callable_ref
        self.base_dir = base_dir
        self.system_prompt = system_prompt
        self.params = dict(params or {})
        self.timeout_s = timeout_s
        self.limiter = TokenBucket(rate_limit_per_s) if rate_limit_per_s else None
        self._fn = fn
        self._is_async = False if fn is None else _is_async(fn)

    @classmethod
    def from_spec(cls, spec: TargetSpec, base_dir: Path | None = None) -> PythonTarget:
        return cls(
            spec.id,
            spec.callable or "",
            base_dir=base_dir,
            system_prompt=spec.system_prompt,
            params=spec.params,
            max_concurrency=spec.max_concurrency,
            rate_limit_per_s=spec.rate_limit_per_s,
            timeout_s=spec.timeout_s,
        )

    @property
    def fn(self) -> Callable[..., Any]:
        """Imported on first use (or at preflight), so building the target never runs user code."""
        if self._fn is None:
            self._fn = load_callable(self.callable_ref, self.base_dir)
            self._is_async = _is_async(self._fn)
        return self._fn

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        try:
            fn = self.fn
        except TargetUnavailable as exc:
            raise TargetError(str(exc)) from exc
        if self.limiter is not None:
            await self.limiter.acquire()
        dicts = message_dicts(messages, self.system_prompt)
        merged = call_params(params, self.params)
        start = time.perf_counter()
        try:
            if self._is_async:
                result = await asyncio.wait_for(fn(dicts, merged), self.timeout_s)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(fn, dicts, merged), self.timeout_s)
        except TimeoutError as exc:
            raise TargetError(
                f"target {self.id!r}: {self.callable_ref} took longer than {self.timeout_s:g} s"
            ) from exc
        except TargetError:
            raise
        except Exception as exc:  # the app under test failed: record it on the sample
            raise TargetError(
                f"target {self.id!r}: {self.callable_ref} raised {type(exc).__name__}: {exc}"
            ) from exc
        latency = time.perf_counter() - start
        if isinstance(result, str):
            return Completion(text=result, latency_s=latency)
        if isinstance(result, dict) and isinstance(result.get("text"), str):
            return Completion(
                text=result["text"],
                model=str(result.get("model") or ""),
                finish_reason=result.get("finish_reason"),
                input_tokens=result.get("input_tokens"),
                output_tokens=result.get("output_tokens"),
                latency_s=latency,
            )
        raise TargetError(
            f"target {self.id!r}: {self.callable_ref} returned {type(result).__name__}; "
            "expected a str or a dict with 'text'"
        )

    async def preflight(self) -> None:
        self.fn  # noqa: B018 - importing is the check

    def identity(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "callable": self.callable_ref,
            "params": self.params,
            "system_prompt": self.system_prompt,
        }


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
