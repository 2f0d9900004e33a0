"""What every scorer is: an async judgement of one answer to one sample.

Scorers are async so that an LLM judge can call a target; rule-based scorers simply return.
They are registered by name (`register_scorer`) and built from a suite's `ScorerSpec`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from assay.evals.models import Completion, Sample, Score

if TYPE_CHECKING:
    from assay.evals.targets.base import Target


class Scorer(abc.ABC):
    name: str = ""

    def __init__(self, *, targets: Mapping[str, Target] | None = None, **params: Any) -> None:
        """`params` come from the suite; `targets` (by id) are there for scorers that call a model."""
        self.params = params
        self.targets = dict(targets or {})

    @abc.abstractmethod
    async def score(self, sample: Sample, completion: Completion) -> Score:
        """Judge one answer; never raise for a bad answer: return a Score with `error` set."""

    def identity(self) -> dict[str, Any]:
        """Name and parameters, recorded with a run so a re-score can be compared."""
        return {"name": self.name, "params": self.params}


ScorerFactory = Callable[..., Scorer]
_REGISTRY: dict[str, ScorerFactory] = {}
_BUILTIN_MODULES = {
    "exact": "match",
    "contains": "match",
    "regex": "match",
    "multiple_choice": "match",
    "canary": "match",
    "pii": "pii",
    "judge": "judge",
    "refusal": "refusal",
    "acknowledges_unknown": "unknown",
}
"""Which module registers each built-in scorer, so building one imports only its module (a test checks
this against what the modules register)."""


def register_scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Class decorator: make a scorer available to suites by name."""

    def deco(factory: ScorerFactory) -> ScorerFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def scorer_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def build_scorer(
    name: str, params: dict[str, Any] | None = None, targets: Mapping[str, Target] | None = None
) -> Scorer:
    """Build a registered scorer by name with the suite's parameters and the run's targets.

    A built-in name imports just its module (built-ins win over plugins of the same name, so no plugin
    needs loading for it); any other name loads every built-in and plugin first."""
    if name in _BUILTIN_MODULES:
        import importlib

        importlib.import_module(f"assay.evals.scorers.{_BUILTIN_MODULES[name]}")
    else:
        _load_builtins()
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown scorer '{name}'{hint}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](targets=targets, **(params or {}))


def _load_builtins() -> None:
    """Import the built-in scorer modules (they register themselves) and entry-point plugins."""
    import importlib
    from importlib.metadata import entry_points

    for mod in dict.fromkeys(_BUILTIN_MODULES.values()):
        try:
            importlib.import_module(f"assay.evals.scorers.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assay.evals.scorers.{mod}":
                raise
    for ep in entry_points(group="assay.scorers"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()
