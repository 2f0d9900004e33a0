"""Weighted pattern rules, the shared shape of the rule-based detectors' data files.

A rule is a named group of regular expressions with one weight; a detector adds the weights of the
rules that hit (subtracting those of the opposite kind) and compares the sum with a threshold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from assay.yamlio import safe_load


class WeightedRule(BaseModel):
    """Subclasses set `kind` to a Literal of two values and name the one that adds in `POSITIVE`."""

    model_config = ConfigDict(extra="forbid")
    POSITIVE: ClassVar[str] = ""

    id: str = Field(min_length=1)
    language: str = Field(min_length=1, description="ISO 639-1 code, or '*' for any")
    kind: str
    scope: Literal["opening", "anywhere"] = "anywhere"
    weight: float = Field(gt=0, description="added (positive kind) or subtracted when any pattern hits")
    patterns: list[str] = Field(min_length=1)
    note: str = ""

    _compiled: re.Pattern[str] | None = PrivateAttr(None)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} does not compile: {exc}") from exc
        return v

    @property
    def regex(self) -> re.Pattern[str]:
        if self._compiled is None:
            joined = "|".join(f"(?:{p})" for p in self.patterns)
            self._compiled = re.compile(joined, re.IGNORECASE | re.MULTILINE)
        return self._compiled

    @property
    def signed_weight(self) -> float:
        return self.weight if self.kind == self.POSITIVE else -self.weight


RuleFile = TypeVar("RuleFile", bound=BaseModel)
R = TypeVar("R", bound=WeightedRule)


def load_rule_file(model: type[RuleFile], default_file: str, path: str | Path | None, what: str) -> RuleFile:
    """Read and validate a pattern file (the packaged `default_file` unless a path is given)."""
    if path is None:
        raw = resources.files("assay.evals").joinpath("data", default_file).read_text(encoding="utf-8")
        source = default_file
    else:
        raw = Path(path).read_text(encoding="utf-8")
        source = str(path)
    data: Any = safe_load(raw, file=source)
    try:
        loaded = model.model_validate(data)
    except ValueError as exc:
        raise ValueError(f"{source}: invalid {what}: {exc}") from exc
    for rule in getattr(loaded, "rules", []):
        _ = rule.regex  # compile every rule now, so a bad file fails at load
    return loaded


def select_rules(rules: Sequence[R], languages: Sequence[str] | None) -> list[R]:
    """The rules for the asked languages (rules for '*' always apply)."""
    wanted = set(languages) if languages else None
    return [r for r in rules if wanted is None or r.language == "*" or r.language in wanted]


def weigh(rules: Sequence[WeightedRule], text: str, opening_chars: int) -> tuple[float, list[str]]:
    """The summed signed weight of the rules that fire on `text`, and their ids."""
    opening = text[:opening_chars]
    score = 0.0
    matched: list[str] = []
    for rule in rules:
        if rule.regex.search(opening if rule.scope == "opening" else text):
            score += rule.signed_weight
            matched.append(rule.id)
    return round(score, 4), matched
