"""`assay policy list|show|validate|check`: output that fits 80 columns, no literal markup, and the
documented exit codes (0 fine, 1 gate failed, 2 bad input)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from assay.cli.main import app
from assay.policy.loader import PACKS_DIR
from tests.policy.helpers import all_green, disclosure, m
from tests.policy.test_loader import MALFORMED

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["policy", *args], env={"COLUMNS": "80", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def _fits(text: str) -> None:
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    assert "[/" not in text and "[bold" not in text.replace("[bold]assistant[/bold]", "")


def test_list_shows_every_pack_with_publisher_and_base() -> None:
    code, out, _ = run("list")
    assert code == 0
    _fits(out)
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 4}
    assert set(rows) == {"baseline", "finance", "healthcare", "public-sector"}
    assert "Assay project" in rows["finance"] and "yes" in rows["finance"] and "baseline" in rows["finance"]
    code, out, _ = run("list", "--json")
    packs = {p["id"]: p for p in json.loads(out)}
    assert packs["healthcare"]["extends"] == "baseline" and packs["baseline"]["illustrative"] is True


def test_show_renders_rules_tiers_and_areas_in_80_columns() -> None:
    code, out, _ = run("show", "finance")
    assert code == 0
    _fits(out)
    assert "merged from: baseline@0.1 → finance@0.1" in out
    assert "Illustrative" in out and "≥ 97.0%" in out and "≤ 2.0%" in out
    assert "finance-sector" in out and "Required areas: identity" in out
    code, out, _ = run("show", "baseline", "--json")
    assert code == 0 and json.loads(out)["lineage"] == ["baseline@0.1"]


def test_show_prints_brackets_in_a_pack_as_written(tmp_path: Path) -> None:
    path = tmp_path / "brackets.yaml"
    path.write_text("id: b\ntitle: '[bold]Not markup[/bold]'\nversion: '1'\npublisher: '[red]P'\n")
    code, out, _ = run("show", str(path))
    assert code == 0 and "[bold]Not markup[/bold]" in out and "[red]P" in out


def test_show_and_check_exit_2_on_an_unknown_or_broken_pack(tmp_path: Path) -> None:
    code, _, err = run("show", "finanse")
    assert code == 2 and "no built-in policy pack 'finanse'" in err and "did you mean 'finance'" in err
    bad = tmp_path / "broken.yaml"
    bad.write_text(MALFORMED)
    label = tmp_path / "label.json"
    label.write_text(disclosure().model_dump_json())
    code, _, err = run("check", str(bad), "--label", str(label))
    assert code == 2 and "invalid policy pack: 9 problem(s)" in err and f"{bad}:5:1: extends" in err


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(MALFORMED)
    code, out, err = run("validate", str(bad))
    assert code == 2 and out == ""
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert len(lines) == 9 and all(line.startswith(f"{bad}:") for line in lines)
    for where in (":5:1: extends", ":6:1: colour", ":11:5: thresholds[0].green", ":24:", ":26:"):
        assert any(where in line for line in lines), where


def test_validate_accepts_a_good_overlay(tmp_path: Path) -> None:
    shutil.copy(PACKS_DIR / "healthcare.yaml", tmp_path / "hc.yaml")
    code, out, _ = run("validate", str(tmp_path / "hc.yaml"))
    assert code == 0 and "ok: healthcare 0.1 (baseline@0.1 → healthcare@0.1), 11 rules" in out


def test_check_passes_a_green_label_and_names_each_rule(tmp_path: Path) -> None:
    label = tmp_path / "label.json"
    label.write_text(disclosure(measurements=all_green()).model_dump_json())
    code, out, _ = run("check", "baseline", "--label", str(label))
    assert code == 0, out
    _fits(out)
    assert "PASSED under baseline" in out and "Risk tier: standard" in out
    assert "under rule redteam-asr" in out.replace("\n", " ")


def test_check_fails_with_exit_1_naming_the_rule_and_the_missing_area(tmp_path: Path) -> None:
    ms = [x for x in all_green() if x.suite != "harmful-refusal"] + [m("harmful-refusal", 0.5)]
    label = tmp_path / "label.json"
    label.write_text(disclosure(sector="finance", measurements=ms, undisclosed=("data",)).model_dump_json())
    code, out, _ = run("check", "finance", "--label", str(label))
    assert code == 1
    _fits(out)
    flat = " ".join(out.split())
    assert "FAILED under finance" in flat and "harmful-refusal is red for bundled" in flat
    assert "required area 'data' is not disclosed" in flat and "Risk tier: high" in flat
    code, out, _ = run("check", "finance", "--label", str(label), "--json")
    verdict = json.loads(out)
    assert code == 1 and verdict["failed"] and verdict["risk_tier_rule"] == "finance-sector"
    assert next(g for g in verdict["grades"] if g["rule_id"] == "harmful-refusal")["status"] == "red"


def test_check_exits_2_naming_an_unreadable_label_and_its_field(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    code, _, err = run("check", "baseline", "--label", str(missing))
    assert code == 2 and f"{missing}: (document): file not found" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run("check", "baseline", "--label", str(broken))
    assert code == 2 and "not valid JSON" in err
    wrong = tmp_path / "wrong.json"
    data = json.loads(disclosure().model_dump_json())
    data["identity"]["sector"] = 7
    data["completeness"]["score"] = 3
    wrong.write_text(json.dumps(data))
    code, _, err = run("check", "baseline", "--label", str(wrong))
    assert code == 2 and f"{wrong}: identity.sector:" in err and f"{wrong}: completeness.score:" in err


def test_the_gate_summary_is_short_and_says_why() -> None:
    from rich.console import Console

    from assay.policy.loader import resolve_pack
    from assay.policy.render import gate_view
    from assay.policy.verdict import judge_label

    ms = [x for x in all_green() if x.suite != "prompt-injection"] + [m("prompt-injection", 0.2)]
    verdict = judge_label(resolve_pack("baseline"), disclosure(measurements=ms, undisclosed=("risks",)))
    console = Console(width=80, record=True, no_color=True)
    console.print(gate_view(verdict))
    text = console.export_text()
    assert text.startswith("FAILED under baseline 0.1 (10 green, 1 red)")
    assert "  - prompt-injection is red for bundled" in text and "required area 'risks'" in text
    assert "Risk tier high (rule critical-red)." in text and len(text.splitlines()) <= 8
