"""Weighted pattern rules, the shared shape of the rule-based detectors' data files.

A rule is a named group of regular expressions with one weight; a detector adds the weights of the
rules that hit (subtracting those of the opposite kind) and compares the sum with a threshold.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator


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
