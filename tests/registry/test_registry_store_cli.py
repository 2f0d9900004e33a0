"""`assay registry systems | override | raci --system`: the registry as kept in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app

from ..conftest import example_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "helpdesk" / "assay.yaml"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSAY_DATABASE_URL", database_url)
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    assert runner.invoke(app, ["assess", str(manifest)]).exit_code == 0
    return tmp_path / ".assay"


def test_systems_lists_what_assess_registered(home: Path) -> None:
    result = runner.invoke(app, ["registry", "systems", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    (system,) = json.loads(result.stdout)
    assert system["id"] == "helpdesk" and system["parties"] == 4


def test_override_is_kept_and_changes_the_stored_matrix(home: Path) -> None:
    before = json.loads(
        runner.invoke(
            app, ["registry", "raci", "--system", "helpdesk", "--home", str(home), "-f", "json"]
        ).stdout
    )
    assert next(a for a in before["allocations"] if a["risk_area"] == "factuality")["accountable"] == (
        "lion-city-broadband"
    )
    args = ["registry", "override", "helpdesk", "--home", str(home), "--risk-area", "factuality"]
    args += ["--accountable", "kb-writers", "--responsible", "kb-writers", "--by", "Head of Care"]
    result = runner.invoke(app, [*args, "--rationale", "The help-article team signs off every article."])
    assert result.exit_code == 0, result.output
    after = json.loads(
        runner.invoke(
            app, ["registry", "raci", "--system", "helpdesk", "--home", str(home), "-f", "json"]
        ).stdout
    )
    factuality = next(a for a in after["allocations"] if a["risk_area"] == "factuality")
    assert factuality["accountable"] == "kb-writers"
    assert factuality["source"] == "override"
    assert factuality["rationale"] == "The help-article team signs off every article."
    assert factuality["decided_by"] == "Head of Care"


def test_override_errors(home: Path) -> None:
    base = ["registry", "override", "helpdesk", "--home", str(home), "--risk-area", "factuality"]
    typo = runner.invoke(
        app, [*base, "--accountable", "kb-writerz", "--responsible", "kb-writers", "--rationale", "x" * 30]
    )
    assert typo.exit_code == 2
    assert "did you mean 'kb-writers'" in typo.stderr
    short = runner.invoke(
        app, [*base, "--accountable", "kb-writers", "--responsible", "kb-writers", "--rationale", "no"]
    )
    assert short.exit_code == 2 and "--rationale" in short.stderr
    unknown = runner.invoke(app, ["registry", "raci", "--system", "nope", "--home", str(home)])
    assert unknown.exit_code == 2 and "no system with id 'nope'" in unknown.stderr
