"""Crosswalk rows and their JSON and CSV renderings."""

from __future__ import annotations

import csv
import io
import json

import pytest

from assay.catalog import FRAMEWORKS, Catalog, controls_to_csv, coverage, crosswalk, to_csv, to_json

ALLOCATION = "mgf-genai:2024:accountability.allocation"


def test_rows_carry_titles_and_strength(catalog: Catalog) -> None:
    rows = crosswalk(catalog, "nist-ai-rmf")
    row = next(r for r in rows if r.control_id == ALLOCATION and r.target_id == "GOVERN 2.1")
    assert row.control_title == "Responsibility follows control"
    assert row.target_title.startswith("Roles and responsibilities and lines of communication")
    assert row.strength == "partial"
    assert all(r.target_title for r in rows)
    assert len(rows) == sum(len(c.links("nist-ai-rmf")) for c in catalog.controls)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_every_framework_has_rows(catalog: Catalog, name: str) -> None:
    rows = crosswalk(catalog, name)
    assert rows
    assert {r.target_id for r in rows} <= {e.id for e in catalog.framework(name).entries}


def test_name_is_case_and_space_insensitive(catalog: Catalog) -> None:
    assert crosswalk(catalog, " ISO-42001 ") == crosswalk(catalog, "iso-42001")


def test_unknown_framework_lists_valid_names(catalog: Catalog) -> None:
    with pytest.raises(ValueError) as info:
        crosswalk(catalog, "nist-csf")
    message = str(info.value)
    assert "nist-csf" in message
    assert all(name in message for name in FRAMEWORKS)


def test_dimension_filter(catalog: Catalog) -> None:
    rows = crosswalk(catalog, "owasp-llm-2026", dimension="security")
    assert rows and all(r.control_id.startswith("mgf-genai:2024:security.") for r in rows)
    with pytest.raises(ValueError, match="unknown dimension"):
        crosswalk(catalog, "owasp-llm-2026", dimension="ethics")


def test_json_and_csv_round_trip(catalog: Catalog) -> None:
    rows = crosswalk(catalog, "mitre-atlas")
    parsed = json.loads(to_json(rows))
    assert parsed == [r.model_dump() for r in rows]
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [tuple(d.values()) for d in table] == [tuple(r.model_dump().values()) for r in rows]
    assert any(d["target_id"] == "AML.T0051" and d["target_title"] == "LLM Prompt Injection" for d in table)


def test_controls_csv_joins_lists(catalog: Catalog) -> None:
    table = list(csv.DictReader(io.StringIO(controls_to_csv(catalog.controls))))
    assert len(table) == len(catalog.controls)
    lineage = next(d for d in table if d["id"] == "mgf-genai:2024:data.lineage")
    assert lineage["evidence"] == "data.lineage; data.card"


def test_coverage_shows_gaps(catalog: Catalog) -> None:
    cov = coverage(catalog, "owasp-llm-2025")
    assert set(cov) == {f"LLM{n:02d}:2025" for n in range(1, 11)}
    assert "mgf-genai:2024:security.prompt-injection" in cov["LLM01:2025"]
    nist = coverage(catalog, "nist-ai-rmf")
    assert len(nist) == 72 and ALLOCATION in nist["GOVERN 2.1"]
