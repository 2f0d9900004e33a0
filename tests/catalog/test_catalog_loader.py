"""Loading and extending the catalog, and the errors a broken file must produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.catalog import Catalog, CatalogError, clear_cache, load_catalog


def _control(**overrides: str) -> str:
    """A one-control file in the shipped format, with some lines replaced."""
    fields = {
        "id": "acme:2025:data.retention",
        "dimension": "data",
        "evidence": "[data.scan]",
        "crosswalk": "{nist-ai-rmf: {MEASURE 2.10: partial}, iso-42001: {A.7.2: related}}",
        "extra": "",
    }
    fields.update(overrides)
    return (
        "controls:\n"
        f"  - id: {fields['id']}\n"
        f"    dimension: {fields['dimension']}\n"
        "    title: Prompts are deleted on schedule\n"
        "    statement: Prompts are deleted after thirty days.\n"
        f"    evidence: {fields['evidence']}\n"
        f"    crosswalk: {fields['crosswalk']}\n"
        f"{fields['extra']}"
    )


def _error(folder: Path) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog([folder])
    return info.value


def test_load_is_cached() -> None:
    assert load_catalog() is load_catalog([])


def test_extra_folder_adds_controls(catalog: Catalog, write_extra, valid_control: str) -> None:
    folder = write_extra(**{"acme.yaml": valid_control})
    extended = load_catalog([folder])
    assert len(extended.controls) == len(catalog.controls) + 1
    added = extended.get("acme:2025:data.retention")
    assert added is not None and added.pages == "10"
    assert added in extended.controls_for_dimension("data")
    assert extended.sources[added.id].endswith("acme.yaml")
    assert catalog.get("acme:2025:data.retention") is None, "the built-in catalog is unchanged"


def test_extra_folder_is_read_recursively_and_accepts_yml(write_extra, valid_control: str) -> None:
    folder = write_extra()
    (folder / "nested").mkdir()
    (folder / "nested" / "more.yml").write_text(valid_control, encoding="utf-8")
    assert load_catalog([folder]).get("acme:2025:data.retention") is not None


def test_user_framework_can_be_crosswalked(write_extra) -> None:
    from assay.catalog import crosswalk

    framework = (
        "frameworks:\n"
        "  - id: acme-policy\n    title: ACME AI policy\n    version: '3'\n    prefix: acme-policy:3\n"
        "    entries:\n      - {id: P-7, title: Keep prompts briefly}\n"
    )
    control = _control(
        crosswalk="{nist-ai-rmf: {MEASURE 2.10: partial}, iso-42001: {A.7.2: related}, "
        "acme-policy: {P-7: equivalent}}"
    )
    folder = write_extra(**{"a-framework.yaml": framework, "b-control.yaml": control})
    rows = crosswalk(load_catalog([folder]), "acme-policy")
    assert [(r.control_id, r.target_id, r.target_title, r.strength) for r in rows] == [
        ("acme:2025:data.retention", "P-7", "Keep prompts briefly", "equivalent")
    ]


def test_invalid_yaml_names_file_and_line(write_extra) -> None:
    folder = write_extra(**{"broken.yaml": "controls:\n  - id: [unclosed\n"})
    err = _error(folder)
    assert len(err.problems) == 1
    assert str(folder / "broken.yaml") in err.problems[0]
    assert "not valid YAML" in err.problems[0] and "line" in err.problems[0]


def test_unknown_dimension_names_file_and_control(write_extra) -> None:
    folder = write_extra(**{"bad.yaml": _control(id="acme:2025:ethics.review", dimension="ethics")})
    err = _error(folder)
    [problem] = err.problems
    assert problem.startswith(str(folder / "bad.yaml"))
    assert "acme:2025:ethics.review" in problem and "unknown dimension 'ethics'" in problem


def test_duplicate_id_names_both_files(write_extra) -> None:
    folder = write_extra(**{"dupe.yaml": _control(id="mgf-genai:2024:data.lineage")})
    [problem] = _error(folder).problems
    assert "dupe.yaml" in problem and "duplicate control id mgf-genai:2024:data.lineage" in problem
    assert "assay.catalog:data/controls/data.yaml" in problem


def test_crosswalk_to_missing_id_is_rejected(write_extra) -> None:
    folder = write_extra(**{"x.yaml": _control(crosswalk="{nist-ai-rmf: {GOVERN 9.9: partial}}")})
    [problem] = _error(folder).problems
    assert "control acme:2025:data.retention" in problem
    assert "'GOVERN 9.9' is not in the nist-ai-rmf reference list" in problem


def test_crosswalk_to_unknown_framework_is_rejected(write_extra) -> None:
    folder = write_extra(**{"x.yaml": _control(crosswalk="{nist-csf: {PR.AA-01: partial}}")})
    [problem] = _error(folder).problems
    assert "unknown framework 'nist-csf'" in problem and "nist-ai-rmf" in problem


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"evidence": "[vibes]"}, "unknown evidence kind 'vibes'"),
        ({"crosswalk": "{nist-ai-rmf: {MEASURE 2.10: maybe}}"}, "crosswalk.0.strength"),
        ({"extra": "    owner: bob\n"}, "owner: unknown field"),
        ({"id": "acme:2025:security.retention"}, "names dimension 'security'"),
        ({"id": "retention"}, "control retention: id: String should match pattern"),
        ({"evidence": "[]"}, "evidence: "),
        ({"crosswalk": "{nist-ai-rmf: [MEASURE 2.10]}"}, "must map target ids to a strength"),
    ],
)
def test_bad_control_fields_are_reported(write_extra, overrides: dict[str, str], expected: str) -> None:
    folder = write_extra(**{"bad.yaml": _control(**overrides)})
    problems = _error(folder).problems
    assert any(expected in p and "bad.yaml" in p for p in problems), problems


def test_all_problems_reported_together(write_extra) -> None:
    folder = write_extra(
        **{
            "one.yaml": _control(dimension="ethics", id="acme:2025:ethics.a"),
            "two.yaml": "dimensions: oops\n",
            "three.yaml": "- just a list\n",
        }
    )
    err = _error(folder)
    assert len(err.problems) == 3
    assert "catalog has 3 problems" in str(err)
    assert any("three.yaml: top level must be a mapping" in p for p in err.problems)


def test_missing_extra_folder(tmp_path: Path) -> None:
    [problem] = _error(tmp_path / "nowhere").problems
    assert "extra catalog folder not found" in problem


def test_empty_file_is_ignored(catalog: Catalog, write_extra) -> None:
    folder = write_extra(**{"empty.yaml": "# nothing yet\n"})
    assert len(load_catalog([folder]).controls) == len(catalog.controls)


def test_clear_cache_rereads_user_files(write_extra, valid_control: str) -> None:
    folder = write_extra(**{"acme.yaml": valid_control})
    first = load_catalog([folder])
    (folder / "acme.yaml").write_text(valid_control.replace("on schedule", "quickly"), encoding="utf-8")
    assert load_catalog([folder]) is first
    clear_cache()
    assert load_catalog([folder]).get("acme:2025:data.retention").title == "Prompts are deleted quickly"


def test_lookup_helpers(catalog: Catalog) -> None:
    assert catalog.get("mgf-genai:2024:nope") is None
    with pytest.raises(ValueError, match="unknown dimension 'ethics'; choose one of: accountability, data"):
        catalog.controls_for_dimension("ethics")
    assert (
        catalog.suggest("mgf-genai:2024:accountability.alocation")[0]
        == "mgf-genai:2024:accountability.allocation"
    )
    assert catalog.suggest("security.leakge") == ["mgf-genai:2024:security.leakage"]


def test_crosswalk_long_form_with_note(write_extra) -> None:
    crosswalk = (
        "[{framework: nist-ai-rmf, target: MEASURE 2.10, strength: partial, note: only prompts}, "
        "{framework: iso-42001, target: A.7.2, strength: related}]"
    )
    folder = write_extra(**{"long.yaml": _control(crosswalk=crosswalk)})
    control = load_catalog([folder]).get("acme:2025:data.retention")
    assert [(lk.framework, lk.target, lk.strength, lk.note) for lk in control.crosswalk] == [
        ("nist-ai-rmf", "MEASURE 2.10", "partial", "only prompts"),
        ("iso-42001", "A.7.2", "related", None),
    ]


def test_duplicate_link_in_one_control_is_rejected(write_extra) -> None:
    crosswalk = (
        "[{framework: iso-42001, target: A.7.2, strength: related}, "
        "{framework: iso-42001, target: A.7.2, strength: partial}]"
    )
    folder = write_extra(**{"twice.yaml": _control(crosswalk=crosswalk)})
    [problem] = _error(folder).problems
    assert "twice.yaml: control acme:2025:data.retention" in problem and "A.7.2 twice" in problem
