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
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["__version__", *_LAZY]
