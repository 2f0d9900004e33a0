"""`assay scan model`: exit codes, JSON, manifest hashes, and no markup leaking into the terminal."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from assay.cli.main import app

from .conftest import RunsShell, marker_command

runner = CliRunner()


def test_exit_codes_and_json(model_files: dict[str, Path], marker: Path, tmp_path: Path) -> None:
    clean = runner.invoke(app, ["scan", "model", str(model_files["benign.pt"])])
    assert clean.exit_code == 0, clean.output
    assert "CLEAN" in clean.stdout
    found = runner.invoke(app, ["scan", "model", str(model_files["evil.pt"]), "--json"])
    assert found.exit_code == 1
    data = json.loads(found.stdout)
    (f,) = data["files"][0]["findings"]
    assert f["import"].endswith(".system") and f["severity"] == "critical" and f["opcode"] == "GLOBAL"
    assert f["member"] == "archive/data.pkl" and isinstance(f["offset"], int)
    assert "LLM03:2025" in f["owasp"] and "AML.T0010.003" in f["atlas"]
    assert data["exit_code"] == 1
    folder = runner.invoke(app, ["scan", "model", str(model_files["evil.pkl"].parent), "--json"])
    assert folder.exit_code == 1
    verdicts = {Path(r["file"]).name: r["verdict"] for r in json.loads(folder.stdout)["files"]}
    assert verdicts == {
        "array.npy": "clean",
        "benign.pt": "clean",
        "evil.pkl": "findings",
        "evil.pt": "findings",
        "handmade.bin": "clean",
        "weights.safetensors": "clean",
    }
    assert not marker.exists()


def test_bad_input_exits_2_with_the_reason_on_stderr(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    r = runner.invoke(app, ["scan", "model", str(text)])
    assert r.exit_code == 2 and "not a model file" in r.stderr and str(text) in r.stderr
    missing = runner.invoke(app, ["scan", "model", str(tmp_path / "nope.pt")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = runner.invoke(app, ["scan", "model", str(empty)])
    assert none.exit_code == 2 and "no model file found" in none.stderr


def test_markup_in_file_names_is_printed_literally(tmp_path: Path, marker: Path) -> None:
    p = tmp_path / "[bold red]x[red].pkl"
    p.write_bytes(pickle.dumps(RunsShell(marker_command(marker))))
    r = runner.invoke(app, ["scan", "model", str(p)])
    assert r.exit_code == 1 and "[bold red]x[red].pkl" in r.stdout


def test_manifest_hash_mismatch_is_a_finding(model_files: dict[str, Path], tmp_path: Path) -> None:
    from tests.conftest import example_text

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(model_files["benign.pt"], project / "adapter.pt")
    data = yaml.safe_load(example_text())
    data["components"].append(
        {
            "id": "adapter",
            "name": "Fine-tuned adapter",
            "kind": "fine_tune",
            "provider": "lion-city-broadband",
            "artifact": {"path": "adapter.pt", "sha256": "ab" * 32},
        }
    )
    manifest = project / "assay.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    r = runner.invoke(
        app, ["scan", "model", str(project / "adapter.pt"), "--manifest", str(manifest), "--json"]
    )
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)["files"][0]
    assert report["component"] == "adapter" and report["declared_sha256"] == "ab" * 32
    (f,) = report["findings"]
    assert f["kind"] == "hash-mismatch" and f["expected"] == "ab" * 32 and f["found"] == report["sha256"]
    # without a PATH, every component artifact the manifest locates is scanned (the adapter among them)
    every = runner.invoke(app, ["scan", "model", "--manifest", str(manifest), "--json"])
    assert every.exit_code == 1, every.output
    by_component = {r["component"]: r for r in json.loads(every.stdout)["files"]}
    assert by_component["adapter"]["findings"][0]["kind"] == "hash-mismatch"
    assert runner.invoke(app, ["scan", "model"]).exit_code == 2
    # the right hash: clean
    data["components"][-1]["artifact"]["sha256"] = report["sha256"]
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    ok = runner.invoke(app, ["scan", "model", str(project / "adapter.pt"), "--manifest", str(manifest)])
    assert ok.exit_code == 0, ok.output


def test_the_command_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, assay.cli.scan\n"
        "print([m for m in ('numpy', 'pydantic', 'assay.security', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
