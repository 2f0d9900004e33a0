"""`assay registry` commands, run through Typer's test runner on the example and broken variants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from assay.cli.registry import app

runner = CliRunner()


def _write(tmp_path: Path, d: dict[str, Any]) -> Path:
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), "utf-8")
    return path


def test_raci_table(example_path: Path) -> None:
    result = runner.invoke(app, ["raci", str(example_path)])
    assert result.exit_code == 0, result.output
    assert "A/R" in result.stdout and "huggingface-tb" in result.stdout


def test_raci_json(example_path: Path) -> None:
    result = runner.invoke(app, ["raci", str(example_path), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    ip = next(a for a in data["allocations"] if a["risk_area"] == "intellectual_property")
    assert ip["accountable"] == "lion-city-broadband"


def test_raci_html_to_file(example_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "raci.html"
    result = runner.invoke(
        app, ["raci", str(example_path), "-f", "html", "-o", str(out), "--today", "2026-06-01"]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    assert html.startswith("<!doctype html>") and "Lion City Broadband Helpdesk Assistant" in html
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_raci_table_to_file(example_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "raci.txt"
    result = runner.invoke(app, ["raci", str(example_path), "-o", str(out)])
    assert result.exit_code == 0
    assert "A/R" in out.read_text("utf-8") and "\x1b[" not in out.read_text("utf-8")


def test_flags_pass_on_the_example(example_path: Path) -> None:
    result = runner.invoke(app, ["flags", str(example_path), "--today", "2027-02-01"])
    assert result.exit_code == 0, result.output
    assert "expired_cover" in result.stdout


def test_flags_fail_on_a_gap(example_dict: dict[str, Any], tmp_path: Path) -> None:
    example_dict["control_points"] = [
        h for h in example_dict["control_points"] if h["point"] not in ("monitoring", "incident_response")
    ]
    path = _write(tmp_path, example_dict)
    result = runner.invoke(app, ["flags", str(path), "--format", "json", "--today", "2026-06-01"])
    assert result.exit_code == 1
    flags = json.loads(result.stdout)
    assert flags[0]["kind"] == "gap" and flags[0]["risk_area"] == "incident_response"


def test_safety_net_json(example_path: Path) -> None:
    result = runner.invoke(app, ["safety-net", str(example_path), "-f", "json", "--today", "2026-06-01"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["today"] == "2026-06-01"
    assert {a["risk_area"] for a in data["areas"] if a["covered"]} == {
        "harmful_output",
        "factuality",
        "user_data_privacy",
        "prompt_injection",
    }


def test_safety_net_table(example_path: Path) -> None:
    result = runner.invoke(app, ["safety-net", str(example_path), "--today", "2027-02-01"])
    assert result.exit_code == 0
    assert "expired" in result.stdout and "no_cover" in result.stdout


def test_invalid_manifest_exits_2(example_dict: dict[str, Any], tmp_path: Path) -> None:
    example_dict["control_points"][0]["holder"] = "nobody-we-know"
    path = _write(tmp_path, example_dict)
    for command in ("raci", "flags", "safety-net"):
        result = runner.invoke(app, [command, str(path)])
        assert result.exit_code == 2
        assert "nobody-we-know" in result.stderr and "control_points[0].holder" in result.stderr


def test_missing_manifest_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["raci", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_bad_date_is_a_usage_error(example_path: Path) -> None:
    result = runner.invoke(app, ["safety-net", str(example_path), "--today", "June"])
    assert result.exit_code == 2 and "--today" in result.output
