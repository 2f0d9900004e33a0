"""The framework as data: dimensions, controls and typed crosswalks to other frameworks.

Controls have versioned ids (`mgf-genai:2024:<dimension>.<slug>`), name the evidence kinds that can
satisfy them, and link to NIST AI RMF 1.0, NIST AI 600-1, ISO/IEC 42001 Annex A, the EU AI Act, the OWASP
Top 10 for LLM Applications (2025 and 2026) and MITRE ATLAS.
"""

from __future__ import annotations

from assay.catalog.crosswalk import FRAMEWORKS, CrosswalkRow, coverage, crosswalk
from assay.catalog.loader import CatalogError, clear_cache, load_catalog
from assay.catalog.models import (
    STRENGTHS,
    Catalog,
    Control,
    CrosswalkLink,
    Dimension,
    EvidenceKind,
    Framework,
    FrameworkEntry,
    Strength,
)
from assay.catalog.render import controls_to_csv, to_csv, to_json

__all__ = [
    "FRAMEWORKS",
    "STRENGTHS",
    "Catalog",
    "CatalogError",
    "Control",
    "CrosswalkLink",
    "CrosswalkRow",
    "Dimension",
    "EvidenceKind",
    "Framework",
    "FrameworkEntry",
    "Strength",
    "clear_cache",
    "controls_to_csv",
    "coverage",
    "crosswalk",
    "load_catalog",
    "to_csv",
    "to_json",
]
