"""`assay label render` (registered at merge as `label render`; here on a bare Typer app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from pypdf import PdfReader
from typer.testing import CliRunner

from assay.cli.label_render import render_command
from assay.label.models import Disclosure

app = typer.Typer()


@app.callback()
def _root() -> None:
    """The `label` group stand-in."""


app.command("render")(render_command)
runner = CliRunner()
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


@pytest.fixture
def label_json(complete: Disclosure, tmp_path: Path) -> Path:
    path = tmp_path / "out" / "label.json"
    path.parent.mkdir()
    path.write_text(complete.model_dump_json(indent=2), encoding="utf-8")
    return path


def test_renders_beside_the_label_without_a_browser(label_json: Path) -> None:
    result = runner.invoke(app, ["render", str(label_json), "--no-print"], env=ENV)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in label_json.parent.iterdir())
    assert written == [
        "badge.svg",
        "label.html",
        "label.json",
        "label.ms.html",
        "label.ta.html",
        "label.zh.html",
    ]
    assert f"wrote {label_json.parent / 'label.ta.html'}" in result.output
    assert 'lang="ta"' in (label_json.parent / "label.ta.html").read_text()


def test_chosen_languages_into_another_folder(label_json: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    result = runner.invoke(
        app, ["render", str(label_json), "--lang", "zh", "-l", "ta", "--out", str(out), "--no-print"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["badge.svg", "label.ta.html", "label.zh.html"]
    assert "AI 标签" in (out / "badge.svg").read_text()  # the badge speaks the first language asked for


def test_bad_input_exits_2_naming_what_is_wrong(label_json: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(label_json), "--lang", "fr"], env=ENV)
    assert result.exit_code == 2 and "unknown language 'fr'" in result.output
    broken = tmp_path / "broken.json"
    data = json.loads(label_json.read_text())
    data["completeness"]["score"] = 7
    broken.write_text(json.dumps(data))
    result = runner.invoke(app, ["render", str(broken), "--no-print"], env=ENV)
    assert result.exit_code == 2 and "broken.json: not a label" in result.output
    assert "completeness.score" in result.output
    result = runner.invoke(app, ["render", str(tmp_path / "missing.json")], env=ENV)
    assert result.exit_code == 2 and "missing.json: cannot read it" in result.output
    assert not (tmp_path / "badge.svg").exists()


def test_no_browser_exits_1_and_says_how_to_do_without(label_json: Path, tmp_path: Path) -> None:
    env = {**ENV, "ASSAY_CHROMIUM": str(tmp_path / "no-chromium")}
    result = runner.invoke(app, ["render", str(label_json)], env=env)
    assert result.exit_code == 1
    assert "no Chromium at" in result.output and "--no-print" in result.output
    assert sorted(p.name for p in label_json.parent.iterdir()) == ["label.json"]  # nothing half-written


@pytest.mark.slow
def test_prints_one_language(label_json: Path, chromium: Path) -> None:
    result = runner.invoke(app, ["render", str(label_json), "--lang", "ms"], env=ENV)
    assert result.exit_code == 0, result.output
    assert len(PdfReader(label_json.parent / "label.pdf").pages) == 1
    assert (label_json.parent / "label.png").stat().st_size > 10_000
