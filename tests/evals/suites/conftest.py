"""Fixtures for the suite-loading tests: the shared Moonshot files and small hand-made sample files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
MOONSHOT = REPO_ROOT.parent / "shared" / "datasets" / "moonshot-data"


@pytest.fixture(scope="session")
def moonshot_root() -> Path:
    """The Moonshot fixture folder, read unchanged; absent outside the project workspace."""
    if not (MOONSHOT / "recipes").is_dir():
        pytest.skip(f"Moonshot fixtures not found at {MOONSHOT}")
    return MOONSHOT


@pytest.fixture
def write(tmp_path: Path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
