"""Kind `bundled`: the local SmolLM2-135M-Instruct engine as a target.

The runner hands over batches through `generate_batch` (`batch_size`, default 16). Single `generate`
calls that arrive together are gathered into batches as well: while one batch runs in the worker
thread, the next calls queue up and go in together, so concurrency turns into batching instead of
contention. The event loop never runs torch work.

`logits_processors` (a list of transformers `LogitsProcessor` objects, settable after construction)
are applied to every generation; provenance uses this hook for the text watermark.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.evals.models import Completion, Message
from assay.evals.targets import register_target
from assay.evals.targets.base import GenerationParams, Target, TargetError, TargetUnavailable
from assay.evals.targets.common import call_params, message_dicts

if TYPE_CHECKING:
    from assay.evals.bundled.engine import BundledModel
    from assay.manifest.schema import Target as TargetSpec

DEFAULT_BATCH_SIZE = 16
_ENGINE_PARAMS = ("batch_size", "threads")


@register_target("bundled")
class BundledTarget(Target):
    """The bundled model, loaded once (lazily, in a worker thread) and shared by every call."""

    kind = "bundled"

    def __init__(
        self,
        id: str = "bundled",
        *,
        gguf_path: Path | None = None,
        cache_dir: Path | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        manifest_threads: int | None = None,
        logits_processors: Sequence[Any] | None = None,
        model: BundledModel | None = None,
        max_concurrency: int = 64,
    ) -> None:
        super().__init__(id, max_concurrency)
        self.gguf_path = gguf_path
        self.cache_dir = cache_dir
        self.system_prompt = system_prompt
        self.params = {k: v for k, v in (params or {}).items() if k not in _ENGINE_PARAMS}
        self._batch_size = max(1, int(batch_size))
        self.threads = threads  # set in code: wins over ASSAY_THREADS
        self.manifest_threads = manifest_threads  # the manifest's `threads:`: ASSAY_THREADS wins over it
        self.logits_processors: list[Any] = list(logits_processors or [])
        self.engine: BundledModel | None = model
        self._load_lock: asyncio.Lock | None = None
        self._run_lock: asyncio.Lock | None = None
        self._pending: list[tuple[list[Message], GenerationParams, asyncio.Future[Completion]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_spec(cls, spec: TargetSpec, base_dir: Path | None = None) -> BundledTarget:
        """`model` may name another GGUF file (relative to the manifest); `threads:` (or the older
        `params.threads`) and `params.batch_size` tune the engine, the other params are generation
        defaults. The schema has already checked both thread settings."""
        gguf = None
        if spec.model and spec.model.endswith(".gguf"):
            gguf = Path(spec.model).expanduser()
            if not gguf.is_absolute() and base_dir is not None:
                gguf = base_dir / gguf
        params = dict(spec.params)
        return cls(
            spec.id,
            gguf_path=gguf,
            system_prompt=spec.system_prompt,
            params=params,
            batch_size=int(params.get("batch_size", DEFAULT_BATCH_SIZE)),
            manifest_threads=spec.threads if spec.threads is not None else params.get("threads"),
            max_concurrency=spec.max_concurrency,
        )

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _bind_loop(self) -> None:
        """Locks and the queue belong to one event loop; a new loop (a new `asyncio.run`) gets new ones."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._load_lock = asyncio.Lock()
            self._run_lock = asyncio.Lock()
            self._pending = []
            self._drainer = None

    async def load(self) -> BundledModel:
        """The engine, loaded on first need in a worker thread (never twice)."""
        if self.engine is not None:
            return self.engine
        self._bind_loop()
        assert self._load_lock is not None
        async with self._load_lock:
            if self.engine is None:
                from assay.evals.bundled.engine import BundledModel, ModelUnavailable
                from assay.evals.bundled.threads import ThreadSettingError

                try:
                    self.engine = await asyncio.to_thread(
                        BundledModel.load,
                        self.gguf_path,
                        cache_dir=self.cache_dir,
                        threads=self.threads,
                        manifest_threads=self.manifest_threads,
                    )
                except (ModelUnavailable, ThreadSettingError) as exc:
                    raise TargetUnavailable(f"target {self.id!r}: {exc}") from exc
        return self.engine

    async def preflight(self) -> None:
        await self.load()

    def _engine_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        merged = call_params(params, self.params)
        stop = merged.get("stop")
        return {
            "max_new_tokens": int(merged.get("max_tokens") or 256),
            "temperature": float(merged.get("temperature") or 0.0),
            "top_p": merged.get("top_p"),
            "seed": merged.get("seed"),
            "stop": [stop] if isinstance(stop, str) else stop,
            "logits_processors": list(self.logits_processors) or None,
        }

    async def _run(self, batch: list[list[Message]], params: GenerationParams) -> list[Completion]:
        """One engine call for up to `batch_size` conversations; raises TargetError for the batch."""
        try:
            engine = await self.load()
        except TargetUnavailable as exc:
            raise TargetError(str(exc)) from exc
        self._bind_loop()
        assert self._run_lock is not None
        prompts = [message_dicts(m, self.system_prompt) for m in batch]
        kwargs = self._engine_kwargs(params)
        async with self._run_lock:
            start = time.perf_counter()
            try:
                gens = await asyncio.to_thread(engine.generate, prompts, **kwargs)
            except Exception as exc:  # torch or tokenizer failure: recorded on each sample
                raise TargetError(
                    f"target {self.id!r}: generation failed: {type(exc).__name__}: {exc}"
                ) from exc
            latency = time.perf_counter() - start
        return [
            Completion(
                text=g.text,
                model=f"{engine.sha256[:12]}:SmolLM2-135M-Instruct",
                finish_reason=g.finish_reason,
                input_tokens=g.input_tokens,
                output_tokens=g.output_tokens,
                latency_s=latency,
            )
            for g in gens
        ]

    async def generate_batch(
        self, batch: list[list[Message]], params: GenerationParams
    ) -> list[Completion | TargetError]:
        out: list[Completion | TargetError] = []
        for i in range(0, len(batch), self._batch_size):
            chunk = batch[i : i + self._batch_size]
            try:
                out.extend(await self._run(chunk, params))
            except TargetError as exc:
                out.extend([exc] * len(chunk))
        return out

    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        self._bind_loop()
        fut: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append((messages, params, fut))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        """Serve queued single calls in batches of equal parameters, oldest first."""
        while self._pending:
            params = self._pending[0][1]
            take, keep = [], []
            for item in self._pending:
                if len(take) < self._batch_size and item[1] == params and not item[2].done():
                    take.append(item)
                elif not item[2].done():
                    keep.append(item)
            self._pending = keep
            if not take:
                continue
            try:
                results: list[Completion] | TargetError = await self._run([m for m, _, _ in take], params)
            except TargetError as exc:
                results = exc
            for i, (_, _, fut) in enumerate(take):
                if fut.done():
                    continue
                if isinstance(results, TargetError):
                    fut.set_exception(TargetError(str(results), results.retries))
                else:
                    fut.set_result(results[i])

    def identity(self) -> dict[str, Any]:
        from assay.evals.bundled.engine import MODEL_NAME, file_sha256, find_gguf

        try:
            gguf = self.engine.gguf_path if self.engine else (self.gguf_path or find_gguf())
            sha = self.engine.sha256 if self.engine else file_sha256(gguf)
        except Exception:  # identity must not fail; preflight reports a missing model
            sha = None
        ident: dict[str, Any] = {
            "kind": self.kind,
            "id": self.id,
            "model": MODEL_NAME,
            "gguf_sha256": sha,
            "engine": "transformers",
            "params": self.params,
            "system_prompt": self.system_prompt,
        }
        if self.logits_processors:
            ident["logits_processors"] = [_processor_identity(p) for p in self.logits_processors]
        return ident

    async def aclose(self) -> None:
        self.engine = None


def _processor_identity(processor: Any) -> Any:
    """A processor may describe itself (e.g. a watermark's key id and settings) via `identity`."""
    ident = getattr(processor, "identity", None)
    if callable(ident):
        ident = ident()
    return ident or f"{type(processor).__module__}.{type(processor).__qualname__}"
