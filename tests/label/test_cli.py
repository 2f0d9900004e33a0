"""`assay label build|verify|diff|schema`: a signed label.json beside the manifest; verify exits 0, 1 naming
a changed value or a changed piece of evidence, 2 for a file that is not a label; diff names changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.assurance.evidence import list_evidence
from assay.cli.main import app
from assay.label.models import Disclosure
from assay.store.blobs import sha256_file

from .conftest import Project

runner = CliRunner()

PACK = {
    "id": "test-pack",
    "title": "Test pack",
    "version": "1",
    "publisher": "Tests",
    "illustrative": True,
    "thresholds": [
        {"id": "qa-score", "title": "QA pass rate", "suite": "qa", "green": 0.5, "amber": 0.2},
    ],
    "required_areas": ["identity", "evaluation", "user_data"],
}


def _build(project: Project, *args: str) -> Path:
    result = runner.invoke(app, ["label", "build", str(project.manifest_path), *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return project.out / "label.json"


def _verify(label: Path, project: Project) -> object:
    return runner.invoke(app, ["label", "verify", str(label), "--home", str(project.ws.home)])


def test_build_writes_a_signed_label_that_verifies(project: Project) -> None:
    label = _build(project)
    assert "Wrote" in runner.invoke(app, ["label", "build", str(project.manifest_path)]).stdout
    records = [
        r
        for r in list_evidence(project.ws, system="helpdesk", kind="label.disclosure")
        if r.name == "label.json"
    ]
    assert records and records[-1].sha256 == sha256_file(label)
    assert {"label.html", "badge.svg", "label.cdx.json", "MODEL_CARD.md"} <= {
        p.name for p in label.parent.iterdir()
    }
    d = Disclosure.model_validate_json(label.read_bytes())
    assert d.evidence and d.identity.system_id == "helpdesk"
    assert not list(project.out.glob(".*.tmp"))
    ok = _verify(label, project)
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.stdout and f"{len(d.evidence)} piece(s) of evidence" in ok.stdout
    found = runner.invoke(app, ["label", "verify", str(label)])  # the workspace is found beside out/
    assert found.exit_code == 0, found.output


def test_one_changed_value_fails_and_is_named(project: Project) -> None:
    label = _build(project)
    data = json.loads(label.read_text())
    data["completeness"]["score"] = 0.99
    data["user_data"]["retention"] = "forever"
    label.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    result = _verify(label, project)
    assert result.exit_code == 1
    assert "NOT verified" in result.stderr
    assert "completeness.score" in result.stderr and "user_data.retention" in result.stderr


def test_one_changed_byte_of_evidence_fails_and_names_it(project: Project) -> None:
    label = _build(project)
    d = Disclosure.model_validate_json(label.read_bytes())
    ref = next(e for e in d.evidence if e.name.endswith("/summary.json"))
    blob = project.ws.blobs.path(ref.sha256)
    content = bytearray(blob.read_bytes())
    content[10] ^= 0x01
    blob.chmod(0o644)
    blob.write_bytes(bytes(content))
    result = _verify(label, project)
    assert result.exit_code == 1
    assert ref.name in result.stderr
    assert sum(ref.name in line for line in result.stderr.splitlines()) >= 1
    assert "label:" not in result.stderr  # the label's own record is intact


def test_evidence_the_label_lists_but_the_store_lacks(project: Project, tmp_path: Path) -> None:
    label = _build(project)
    other = tmp_path / "elsewhere" / ".assay"
    result = runner.invoke(app, ["label", "verify", str(label), "--home", str(other)])
    assert result.exit_code == 1
    assert "matches no signed label" in result.stderr and "no such record" in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"{not json", "not a label"), (b'{"label": 1}', "not a label"), (None, "cannot read it")],
)
def test_unreadable_label_exits_2(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = tmp_path / "label.json"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["label", "verify", str(path), "--home", str(tmp_path / ".assay")])
    assert result.exit_code == 2
    assert words in result.stderr and str(path) in result.stderr


def test_schema_is_the_disclosure() -> None:
    result = runner.invoke(app, ["label", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Disclosure"
    assert {"identity", "evaluation", "user_data", "grades", "completeness", "evidence"} <= set(
        schema["properties"]
    )


def test_build_grades_under_a_pack_file(project: Project) -> None:
    (project.manifest_path.parent / "pack.yaml").write_text(yaml.safe_dump(PACK))
    label = _build(project, "--pack", "pack.yaml")
    d = Disclosure.model_validate_json(label.read_bytes())
    assert d.policy is not None and d.policy.pack_id == "test-pack"
    (grade,) = d.grades
    assert grade.rule_id == "qa-score" and grade.status == "inconclusive"  # 0.6, interval 0.31–0.83
    assert d.completeness.required == ["identity", "evaluation", "user_data"]


def test_bad_pack_exits_2(project: Project) -> None:
    (project.manifest_path.parent / "pack.yaml").write_text("id: [broken\n")
    result = runner.invoke(app, ["label", "build", str(project.manifest_path), "--pack", "pack.yaml"])
    assert result.exit_code == 2
    assert "pack.yaml" in result.stderr
    assert not (project.out / "label.json").exists()


def test_diff_names_grades_metrics_and_disclosures(project: Project, tmp_path: Path) -> None:
    (project.manifest_path.parent / "pack.yaml").write_text(yaml.safe_dump(PACK))
    old = tmp_path / "old.json"
    old.write_bytes(_build(project, "--pack", "pack.yaml").read_bytes())
    data = json.loads(old.read_text())
    data["grades"][0]["status"] = "red"
    data["measurements"][0]["value"] = 0.1
    data["user_data"]["status"] = "not_disclosed"
    data["identity"]["name"] = "<script>alert(1)</script> Helpdesk"
    data["completeness"]["score"] = 0.5
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))
    page = tmp_path / "diff.html"
    result = runner.invoke(app, ["label", "diff", str(old), str(new), "--html", str(page), "--json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    sections = {(c["section"], c["item"]) for c in changes}
    assert ("grade", "qa-score on mock") in sections
    assert ("disclosure", "user_data: status") in sections
    assert ("disclosure", "completeness") in sections
    assert any(s == "metric" for s, _ in sections)
    assert any(i == "identity: content" for _, i in sections)
    html = page.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    table = runner.invoke(app, ["label", "diff", str(old), str(new)])
    assert table.exit_code == 0 and "qa-score on mock" in table.stdout
    same = runner.invoke(app, ["label", "diff", str(old), str(old)])
    assert same.exit_code == 0 and "No changes" in same.stdout
    bad = runner.invoke(app, ["label", "diff", str(old), str(tmp_path / "missing.json")])
    assert bad.exit_code == 2


def test_an_older_label_changed_is_compared_with_its_own_signed_version(
    project: Project, tmp_path: Path
) -> None:
    older = tmp_path / "older.json"
    older.write_bytes(_build(project).read_bytes())
    data = json.loads(older.read_text())
    runner.invoke(app, ["label", "build", str(project.manifest_path)])  # a newer label is signed since
    assert json.loads((project.out / "label.json").read_text())["generated_at"] >= data["generated_at"]
    assert _verify(older, project).exit_code == 0  # the older label, unchanged, still verifies
    data["reporting"]["incident_contact"] = "someone-else@example.com"
    older.write_text(json.dumps(data))
    result = _verify(older, project)
    assert result.exit_code == 1
    assert "changed: reporting.incident_contact" in result.stderr
    assert "generated_at" not in result.stderr
