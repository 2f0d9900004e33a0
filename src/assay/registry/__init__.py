"""Dimension 1, Accountability: who controls what, responsibility by level of control, and the safety net.

Names are imported on first use, so importing the package (as the manifest validator does) stays cheap.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "allocate": "assay.registry.allocation",
    "assess_safety_net": "assay.registry.safety_net",
    "SafetyNetReport": "assay.registry.safety_net",
    "RiskAreaCover": "assay.registry.safety_net",
    "CoverEntry": "assay.registry.safety_net",
    "RaciMatrix": "assay.registry.models",
    "ResponsibilityAllocation": "assay.registry.models",
    "HoldingBasis": "assay.registry.models",
    "RegistryFlag": "assay.registry.models",
    "FlagKind": "assay.registry.models",
    "Severity": "assay.registry.models",
    "render_json": "assay.registry.render",
    "render_raci_html": "assay.registry.html",
    "risk_area_catalog": "assay.registry.risk_areas",
    "RiskArea": "assay.registry.risk_areas",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assay.registry' has no attribute {name!r}")


__all__ = sorted(_LAZY)
