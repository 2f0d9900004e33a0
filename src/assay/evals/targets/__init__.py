"""Targets: what is tested. `build_target` turns a manifest `targets:` entry into a live `Target`.

Kinds are found in a registry. The built-in kinds (`bundled`, `openai`, `http`, `python`) register
themselves with `@register_target(kind)` exactly as a plugin does; a plugin package adds a kind by
declaring an entry point in the group `assay.targets` whose object is a `Target` subclass with a
`from_spec` class method (or a plain factory `(spec, base_dir) -> Target`) decorated the same way.

Importing this package is cheap: the module behind a kind (httpx, torch, transformers …) is imported
only when a target of that kind is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assay.evals.targets.base import (
    GenerationParams,
    Target,
    TargetError,
    TargetUnavailable,
)

if TYPE_CHECKING:
    from assay.manifest.schema import Target as TargetSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "GenerationParams",
    "Target",
    "TargetError",
    "TargetFactory",
    "TargetUnavailable",
    "available_kinds",
    "build_target",
    "register_target",
    "target_factory",
]

ENTRY_POINT_GROUP = "assay.targets"

TargetFactory = Callable[["TargetSpec", "Path | None"], Target]
F = TypeVar("F")

_REGISTRY: dict[str, TargetFactory] = {}

# Where the built-in kinds live; importing the module runs its @register_target decorator.
_BUILTIN_MODULES = {
    "bundled": "assay.evals.targets.bundled",
    "openai": "assay.evals.targets.openai_compat",
    "http": "assay.evals.targets.http",
    "python": "assay.evals.targets.python_callable",
}


def register_target(kind: str) -> Callable[[F], F]:
    """Register a target kind: decorate a `Target` subclass (built by its `from_spec`) or a factory."""

    def decorate(obj: F) -> F:
        factory: Any = obj
        if isinstance(obj, type):
            if not issubclass(obj, Target):
                raise TypeError(f"{obj.__name__} is not an assay Target")
            if not hasattr(obj, "from_spec"):
                raise TypeError(f"{obj.__name__} needs a `from_spec(spec, base_dir)` class method")
            factory = obj.from_spec
            if not obj.kind:
                obj.kind = kind
        elif not callable(obj):
            raise TypeError(f"cannot register {obj!r} as target kind {kind!r}")
        _REGISTRY[kind] = factory
        return obj

    return decorate


def _kind_name(kind: Any) -> str:
    return str(getattr(kind, "value", kind))


def _from_entry_point(kind: str) -> TargetFactory | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP).select(name=kind):
        obj = ep.load()
        if kind not in _REGISTRY:  # the object was not decorated: register it under the entry's name
            register_target(kind)(obj)
        return _REGISTRY[kind]
    return None


def target_factory(kind: str) -> TargetFactory:
    """The factory for a kind: already registered, a built-in, or an entry point (loaded on demand)."""
    kind = _kind_name(kind)
    factory = _REGISTRY.get(kind)
    if factory is not None:
        return factory
    module = _BUILTIN_MODULES.get(kind)
    if module is not None:
        importlib.import_module(module)
        if kind in _REGISTRY:
            return _REGISTRY[kind]
    factory = _from_entry_point(kind)
    if factory is None:
        raise ValueError(f"unknown target kind {kind!r}; known kinds: {', '.join(available_kinds())}")
    return factory


def available_kinds() -> list[str]:
    """Every kind that can be built: registered, built-in, or offered by an installed plugin."""
    names = set(_REGISTRY) | set(_BUILTIN_MODULES)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def build_target(spec: TargetSpec, base_dir: Path | None = None) -> Target:
    """A live target for a manifest entry; `base_dir` (the manifest's folder) resolves relative paths.

    Building does no I/O beyond imports: call `await target.preflight()` to learn, before a run,
    whether the target can answer.
    """
    return target_factory(_kind_name(spec.kind))(spec, base_dir)
