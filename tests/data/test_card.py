"""The card with a manifest: contamination against its suites, licence terms, lineage, `--json`, the
HTML page, and the `assay assess` step on the example."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from assay.cli.main import app
from assay.data.licences import check_licence
from assay.data.service import card_html, scan

from ..conftest import EXAMPLE

runner = CliRunner()
PROMPTS = [
    "Which of the plans includes a static IP address at no extra cost?",
    "Explain how to reset the router to factory settings step by step.",
    "Is the late fee waived when the bill is paid within three days?",
]


def _project(tmp_path: Path, licence: str = "proprietary", commercial: bool | None = True) -> Path:
    """The example's registry, its dataset replaced by one we write here, and a small suite."""
    data = yaml.safe_load(EXAMPLE.read_text())
    if commercial is None:
        data["system"].pop("commercial", None)
    else:
        data["system"]["commercial"] = commercial
    data["suites"] = [{"suite": "suite.jsonl", "targets": ["bundled"]}]
    data["redteam"] = []
    data["datasets"][0].update(path="data.jsonl", licence=licence)
    (tmp_path / "suite.jsonl").write_text(
        "".join(json.dumps({"id": f"p{i}", "input": p}) + "\n" for i, p in enumerate(PROMPTS))
    )
    rows = [
        {"body": f"Article {i}: how the {w} works and what to check first."}
        for i, w in enumerate(["router", "modem", "bill", "app", "portal"])
    ]
    rows.append({"body": PROMPTS[1]})  # copied verbatim
    rows.append({"body": PROMPTS[0].replace("the plans", "your plans")})  # lightly edited
    rows.append({"body": "Write to help@lcb.example.sg for a copy of your bill."})
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_contamination_against_the_manifest_suites(tmp_path: Path) -> None:
    manifest = _project(tmp_path)
    result = runner.invoke(
        app, ["data", "scan", str(tmp_path / "data.jsonl"), "-m", str(manifest), "--json", "--no-evidence"]
    )
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    c = card["contamination"]
    assert c["suite_samples"] == 3 and c["rows_matching"] == 2
    hits = {h["sample_id"]: h for h in c["examples"]}
    assert hits["p1"]["exact"] and hits["p1"]["location"]["row"] == 6
    assert not hits["p0"]["exact"] and hits["p0"]["similarity"] >= 0.6 and hits["p0"]["location"]["row"] == 7
    assert card["personal_data"] == {"EMAIL_ADDRESS": 1}
    assert card["dataset_id"] == "help-articles-2026"
    assert [link["component"] for link in card["lineage"]] == ["help-articles", "helpdesk-app"]


def test_a_non_commercial_set_feeding_a_commercial_system_is_an_error(tmp_path: Path) -> None:
    manifest = _project(tmp_path, licence="CC-BY-NC-SA-4.0")
    from assay.manifest import load_manifest

    card, _ = scan(tmp_path / "data.jsonl", manifest=load_manifest(manifest), base_dir=tmp_path)
    severities = {c.severity for c in card.licence.conflicts}
    assert card.licence.flags == ["non-commercial", "share-alike"] and "error" in severities
    assert any("system.commercial: true" in c.message for c in card.licence.conflicts)


def test_licence_rules() -> None:
    assert check_licence("MIT", "manifest", True).conflicts == []
    assert check_licence("Apache-2.0 OR CC-BY-NC-4.0", "manifest", True).conflicts == []  # pick Apache
    both = check_licence("MIT AND CC-BY-NC-4.0", "manifest", True)
    assert [c.severity for c in both.conflicts] == ["error"]
    undecided = check_licence("CC-BY-NC-4.0", "manifest", None)
    assert [c.severity for c in undecided.conflicts] == ["warning"]
    assert "system.commercial" in undecided.conflicts[0].message
    made_up = check_licence("Totally-Free-1.0", "manifest", False)
    assert made_up.unknown_ids == ["Totally-Free-1.0"] and made_up.conflicts[0].severity == "warning"
    assert check_licence("cc-by-4.0", "README.md", True).spdx_ids == ["CC-BY-4.0"]


def test_html_escapes_what_comes_from_the_data(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('"<script>alert(1)</script>",body\nx,hello\n')
    card, _ = scan(path)
    page = card_html(card)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_schema_command_prints_the_card_schema() -> None:
    result = runner.invoke(app, ["data", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "personal_data" in schema["properties"] and schema["title"] == "DataCard"


def test_assess_step_scans_the_example_dataset(tmp_path: Path) -> None:
    from assay.assess import AssessmentContext, _step_datasets
    from assay.manifest import load_manifest
    from assay.workspace import Workspace

    shutil.copytree(EXAMPLE.parent, tmp_path / "helpdesk", ignore=shutil.ignore_patterns("out", ".assay"))
    manifest_path = tmp_path / "helpdesk" / "assay.yaml"
    ws = Workspace(tmp_path / ".assay")
    ctx = AssessmentContext(
        manifest=load_manifest(manifest_path),
        manifest_path=manifest_path,
        ws=ws,
        out_dir=tmp_path / "out",
        today=dt.date(2026, 12, 1),
        step="Scan datasets",
    )
    _step_datasets(ctx)
    names = [o.name for o in ctx.outputs]
    assert names == ["data-card-help-articles-2026.json", "data-card-help-articles-2026.html"]
    card = json.loads((tmp_path / "out" / names[0]).read_text())
    # the planted problems of examples/helpdesk/data/help-articles.jsonl
    assert card["personal_data"] == {"SG_NRIC_FIN": 1, "EMAIL_ADDRESS": 1}
    assert card["duplicates"]["exact_rows"] == 1 and card["quality"]["empty_rows"] == 1
    assert card["contamination"]["by_suite"] == {"helpdesk-basics": 1}
    assert "S8312456C" not in (tmp_path / "out" / names[0]).read_text()
    messages = [f.message for f in ctx.findings]
    assert any("declared without personal data" in m for m in messages)
    assert any("match evaluation prompts" in m for m in messages)
    assert all(o.evidence_id for o in ctx.outputs)
    # the food label's data area points at the card (area a reads it)
    from assay.label.build import build_disclosure

    d = build_disclosure(ws, ctx.manifest, pack=None, today=ctx.today)
    (entry,) = [e for e in d.data.datasets if e.id == "help-articles-2026"]
    assert entry.data_card_sha256 == ctx.outputs[0].sha256 and "data.card" in d.data.source
    ws.close()


def test_used_by_must_name_components() -> None:
    import pytest

    from assay.manifest import ManifestInvalid
    from assay.manifest.loader import parse_manifest_text

    data = yaml.safe_load(EXAMPLE.read_text())
    data["datasets"][0].pop("path")
    data["datasets"][0]["used_by"] = ["help-articles", "no-such-part"]
    with pytest.raises(ManifestInvalid) as err:
        parse_manifest_text(yaml.safe_dump(data, sort_keys=False))
    text = str(err.value)
    assert "used_by" in text and "no-such-part" in text and "help-articles'" not in text
    data["datasets"][0]["used_by"] = ["help-articles"]
    data["system"]["commercial"] = "yes"  # a bool is expected
    with pytest.raises(ManifestInvalid, match="commercial"):
        parse_manifest_text(yaml.safe_dump(data, sort_keys=False))


def test_lineage_is_inferred_without_used_by() -> None:
    from assay.data.lineage import lineage
    from assay.manifest.loader import parse_manifest_text

    data = yaml.safe_load(EXAMPLE.read_text())
    data["datasets"][0].pop("path")
    data["datasets"][0].pop("used_by")
    m = parse_manifest_text(yaml.safe_dump(data, sort_keys=False))
    links = lineage(m, m.datasets[0])
    assert [(link.component, link.relation) for link in links] == [
        ("help-articles", "retrieval"),
        ("helpdesk-app", "downstream"),
    ]
    assert links[0].note.startswith("inferred")
