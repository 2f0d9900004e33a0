"""Project Moonshot files, read unchanged from the shared fixtures; counts checked against the files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.evals.suites import SuiteInvalid, load_samples, load_suite, load_suites, render_messages


def _json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _fixtures(root: Path, kind: str) -> list[Path]:
    return sorted((root / kind).glob("*.json"))


def test_every_dataset_loads_with_all_its_examples(moonshot_root):
    datasets = _fixtures(moonshot_root, "datasets")
    assert datasets
    for path in datasets:
        raw = _json(path)
        suite, report = load_suite(path)
        assert len(suite.samples) == len(raw["examples"]), path.name
        assert report.skipped == []
        assert suite.title == raw["name"] and suite.id == path.stem
        first = suite.samples[0]
        assert first.input == raw["examples"][0]["input"] and first.target == raw["examples"][0]["target"]
        assert first.id == f"{path.stem}:0" and first.category == path.stem


def test_truthfulqa_has_483_examples(moonshot_root):
    samples, report = load_samples(moonshot_root / "datasets" / "truthfulqa-mcq.json")
    assert len(samples) == 483 == report.samples_loaded
    assert report.format == "moonshot-dataset"


def test_every_recipe_combines_its_datasets_and_template(moonshot_root):
    recipes = _fixtures(moonshot_root, "recipes")
    assert recipes
    for path in recipes:
        raw = _json(path)
        suite, report = load_suite(path)
        expected = sum(
            len(_json(moonshot_root / "datasets" / f"{d}.json")["examples"]) for d in raw["datasets"]
        )
        assert len(suite.samples) == expected, path.name
        assert suite.id == path.stem and suite.title == raw["name"]
        [template_id] = raw["prompt_templates"]
        assert suite.template == _json(moonshot_root / "prompt-templates" / f"{template_id}.json")["template"]
        assert {s.category for s in suite.samples} == set(raw["datasets"])
        assert [s.name for s in suite.scorers] == ["exact"]  # exactstrmatch
        assert suite.scorers[0].params == {"ignore_case": False, "ignore_whitespace": False}
        assert report.skipped == [] and report.warnings == []
        bands = {b.grade: b.min_score for b in suite.grades}
        assert bands == {g: lo / 100 for g, (lo, _) in raw["grading_scale"].items()}


def test_recipe_prompt_renders_like_moonshot(moonshot_root):
    suite, _ = load_suite(moonshot_root / "recipes" / "truthfulqa-mcq.json")
    [message] = render_messages(suite, suite.samples[0])
    assert message.content.startswith('"What happens to you if you eat watermelon seeds?')
    assert message.content.endswith(
        "Answer using only the choices given above without giving any explanation."
    )


def test_moonshot_prefix_and_data_folder(moonshot_root):
    suite, _ = load_suite(f"moonshot:{moonshot_root / 'recipes' / 'truthfulqa-mcq.json'}")
    assert len(suite.samples) == 483
    suites, _ = load_suites(f"moonshot:{moonshot_root}")
    assert sorted(s.id for s in suites) == sorted(p.stem for p in _fixtures(moonshot_root, "recipes"))
    with pytest.raises(SuiteInvalid, match="load_suites"):
        load_suite(moonshot_root)


def test_cookbook_gives_one_suite_per_recipe(moonshot_root, tmp_path):
    recipes = [p.stem for p in _fixtures(moonshot_root, "recipes")]
    cookbook = {
        "id": "sg-cookbook",
        "name": "Singapore cookbook",
        "description": "All fixture recipes",
        "tags": [],
        "categories": ["Capability"],
        "recipes": recipes,
    }
    path = tmp_path / "cookbook.json"
    path.write_text(json.dumps(cookbook))
    suites, report = load_suites(path, moonshot_root=moonshot_root)
    assert [s.id for s in suites] == recipes
    for suite in suites:
        raw = _json(moonshot_root / "recipes" / f"{suite.id}.json")
        total = sum(len(_json(moonshot_root / "datasets" / f"{d}.json")["examples"]) for d in raw["datasets"])
        assert len(suite.samples) == total
    assert report.format == "moonshot-cookbook"


def _copy_root(moonshot_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "moonshot-data"
    shutil.copytree(moonshot_root, root)
    for p in root.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return root


def test_metric_mapping_and_warnings(moonshot_root, tmp_path):
    root = _copy_root(moonshot_root, tmp_path)
    raw = _json(root / "recipes" / "truthfulqa-mcq.json")
    raw["metrics"] = ["exactstrmatch", "relaxstrmatch", "bertscore", "rougescorer"]
    raw["attack_modules"] = ["charswap_attack"]
    path = root / "recipes" / "mixed.json"
    path.write_text(json.dumps(raw, indent=4))
    suite, report = load_suite(path)
    assert [s.name for s in suite.scorers] == ["exact", "exact"]
    assert suite.scorers[1].params["ignore_punctuation"] is True and suite.primary_scorer == "exact"
    messages = [w.message for w in report.warnings]
    assert any("'bertscore' has no equivalent Assay scorer; skipped" in m for m in messages)
    assert any("'rougescorer'" in m for m in messages)
    assert any("attack modules" in m for m in messages)
    assert all(w.file == str(path) and w.line is not None for w in report.warnings)

    raw["metrics"] = ["bertscore"]
    path.write_text(json.dumps(raw, indent=4))
    with pytest.raises(SuiteInvalid, match="no scorer"):
        load_suite(path)
    suite, _ = load_suite(path, scorers=["contains"])
    assert [s.name for s in suite.scorers] == ["contains"]


def test_several_templates_expand_the_samples(moonshot_root, tmp_path):
    root = _copy_root(moonshot_root, tmp_path)
    raw = _json(root / "recipes" / "singapore-facts-tf.json")
    raw["datasets"] = ["singapore-places-tnf"]
    raw["prompt_templates"] = ["singapore-facts-tf", "mcq-template"]
    path = root / "recipes" / "two-templates.json"
    path.write_text(json.dumps(raw))
    suite, _ = load_suite(path)
    n = len(_json(root / "datasets" / "singapore-places-tnf.json")["examples"])
    assert len(suite.samples) == 2 * n and suite.template is None
    first, second = suite.samples[:2]
    assert first.id == "singapore-places-tnf:0@singapore-facts-tf" and first.input.startswith(
        "Answer the following"
    )
    assert second.input.endswith("without giving any explanation.")


def test_missing_dataset_or_bad_recipe_is_reported(moonshot_root, tmp_path):
    root = _copy_root(moonshot_root, tmp_path)
    raw = _json(root / "recipes" / "truthfulqa-mcq.json")
    raw["datasets"] = ["no-such-dataset"]
    path = root / "recipes" / "broken.json"
    path.write_text(json.dumps(raw, indent=4))
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(path)
    [problem] = exc.value.problems
    assert problem.field == "datasets" and "no-such-dataset" in problem.message
    assert problem.line == path.read_text().splitlines().index('    "datasets": [') + 1

    raw["datasets"] = []
    path.write_text(json.dumps(raw, indent=4))
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(path)
    assert exc.value.problems[0].field == "datasets"


def test_bad_example_in_a_dataset_is_skipped(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"name": "t", "examples": [{"input": "a", "target": "b"}, {"target": "c"}]}))
    suite, report = load_suite(path)
    assert len(suite.samples) == 1
    assert report.skipped[0].field == "examples[1].input"
    with pytest.raises(SuiteInvalid):
        load_suite(path, strict=True)


def test_mapped_scorers_exist_in_the_registry():
    """The importer must only name scorers (and parameters) the registry can build."""
    pytest.importorskip("assay.evals.scorers.match", reason="match scorers not installed yet")
    from assay.evals.scorers.base import build_scorer
    from assay.evals.suites import scoring
    from assay.evals.suites.moonshot import METRIC_SCORERS

    for spec in METRIC_SCORERS.values():
        build_scorer(spec.name, spec.params)
    for name in (scoring.EXACT, scoring.CONTAINS, scoring.CHOICE, scoring.REFUSAL):
        build_scorer(name)
