"""The assess step "Build the food label" and `assay assess --strict`: red grades and missing required
areas fail a CI gate with a one-screen why, after every output has been written."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from assay.assess import STEPS
from assay.cli.main import app
from assay.label.models import Disclosure
from assay.store.blobs import sha256_file

from .conftest import write_project

runner = CliRunner()


def _project(folder: Path, base_url: str, pack: dict, *, drop: tuple[str, ...] = ()) -> Path:  # type: ignore[type-arg]
    """The mock project without provenance (no bundled model runs), graded under `pack`."""
    path = write_project(folder, base_url)
    data = yaml.safe_load(path.read_text())
    data.pop("provenance", None)
    for key in drop:
        data["disclosure"].pop(key)
    data["policy_pack"] = {"id": pack["id"], "path": "pack.yaml"}
    (folder / "pack.yaml").write_text(yaml.safe_dump(pack))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def pack(green: float, amber: float, required: list[str]) -> dict:  # type: ignore[type-arg]
    return {
        "id": "gate",
        "title": "CI gate",
        "version": "2",
        "publisher": "Tests",
        "thresholds": [
            {
                "id": "bill-asr",
                "title": "Attacks that succeed",
                "source": "redteam",
                "suite": "redteam-seeds",
                "metric": "asr",
                "direction": "lower_is_better",
                "green": green,
                "amber": amber,
            }
        ],
        "required_areas": required,
    }


def test_label_step_sits_between_marks_and_the_steps_that_read_it() -> None:
    """After the marks (it reads them); before incidents (its red grades open some) and the controls."""
    names = [name for name, _ in STEPS]
    at = names.index("Build the food label")
    assert names[at - 1] == "Mark generated outputs"
    assert names[at + 1 :] == ["Review incidents", "Assess the framework's controls"]


def test_strict_passes_a_clean_label_and_fails_with_the_why(tmp_path: Path, mock_url: str) -> None:
    good = tmp_path / "good"
    good.mkdir()
    manifest = _project(good, mock_url, pack(1.0, 1.0, ["identity", "evaluation"]))
    result = runner.invoke(app, ["assess", str(manifest), "--strict", "--quiet"])
    assert result.exit_code == 0, result.output
    out = good / "out"
    label = Disclosure.model_validate_json((out / "label.json").read_bytes())
    assert label.policy is not None and label.policy.pack_id == "gate"
    assert {s.suite_id for s in label.evaluation.suites} == {"qa"}
    index = (out / "index.html").read_text()
    assert 'href="label.json"' in index and sha256_file(out / "label.json") in index
    controls = json.loads((out / "controls.json").read_text())
    assert "label.disclosure" in controls["evidence_kinds"]

    bad = tmp_path / "bad"
    bad.mkdir()
    manifest = _project(bad, mock_url, pack(0.0, 0.0, ["identity", "user_data"]), drop=("user_data",))
    result = runner.invoke(app, ["assess", str(manifest), "--strict", "--quiet"])
    assert result.exit_code == 1, result.output
    why = result.stderr
    assert "--strict: failed" in why
    assert "red: bill-asr (Attacks that succeed) on mock" in why
    assert "not disclosed: required area 'user_data'" in why
    assert len(why.strip().splitlines()) <= 20
    assert (bad / "out" / "index.html").is_file()  # everything was written before the verdict
    verify = runner.invoke(app, ["label", "verify", str(bad / "out" / "label.json")])
    assert verify.exit_code == 0, verify.output
    lenient = runner.invoke(app, ["assess", str(manifest), "--quiet", "--fresh"])
    assert lenient.exit_code == 0  # without --strict the same findings are only warnings
    # the red grade became one incident to triage, not one per assessment
    from assay.incidents.service import list_incidents
    from assay.workspace import Workspace

    (finding,) = list_incidents(Workspace.for_manifest(manifest))
    assert finding.source == "assessment" and "on mock" in finding.title


def test_an_unreadable_pack_stops_assess_before_anything_is_written(tmp_path: Path, mock_url: str) -> None:
    manifest = _project(tmp_path, mock_url, pack(0.1, 0.3, ["identity"]))
    (tmp_path / "pack.yaml").write_text("thresholds: [unclosed\n")
    result = runner.invoke(app, ["assess", str(manifest), "--strict", "--quiet"])
    assert result.exit_code == 2
    assert "pack.yaml" in result.stderr
    assert not (tmp_path / "out" / "label.json").exists()
