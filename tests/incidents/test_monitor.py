"""`assay monitor`: a canary suite on a target; a drop beyond the baseline's interval opens an incident."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from assay.cli.main import app
from assay.evals.mockserver import run_mock_server
from tests.conftest import example_text

CANARY = {
    "id": "canary",
    "title": "Canary",
    "scorers": [{"name": "exact"}],
    "samples": [{"id": f"c{i}", "input": f"echo {i}", "target": f"echo {i}"} for i in range(40)],
}


def _project(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "canary.yaml").write_text(yaml.safe_dump(CANARY))
    data = yaml.safe_load(example_text())
    data["targets"].append(
        {"id": "prod", "kind": "openai", "base_url": base_url, "model": "mock-1", "retries": 0}
    )
    data["suites"] = [{"suite": "canary.yaml", "targets": ["prod"]}]
    data["redteam"] = []
    data["monitor"] = {"suite": "canary.yaml", "targets": ["prod"]}
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_regression_beyond_the_interval_opens_an_incident(tmp_path: Path) -> None:
    from assay.incidents.service import get_incident
    from assay.workspace import Workspace

    runner = CliRunner()
    healthy = lambda messages, body: messages[-1]["content"]  # noqa: E731 - echoes: every answer right
    broken = lambda messages, body: "I cannot help with that."  # noqa: E731
    with run_mock_server(responder=healthy) as mock:
        manifest = _project(tmp_path, mock.base_url)
        first = runner.invoke(app, ["monitor", str(manifest), "--json"])
        assert first.exit_code == 0, first.output
        (c,) = json.loads(first.stdout)
        assert c["score"] == 1.0 and c["baseline_run"] is None and "baseline from now on" in c["note"]
        again = runner.invoke(app, ["monitor", str(manifest), "--json"])
        assert again.exit_code == 0 and json.loads(again.stdout)[0]["regressed"] is False
    with run_mock_server(responder=broken) as mock:
        manifest.write_text(
            manifest.read_text().replace(
                manifest.read_text().split("base_url: ")[1].split("\n")[0], mock.base_url
            )
        )
        bad = runner.invoke(app, ["monitor", str(manifest), "--json"])
    assert bad.exit_code == 1, bad.output
    (c,) = json.loads(bad.stdout)
    assert c["regressed"] and c["score"] == 0.0 and c["baseline_score"] == 1.0 and c["incident"]
    inc = get_incident(Workspace.for_manifest(manifest), c["incident"])
    assert inc.source == "monitor" and "canary on prod fell from 100% to 0%" in inc.title
    assert len(inc.evidence) == 2


def test_without_a_monitor_section_it_says_so(tmp_path: Path) -> None:
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    r = CliRunner().invoke(app, ["monitor", str(manifest)])
    assert r.exit_code == 2 and "monitor" in r.output
