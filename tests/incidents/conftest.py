"""A workspace with the helpdesk example registered, on every backend (the `workspace` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.incidents.models import IncidentReport

from ..conftest import example_text


@pytest.fixture
def ws(workspace, tmp_path: Path):  # type: ignore[no-untyped-def]
    from assay.manifest import parse_manifest_text
    from assay.registry.service import register_system

    register_system(workspace, parse_manifest_text(example_text()))
    return workspace


def make_report(**fields: object) -> IncidentReport:
    base: dict[str, object] = {
        "system": "helpdesk",
        "title": "Assistant gave a wrong outage refund amount",
        "description": "Asked about the refund for last week's outage, it quoted S$500 instead of S$5.",
    }
    base.update(fields)
    return IncidentReport.model_validate(base)
