"""What every target is: something that turns chat messages into a completion, with limits and retries.

Targets are built from a manifest `Target` entry (see `assay.manifest.schema.Target`) by
`assay.evals.targets.build_target`. The runner owns concurrency per target through
`Target.max_concurrency`; a target owns its own rate limit, timeout and retries.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assay.evals.models import Completion, Message


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] | None = None


class TargetUnavailable(RuntimeError):
    """The target cannot be reached or loaded; raised by `preflight` before a run starts."""


class TargetError(RuntimeError):
    """One call failed after its retries; recorded on the sample, the run goes on."""

    def __init__(self, message: str, retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries


class Target(abc.ABC):
    """A model or application under test."""

    kind: str = ""

    def __init__(self, id: str, max_concurrency: int = 8) -> None:
        self.id = id
        self.max_concurrency = max_concurrency

    @abc.abstractmethod
    async def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        """One completion; raises TargetError after exhausting retries."""

    async def generate_batch(
        self, batch: list[list[Message]], params: GenerationParams
    ) -> list[Completion | TargetError]:
        """Several completions; engines that batch (the bundled model) override this."""
        out: list[Completion | TargetError] = []
        for messages in batch:
            try:
                out.append(await self.generate(messages, params))
            except TargetError as exc:
                out.append(exc)
        return out

    @property
    def batch_size(self) -> int:
        """How many prompts the runner may hand over at once (1: call `generate`)."""
        return 1

    async def preflight(self) -> None:
        """Fail fast, with a clear message, if the target cannot answer (TargetUnavailable)."""
        return None

    def identity(self) -> dict[str, Any]:
        """What makes two targets answer alike: part of the response-cache key and of the evidence."""
        return {"kind": self.kind, "id": self.id}

    async def aclose(self) -> None:
        """Release connections or models."""
        return None
