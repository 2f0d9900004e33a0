"""`assay catalog`, exercised through typer's test runner in every output format."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.catalog import Catalog
from assay.cli.catalog import app

ALLOCATION = "mgf-genai:2024:accountability.allocation"
LINEAGE = "mgf-genai:2024:data.lineage"


@pytest.fixture()
def run():
    runner = CliRunner()

    def _run(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})

    return _run


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_list_table(run, catalog: Catalog) -> None:
    result = run("list")
    assert result.exit_code == 0, result.output
    assert f"{len(catalog.controls)} controls" in result.output
    assert ALLOCATION in result.output and "GOVERN 2.1" in result.output


def test_list_json_filtered_by_dimension(run) -> None:
    result = run("list", "--dimension", "content-provenance", "--format", "json")
    assert result.exit_code == 0, result.output
    controls = json.loads(result.stdout)
    assert len(controls) >= 3
    assert {c["dimension"] for c in controls} == {"content-provenance"}
    watermark = next(c for c in controls if c["id"].endswith(".watermark"))
    assert {
        "framework": "eu-ai-act",
        "target": "Art. 50(2)",
        "strength": "partial",
        "note": None,
    } in watermark["crosswalk"]


def test_list_csv(run, catalog: Catalog) -> None:
    result = run("list", "-f", "csv")
    assert result.exit_code == 0
    rows = _csv(result.stdout)
    assert [r["id"] for r in rows] == catalog.ids
    assert next(r for r in rows if r["id"] == LINEAGE)["evidence"] == "data.lineage; data.card"


def test_list_unknown_dimension_exits_2(run) -> None:
    result = run("list", "--dimension", "ethics")
    assert result.exit_code == 2
    assert "unknown dimension 'ethics'" in result.stderr and "public-good" in result.stderr


def test_show_table(run) -> None:
    result = run("show", ALLOCATION)
    assert result.exit_code == 0, result.output
    assert "Responsibility follows control" in result.output
    assert "GOVERN 2.1" in result.output and "A.10.2" in result.output and "equivalent" in result.output
    assert "1. Accountability, p.7" in result.output


def test_show_json_has_titles_and_versioned_ids(run) -> None:
    result = run("show", ALLOCATION, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == ALLOCATION and data["evidence"] == ["registry.raci", "manifest"]
    link = next(x for x in data["crosswalk"] if x["target"] == "A.10.2")
    assert link == {
        "framework": "iso-42001",
        "target": "A.10.2",
        "strength": "equivalent",
        "target_title": "Allocating responsibilities",
        "qualified_id": "iso42001:2023:A.10.2",
    }


def test_show_typo_suggests_and_exits_2(run) -> None:
    result = run("show", "mgf-genai:2024:data.linage")
    assert result.exit_code == 2
    assert "No control 'mgf-genai:2024:data.linage'" in result.stderr
    assert f"Did you mean: {LINEAGE}" in result.stderr
    assert result.stdout == ""


def test_show_short_form_typo_suggests_full_id(run) -> None:
    result = run("show", "security.prompt-injektion")
    assert result.exit_code == 2
    assert "mgf-genai:2024:security.prompt-injection" in result.stderr


def test_crosswalk_table(run) -> None:
    result = run("crosswalk", "--to", "owasp-llm-2026")
    assert result.exit_code == 0, result.output
    assert "OWASP Top 10 for LLM Applications 2026" in result.output
    assert "LLM08:2026" in result.output and "Hidden Context Exposure" in result.output


def test_crosswalk_json(run) -> None:
    result = run("crosswalk", "--to", "nist-ai-rmf", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert set(rows[0]) == {"control_id", "control_title", "target_id", "target_title", "strength"}
    assert any(r["control_id"] == ALLOCATION and r["target_id"] == "GOVERN 2.1" for r in rows)


def test_crosswalk_csv_one_dimension(run) -> None:
    result = run("crosswalk", "-t", "mitre-atlas", "-d", "security", "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    assert all(r["control_id"].startswith("mgf-genai:2024:security.") for r in rows)
    assert {
        "control_id": "mgf-genai:2024:security.prompt-injection",
        "control_title": "The system resists prompt injection and jailbreaks",
        "target_id": "AML.T0051",
        "target_title": "LLM Prompt Injection",
        "strength": "partial",
    } in rows


@pytest.mark.parametrize(("fmt", "parse"), [("json", json.loads), ("csv", _csv), ("table", str)])
def test_crosswalk_output_file_is_written_whole(run, tmp_path: Path, fmt: str, parse) -> None:
    target = tmp_path / "out" / f"iso.{fmt}"
    result = run("crosswalk", "--to", "iso-42001", "--format", fmt, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "rows to" in result.stderr
    content = parse(target.read_text("utf-8"))
    assert "A.10.2" in str(content)
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temp files left behind"


def test_crosswalk_output_replaces_existing_file(run, tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old", encoding="utf-8")
    assert run("crosswalk", "--to", "eu-ai-act", "-f", "json", "-o", str(target)).exit_code == 0
    assert any(r["target_id"] == "Art. 73" for r in json.loads(target.read_text("utf-8")))


def test_crosswalk_unknown_framework_exits_2(run) -> None:
    result = run("crosswalk", "--to", "nist-csf")
    assert result.exit_code == 2
    assert "unknown framework 'nist-csf'" in result.stderr
    assert "owasp-llm-2025" in result.stderr and "mitre-atlas" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_dimensions(run, catalog: Catalog, fmt: str) -> None:
    result = run("dimensions", "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        rows = json.loads(result.stdout)
        assert [r["number"] for r in rows] == list(range(1, 10))
        assert sum(r["controls"] for r in rows) == len(catalog.controls)
    elif fmt == "csv":
        rows = _csv(result.stdout)
        assert rows[6]["id"] == "content-provenance" and rows[6]["pages"] == "23-25"
    else:
        assert "safety-alignment" in result.output and "Incident Reporting" in result.output


def test_frameworks_and_evidence_kinds(run) -> None:
    assert "owasp-llm-2026" in run("frameworks").output
    kinds = json.loads(run("evidence-kinds", "-f", "json").stdout)
    assert {"id": "registry.raci", "producer": "assay.registry"}.items() <= next(
        k for k in kinds if k["id"] == "registry.raci"
    ).items()


def test_extra_dir_option(run, write_extra, valid_control: str) -> None:
    folder = write_extra(**{"acme.yaml": valid_control})
    result = run("show", "acme:2025:data.retention", "--extra-dir", str(folder), "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == str(folder.resolve() / "acme.yaml")


def test_broken_extra_dir_exits_1_naming_file(run, write_extra) -> None:
    folder = write_extra(**{"broken.yaml": "controls: [\n"})
    result = run("list", "--extra-dir", str(folder))
    assert result.exit_code == 1
    assert "broken.yaml" in result.stderr and "not valid YAML" in result.stderr


def test_module_import_stays_light() -> None:
    code = (
        "import sys, assay.cli.catalog\n"
        "heavy = [m for m in ('yaml', 'pydantic', 'assay.catalog') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_list_at_80_columns_never_cuts_a_title(catalog: Catalog) -> None:
    result = CliRunner().invoke(app, ["list"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    words = set(result.output.replace("│", " ").split())
    for c in catalog.controls:
        assert set(c.title.split()) <= words, c.title
    assert "crosswalk columns need" in result.output
