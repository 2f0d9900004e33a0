"""The `assay.yaml` manifest: schema, loading with positions, and cross-reference checks."""

from assay.manifest.loader import load_manifest, parse_manifest_data, parse_manifest_text
from assay.manifest.problems import ManifestInvalid, Problem
from assay.manifest.schema import Manifest

__all__ = [
    "Manifest",
    "ManifestInvalid",
    "Problem",
    "load_manifest",
    "parse_manifest_data",
    "parse_manifest_text",
]
