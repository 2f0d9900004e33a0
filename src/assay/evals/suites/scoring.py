"""Scorer choices made while loading: the shorthand a suite file may use, and the defaults for bare files.

The names here are those the scorer registry uses (`assay.evals.scorers`); keeping them in one place
means an importer never hard-codes a name the registry does not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from assay.evals.models import Sample, ScorerSpec

EXACT = "exact"
CONTAINS = "contains"
CHOICE = "multiple_choice"
REFUSAL = "refusal"

ScorerLike = str | ScorerSpec | dict[str, Any]


def normalise_scorer(item: Any) -> Any:
    """`exact`, `{name: exact}` and `{exact: {params}}` all mean a ScorerSpec; pydantic judges the rest."""
    if isinstance(item, ScorerSpec):
        return item
    if isinstance(item, str):
        return {"name": item}
    if isinstance(item, dict) and "name" not in item and len(item) == 1:
        ((name, params),) = item.items()
        if isinstance(name, str) and (params is None or isinstance(params, dict)):
            return {"name": name, "params": params or {}}
    return item


def as_specs(items: Iterable[ScorerLike]) -> list[ScorerSpec]:
    return [ScorerSpec.model_validate(normalise_scorer(i)) for i in items]


def infer_scorers(samples: Sequence[Sample]) -> list[ScorerSpec]:
    """Scorers for a bare sample file when the caller names none: what the samples can be judged by.

    Samples that say refuse/comply get the refusal scorer; samples with choices the multiple-choice
    scorer; samples with an expected answer exact match. Nothing to judge by means no default.
    """
    specs: list[ScorerSpec] = []
    if any(s.expect is not None for s in samples):
        specs.append(ScorerSpec(name=REFUSAL))
    if any(s.choices and s.target is not None for s in samples):
        specs.append(ScorerSpec(name=CHOICE))
    elif any(s.target is not None for s in samples):
        specs.append(ScorerSpec(name=EXACT))
    return specs
