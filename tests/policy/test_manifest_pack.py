"""`assay validate` loads the manifest's policy pack, so a wrong id or a broken pack file is reported
before an assessment runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.manifest import ManifestInvalid, load_manifest
from tests.conftest import example_text


def _manifest(tmp_path: Path, pack_block: str) -> Path:
    text = example_text().replace("policy_pack:\n  id: baseline\n", pack_block)
    assert pack_block in text
    path = tmp_path / "assay.yaml"
    path.write_text(text)
    return path


def test_the_example_names_a_pack_that_loads(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "policy_pack:\n  id: baseline\n")
    assert load_manifest(path, runnable=True).policy_pack.id == "baseline"


def test_an_unknown_pack_id_is_a_problem_at_the_manifest_line(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "policy_pack:\n  id: imda-starter\n")
    with pytest.raises(ManifestInvalid) as caught:
        load_manifest(path, runnable=True)
    (p,) = caught.value.problems
    line = path.read_text().splitlines().index("  id: imda-starter") + 1
    assert (p.field, p.line) == ("policy_pack.id", line)
    assert "no built-in policy pack 'imda-starter'" in p.message and "baseline" in p.expected
    path.write_text(path.read_text().replace("id: imda-starter", "id: baselin"))
    with pytest.raises(ManifestInvalid) as caught:
        load_manifest(path, runnable=True)
    assert "(did you mean 'baseline'?)" in caught.value.problems[0].message


def test_a_broken_pack_file_lists_its_own_problems(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text(
        "id: mine\ntitle: Mine\nversion: '1'\npublisher: Me\nextends: baseline\n"
        "thresholds:\n  - {id: harmful-refusal, title: HR, suite: harmful-refusal, green: 0.5, amber: 0.4}\n"
    )
    path = _manifest(tmp_path, "policy_pack:\n  id: mine\n  path: pack.yaml\n")
    with pytest.raises(ManifestInvalid) as caught:
        load_manifest(path, runnable=True)
    fields = [(p.file, p.field) for p in caught.value.problems]
    assert (str(path), "policy_pack.path") in fields
    pack_file = str(tmp_path / "pack.yaml")
    assert (pack_file, "thresholds[0].green") in fields and (pack_file, "thresholds[0].amber") in fields
