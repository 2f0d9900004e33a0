"""The same files through picklescan and modelscan: what they call dangerous, this scanner flags too,
and on joblib files (array bytes between opcodes) it goes on where they stop with a parse error.

picklescan is a dev dependency. modelscan pins rich<15 while Assay runs on rich 15, so it lives in its
own virtualenv (`bench/.venvs/modelscan`, see docs/security.md) or wherever ASSAY_MODELSCAN points.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assay.security.artifacts import scan_file

from .conftest import RunsShell, marker_command

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus(model_files: dict[str, Path], marker: Path, tmp_path: Path) -> dict[str, Path]:
    files = dict(model_files)
    files.pop("weights.safetensors")  # neither tool reads pickles out of safetensors; no pickle there
    files.pop("array.npy")
    protocol0 = tmp_path / "models" / "protocol0.pkl"
    protocol0.write_bytes(pickle.dumps([RunsShell(marker_command(marker))], protocol=0))
    files["protocol0.pkl"] = protocol0
    evil_eval = tmp_path / "models" / "eval.pkl"
    evil_eval.write_bytes(b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x8c\x08print(1)\x85R.")
    files["eval.pkl"] = evil_eval
    return files


def _ours(path: Path) -> set[str]:
    report = scan_file(path)
    return {f.import_ for f in report.findings if f.severity in ("critical", "high") and f.import_}


def test_picklescan_dangerous_globals_are_all_flagged(corpus: dict[str, Path], marker: Path) -> None:
    scanner = pytest.importorskip("picklescan.scanner", reason="picklescan is not installed (dev extra)")
    for name, path in corpus.items():
        result = scanner.scan_file_path(str(path))
        theirs = {f"{g.module}.{g.name}" for g in result.globals if g.safety.value == "dangerous"}
        assert theirs <= _ours(path), name
        if name.startswith(("benign", "handmade")):
            assert theirs == set() and _ours(path) == set()
    assert not marker.exists()


def test_joblib_payload_after_an_array_found_where_picklescan_stops(tmp_path: Path, marker: Path) -> None:
    scanner = pytest.importorskip("picklescan.scanner", reason="picklescan is not installed (dev extra)")
    joblib = pytest.importorskip("joblib", reason="joblib is not installed")
    p = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(50.0), "hook": RunsShell(marker_command(marker))}, p)
    result = scanner.scan_file_path(str(p))
    assert result.scan_err and not [g for g in result.globals if g.safety.value == "dangerous"]
    assert any(i.endswith(".system") for i in _ours(p))
    assert not marker.exists()


def _modelscan() -> str:
    found = os.environ.get("ASSAY_MODELSCAN") or str(REPO / "bench/.venvs/modelscan/bin/modelscan")
    if not Path(found).is_file() and not shutil.which(found):
        pytest.skip(
            "modelscan is not installed: it pins rich<15, so it needs its own virtualenv "
            "(python -m venv bench/.venvs/modelscan && "
            "bench/.venvs/modelscan/bin/pip install modelscan==0.8.8)"
        )
    return found


def test_modelscan_issues_are_all_flagged(corpus: dict[str, Path], marker: Path, tmp_path: Path) -> None:
    exe = _modelscan()
    for name, path in corpus.items():
        out = tmp_path / f"{name}.json"
        subprocess.run([exe, "-p", str(path), "-r", "json", "-o", str(out)], capture_output=True, timeout=120)
        report = json.loads(out.read_text())
        theirs = {
            f"{i['module']}.{i['operator']}"
            for i in report["issues"]
            if i["severity"] in ("CRITICAL", "HIGH")
        }
        assert theirs <= _ours(path), (name, theirs)
        if name.startswith(("benign", "handmade")):
            assert theirs == set() and _ours(path) == set()
        elif name.startswith(("evil", "protocol0")):
            assert theirs, f"modelscan found nothing in {name}: {report['errors']}"
    assert not marker.exists()


def test_modelscan_stops_at_joblib_array_bytes(tmp_path: Path, marker: Path) -> None:
    exe = _modelscan()
    joblib = pytest.importorskip("joblib", reason="joblib is not installed")
    p = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(50.0), "hook": RunsShell(marker_command(marker))}, p)
    out = tmp_path / "out.json"
    subprocess.run([exe, "-p", str(p), "-r", "json", "-o", str(out)], capture_output=True, timeout=120)
    report = json.loads(out.read_text())
    assert report["issues"] == [] and report["errors"]
    assert any(i.endswith(".system") for i in _ours(p))
    assert not marker.exists()
