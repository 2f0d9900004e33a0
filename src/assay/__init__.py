"""Assay: Singapore's Model AI Governance Framework for Generative AI, as running software.

The public surface stays small; heavy modules are imported only when used, so `assay --help` is fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Manifest": "assay.manifest.schema",
    "load_manifest": "assay.manifest.loader",
    "assess": "assay.assess",
    "evaluate": "assay.evals.service",
    "Suite": "assay.evals.models",
    "Sample": "assay.evals.models",
    "Target": "assay.evals.targets.base",
    "Scorer": "assay.evals.scorers.base",
    "register_scorer": "assay.evals.scorers.base",
    "load_suite": "assay.evals.suites",
    "Attack": "assay.redteam.attack",
    "register_transform": "assay.redteam.attack",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["__version__", *_LAZY]
