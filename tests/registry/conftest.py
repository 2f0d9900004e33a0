"""Manifests for the registry tests, built by editing the helpdesk example as a plain dict."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assay.manifest import Manifest, parse_manifest_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "helpdesk" / "assay.yaml"


@pytest.fixture(scope="session")
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def _example_dict() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text("utf-8"))


@pytest.fixture
def example_dict(_example_dict: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy each test may edit freely."""
    return copy.deepcopy(_example_dict)


@pytest.fixture
def build() -> Callable[[dict[str, Any]], Manifest]:
    """Validate an edited dict through the same path as a file, so reference checks run too."""

    def _build(d: dict[str, Any]) -> Manifest:
        return parse_manifest_text(yaml.safe_dump(d, sort_keys=False))

    return _build


@pytest.fixture
def example(example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]) -> Manifest:
    return build(example_dict)
