"""YAML reading for every package: safe loading, through libyaml when PyYAML was built with it.

libyaml's parser gives the same values and the same line/column marks as PyYAML's pure-Python one,
about ten times faster; the built-in suites, the catalog and the manifest are all read through here.
"""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """One YAML document as plain Python values (no tags beyond YAML's own)."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


def safe_load_all(text: str | bytes) -> list[Any]:
    """Every document of a multi-document YAML stream."""
    return list(yaml.load_all(text, Loader=SAFE_LOADER))  # noqa: S506 - a safe loader
