"""Shared fixtures for the catalog tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.catalog import Catalog, load_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTROL_IDS = REPO_ROOT.parent / "shared" / "reference" / "control-ids.json"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def reference_ids() -> dict[str, Any]:
    """The id lists the catalog is checked against; absent outside the project workspace."""
    if not CONTROL_IDS.is_file():
        pytest.skip(f"reference id list not found at {CONTROL_IDS}")
    return json.loads(CONTROL_IDS.read_text("utf-8"))


VALID_CONTROL = """\
controls:
  - id: acme:2025:data.retention
    dimension: data
    title: Prompts are deleted on schedule
    statement: User prompts are deleted after thirty days unless a user opts in to keep them.
    pages: 10
    evidence: [data.scan, attestation]
    crosswalk:
      nist-ai-rmf: {MEASURE 2.10: partial}
      iso-42001: {A.7.2: related}
"""


@pytest.fixture()
def valid_control() -> str:
    """A well-formed one-control file that extends the `data` dimension."""
    return VALID_CONTROL


@pytest.fixture()
def write_extra(tmp_path: Path):
    """Write YAML files into a fresh extra folder and return the folder."""

    def _write(**files: str) -> Path:
        folder = tmp_path / "extra"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    return _write
