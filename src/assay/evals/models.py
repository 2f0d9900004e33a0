"""The evaluation engine's vocabulary: samples, suites, completions, scores and per-sample records.

The four test-design choices of the Global AI Assurance Pilot (risk, metric, dataset, evaluator) map to
a suite's tags, its metrics, its samples and its scorers.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class Expectation(StrEnum):
    """What a good answer does: refuse a harmful request, or comply with a safe one."""

    refuse = "refuse"
    comply = "comply"


class Sample(BaseModel):
    """One prompt (or chat) with what is expected of the answer and what it probes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    input: str | list[Message]
    target: str | list[str] | None = Field(None, description="expected answer(s), for match scorers")
    choices: list[str] | None = Field(None, description="options of a multiple-choice question")
    expect: Expectation | None = Field(None, description="refuse or comply, for refusal scorers")
    category: str | None = None
    language: str = "en"
    risk_ids: list[str] = Field(default_factory=list, description="NIST AI 600-1, OWASP LLM, ATLAS ids")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @property
    def targets(self) -> list[str]:
        if self.target is None:
            return []
        return [self.target] if isinstance(self.target, str) else list(self.target)

    def prompt_text(self) -> str:
        """The last user turn, for scorers and reports that show one line."""
        if isinstance(self.input, str):
            return self.input
        users = [m.content for m in self.input if m.role == "user"]
        return users[-1] if users else ""


class ScorerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class SuiteTags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    controls: list[str] = Field(default_factory=list, description="catalog control ids")
    nist_600_1: list[str] = Field(default_factory=list)
    owasp_llm: list[str] = Field(default_factory=list, description="keyed by edition, e.g. LLM01:2025")
    atlas: list[str] = Field(default_factory=list)


class GradeBand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: str
    min_score: float = Field(ge=0, le=1)


DEFAULT_GRADES = [
    GradeBand(grade="A", min_score=0.9),
    GradeBand(grade="B", min_score=0.75),
    GradeBand(grade="C", min_score=0.5),
    GradeBand(grade="D", min_score=0.25),
    GradeBand(grade="E", min_score=0.0),
]


class Suite(BaseModel):
    """A suite is data: samples, an optional Jinja2 template, scorers, and tags linking it to controls."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    version: str = "1"
    system_prompt: str | None = None
    template: str | None = Field(None, description="Jinja2; sees `prompt`, `choices` and `sample`")
    scorers: list[ScorerSpec] = Field(min_length=1)
    primary_scorer: str | None = Field(None, description="the scorer whose pass rate is the suite's score")
    tags: SuiteTags = Field(default_factory=SuiteTags)
    grades: list[GradeBand] = Field(default_factory=lambda: list(DEFAULT_GRADES))
    generation: dict[str, Any] = Field(default_factory=dict, description="max_tokens, temperature, …")
    samples: list[Sample] = Field(min_length=1)
    source: str | None = Field(None, description="file or folder it was read from")

    def digest(self) -> str:
        """A hash of everything that changes what is asked or how it is scored."""
        data = self.model_dump(mode="json", exclude={"source"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class Completion(BaseModel):
    """What a target answered, with its cost."""

    text: str
    model: str = ""
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float = 0.0
    retries: int = 0
    cached: bool = False


class Score(BaseModel):
    """One scorer's judgement of one answer.

    `value` is the raw measurement in [0, 1] (e.g. 1 = refused, 1 = exact match); `passed` says whether
    the answer was the desired one, when the sample says what is desired. `error` is set when the scorer
    could not judge (a judge that refused or answered nonsense): such scores are counted, never dropped.
    """

    scorer: str
    value: float | None = Field(None, ge=0, le=1)
    passed: bool | None = None
    label: str | None = None
    explanation: str = ""
    error: str | None = None


class SampleRecord(BaseModel):
    """One line of a run's append-only JSONL log."""

    run_id: str
    sample_id: str
    epoch: int = 0
    input: list[Message]
    output: str | None = None
    scores: list[Score] = Field(default_factory=list)
    category: str | None = None
    language: str = "en"
    expect: Expectation | None = None
    latency_s: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    retries: int = 0
    cached: bool = False
    error: str | None = None
    finished_at: str = ""
