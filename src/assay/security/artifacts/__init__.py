"""Model-artifact scanning: pickles disassembled without running them, zip/npy containers opened
within limits, safetensors and GGUF headers checked against the file, hashes against the manifest.

Findings name the file, the byte offset and the catalog ids (OWASP LLM03/LLM04:2025, MITRE ATLAS)
they evidence; the rules live in `data/rules.yaml`.
"""

from __future__ import annotations

from assay.security.artifacts.limits import ScanLimits
from assay.security.artifacts.models import FileReport, Finding, ImportSeen, ScanRefused, ScanReport
from assay.security.artifacts.rules import RulesInvalid, load_rules
from assay.security.artifacts.scan import (
    DeclaredArtifact,
    declared_artifacts,
    detect_format,
    iter_model_files,
    scan_artifacts,
    scan_file,
    scan_path,
)

__all__ = [
    "DeclaredArtifact",
    "FileReport",
    "Finding",
    "ImportSeen",
    "RulesInvalid",
    "ScanLimits",
    "ScanRefused",
    "ScanReport",
    "declared_artifacts",
    "detect_format",
    "iter_model_files",
    "load_rules",
    "scan_artifacts",
    "scan_file",
    "scan_path",
]
