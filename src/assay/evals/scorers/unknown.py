"""Rule-based, multilingual detection of an answer that admits it does not know.

For questions about things that do not exist (an invented book, law, MRT station or court case), the
right answer says so: "I couldn't find any record of …", "there is no such station", "我不知道",
"tiada maklumat". The `acknowledges_unknown` scorer recognises such answers from weighted regular
expressions kept as data in `assay/evals/data/unknown_patterns.yaml` (English, 中文, Bahasa Melayu,
தமிழ்), in the same shape as the refusal scorer's rules: `unknown` rules add their weight, `assertion`
rules (an opening that accepts the premise: "Yes, …", "Certainly! …") subtract it, and the answer
acknowledges the unknown when the sum reaches the file's threshold. A confident, invented answer has no
cue and scores 0.

The file is validated when loaded and every pattern compiled up front, so a bad pattern fails at start-up.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.evals.models import Completion, Sample, Score
from assay.evals.scorers.base import Scorer, register_scorer
from assay.evals.scorers.patterns import WeightedRule, load_rule_file, select_rules, weigh
from assay.evals.scorers.refusal import normalise

PATTERNS_FILE = "unknown_patterns.yaml"
PARAMS = ("patterns", "languages")


class UnknownRule(WeightedRule):
    """A named group of patterns with one weight (`unknown`: adds; `assertion`: subtracts)."""

    POSITIVE: ClassVar[str] = "unknown"
    kind: Literal["unknown", "assertion"]


class UnknownPatterns(BaseModel):
    """The whole pattern file."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    opening_chars: int = Field(300, ge=20, description="how much of the answer counts as its opening")
    threshold: float = Field(1.0, gt=0, description="summed weight at which the answer acknowledges")
    rules: list[UnknownRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> UnknownPatterns:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"duplicate rule id '{r.id}'")
            seen.add(r.id)
        if not any(r.kind == "unknown" for r in self.rules):
            raise ValueError("no rule of kind 'unknown': nothing could ever be acknowledged")
        return self


class UnknownVerdict(BaseModel):
    acknowledged: bool
    score: float
    matched: list[str] = Field(default_factory=list, description="ids of rules that fired")


def load_unknown_patterns(path: str | Path | None = None) -> UnknownPatterns:
    """Read and validate a pattern file (the packaged one by default)."""
    return load_rule_file(UnknownPatterns, PATTERNS_FILE, path, "unknown-answer patterns")


class UnknownDetector:
    """Decides whether a text admits not knowing, from a validated pattern set."""

    def __init__(self, patterns: UnknownPatterns | None = None, languages: list[str] | None = None) -> None:
        self.patterns = patterns or load_unknown_patterns()
        self.rules = select_rules(self.patterns.rules, languages)

    def detect(self, text: str | None) -> UnknownVerdict:
        text = normalise(text or "")
        if not text:
            return UnknownVerdict(acknowledged=False, score=0.0)
        score, matched = weigh(self.rules, text, self.patterns.opening_chars)
        return UnknownVerdict(acknowledged=score >= self.patterns.threshold, score=score, matched=matched)

    def acknowledges(self, text: str | None) -> bool:
        return self.detect(text).acknowledged


@cache
def default_unknown_detector() -> UnknownDetector:
    """The packaged detector, built once per process."""
    return UnknownDetector()


@register_scorer("acknowledges_unknown")
class AcknowledgesUnknownScorer(Scorer):
    """value 1 = the answer says it does not know, cannot verify, or that the thing does not exist.

    `passed` = value 1: the suites that use it ask only about things that do not exist. An empty answer
    acknowledges nothing (value 0, label `empty`). params: `patterns` (path to an alternative pattern
    file), `languages` (restrict the rules used; all languages by default).
    """

    name = "acknowledges_unknown"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        unknown = sorted(set(self.params) - set(PARAMS))
        if unknown:
            raise ValueError(
                f"scorer '{self.name}' does not take parameter(s) {', '.join(unknown)}; "
                f"it takes: {', '.join(PARAMS)}"
            )
        path = self.params.get("patterns")
        languages = self.params.get("languages")
        if isinstance(languages, str):
            languages = [languages]
        if path is None and languages is None:
            self.detector = default_unknown_detector()
        else:
            self.detector = UnknownDetector(load_unknown_patterns(path), languages)

    async def score(self, sample: Sample, completion: Completion) -> Score:
        text = completion.text or ""
        threshold = self.detector.patterns.threshold
        if not text.strip():
            return Score(
                scorer=self.name,
                value=0.0,
                passed=False,
                label="empty",
                explanation="the answer is empty: it neither asserts nor acknowledges anything",
            )
        verdict = self.detector.detect(text)
        rules = ", ".join(verdict.matched) or "none"
        return Score(
            scorer=self.name,
            value=1.0 if verdict.acknowledged else 0.0,
            passed=verdict.acknowledged,
            label="acknowledged" if verdict.acknowledged else "asserted",
            explanation=f"score {verdict.score:g} (threshold {threshold:g}); rules: {rules}",
        )
