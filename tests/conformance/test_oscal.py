"""OSCAL export through compliance-trestle's models: the catalog and an assessment each written as JSON,
parsed back with trestle and compared; a control's status and its evidence hashes survive the trip."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from assay.assurance import oscal
from assay.assurance.attestation import record_attestation
from assay.assurance.conformance import assess_controls
from assay.assurance.evidence import record_evidence
from assay.catalog import load_catalog
from assay.cli.main import app
from assay.workspace import Workspace
from tests.conftest import example_text

SYS = "helpdesk"
ALLOCATION = "mgf-genai:2024:accountability.allocation"  # registry.raci, manifest
SAFETY_NET = "mgf-genai:2024:accountability.safety-net"


def _v(x: object) -> object:
    """An OSCAL token parsed as a plain string or as trestle's enum, as a string."""
    return getattr(x, "value", x)


def test_catalog_round_trips_through_trestle(tmp_path: Path) -> None:
    catalog = load_catalog()
    doc = oscal.catalog_document(catalog, now=dt.datetime(2026, 12, 4, tzinfo=dt.UTC))
    path = tmp_path / "catalog.oscal.json"
    oscal.write(doc, path)
    assert next(iter(json.loads(path.read_text()))) == "catalog"  # OSCAL's wrapped form
    back = oscal.read_catalog(path)
    assert back.model_dump(by_alias=True) == doc.model_dump(by_alias=True)
    assert [g.id for g in back.groups] == [d.id for d in catalog.dimensions]
    controls = {c.id: c for g in back.groups for c in g.controls or []}
    assert len(controls) == len(catalog.controls)
    alloc = controls[oscal.oscal_control_id(ALLOCATION)]
    props = {(p.name, p.value, p.class_) for p in alloc.props}
    assert ("assay-id", ALLOCATION, None) in props
    assert ("nist-ai-rmf", "GOVERN 2.1", "partial") in props and (
        "iso-42001",
        "A.10.2",
        "equivalent",
    ) in props
    assert ("evidence-kind", "registry.raci", None) in props
    resources = {r.uuid: r for r in back.back_matter.resources}
    assert all(link.href[1:] in resources for link in alloc.links)  # each crosswalk link resolves
    assert alloc.parts[0].name == "statement" and alloc.parts[0].prose


def test_assessment_results_round_trip_with_statuses_and_evidence_hashes(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'assay.db'}")
    raci = record_evidence(ws, b"raci", kind="registry.raci", system=SYS, name="raci.json")
    record_evidence(ws, b"manifest", kind="manifest", system=SYS, name="assay.yaml")
    record_attestation(ws, system=SYS, control=SAFETY_NET, answer="not_applicable", by="Tan", role="Counsel",
                       reason="internal tool")  # fmt: skip
    report = assess_controls(ws, SYS)
    ws.close()
    assert report.control(ALLOCATION).status == "met"
    doc = oscal.results_document(report, system_name="Helpdesk", files={raci.sha256: "raci.json"})
    path = tmp_path / "assessment-results.oscal.json"
    oscal.write(doc, path)
    back = oscal.read_results(path)
    assert back.model_dump(by_alias=True) == doc.model_dump(by_alias=True)

    (result,) = back.results
    findings = {f.target.target_id: f for f in result.findings}
    assert len(findings) == len(report.controls)
    met = findings[oscal.oscal_control_id(ALLOCATION)]
    assert _v(met.target.status.state) == "satisfied"
    assert {(p.name, p.value) for p in met.props} >= {("assay-status", "met"), ("assay-id", ALLOCATION)}
    not_met = findings[oscal.oscal_control_id("mgf-genai:2024:incident-reporting.intake")]
    assert _v(not_met.target.status.state) == "not-satisfied" and _v(not_met.target.status.reason) == "fail"
    na = findings[oscal.oscal_control_id(SAFETY_NET)]
    assert na.target.status is None and ("assay-status", "not_applicable") in {
        (p.name, p.value) for p in na.props
    }
    excluded = result.reviewed_controls.control_selections[0].exclude_controls
    assert [e.control_id for e in excluded] == [oscal.oscal_control_id(SAFETY_NET)]

    # the met finding points at observations whose evidence is the RACI record, by its SHA-256
    observations = {o.uuid: o for o in result.observations}
    resources = {r.uuid: r for r in back.back_matter.resources}
    hashes = set()
    for rel in met.related_observations:
        for ev in observations[rel.observation_uuid].relevant_evidence:
            (rlink,) = resources[ev.href.removeprefix("#")].rlinks
            hashes.add((rlink.href, _v(rlink.hashes[0].algorithm), rlink.hashes[0].value))
    assert ("raci.json", "SHA-256", raci.sha256) in hashes


def test_cli_writes_both_documents(tmp_path: Path) -> None:
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    runner = CliRunner()
    cat = runner.invoke(app, ["oscal", "catalog", "-o", str(tmp_path / "c.json")])
    assert cat.exit_code == 0, cat.output
    assert oscal.read_catalog(tmp_path / "c.json").groups
    res = runner.invoke(app, ["oscal", "results", str(manifest), "-o", str(tmp_path / "out" / "r.json")])
    assert res.exit_code == 0, res.output
    back = oscal.read_results(tmp_path / "out" / "r.json")
    assert back.import_ap.href == "../assay.yaml"
    assert {p.value for f in back.results[0].findings for p in f.props if p.name == "assay-status"} == {
        "not_met"
    }
    missing = runner.invoke(app, ["oscal", "results", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "x")])
    assert missing.exit_code == 2 and not (tmp_path / "x").exists()


def test_without_compliance_trestle_the_cli_names_the_package(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    monkeypatch.setitem(sys.modules, "trestle.oscal", None)  # as if the `oscal` extra were not installed
    result = CliRunner().invoke(app, ["oscal", "catalog", "-o", str(tmp_path / "c.json")])
    assert result.exit_code == 1 and "compliance-trestle" in result.stderr
    assert not (tmp_path / "c.json").exists()
