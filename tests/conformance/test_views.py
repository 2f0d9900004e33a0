"""The report's views from a real assessment on the store: NIST AI RMF subcategories, the ISO/IEC 42001
Statement of Applicability, EU AI Act articles, coverage per dimension, and the status links."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from assay.assurance.attestation import record_attestation
from assay.assurance.conformance import assess_controls
from assay.assurance.evidence import record_evidence
from assay.assurance.report import render_report_html
from assay.assurance.views import MappedControl, build_views, evidence_anchor, rollup

SYS = "helpdesk"
INVENTORY = "mgf-genai:2024:accountability.inventory"  # GOVERN 1.6 (equivalent); manifest, registry.inventory
ALLOCATION = "mgf-genai:2024:accountability.allocation"  # A.3.2 (partial); registry.raci, manifest
LEGAL = "mgf-genai:2024:accountability.legal-obligations"  # A.2.2 (related only); attestation, manifest
SAFETY_NET = "mgf-genai:2024:accountability.safety-net"  # A.10.4 (related only)


def _put(ws, kind: str) -> str:  # type: ignore[no-untyped-def]
    return record_evidence(ws, f"{kind} {dt.datetime.now()}".encode(), kind=kind, system=SYS, name=kind).id


def test_a_control_crosswalked_to_a_nist_subcategory_shows_under_it_with_its_status(workspace) -> None:  # type: ignore[no-untyped-def]
    before = build_views(assess_controls(workspace, SYS)).nist.row("GOVERN 1.6")
    assert before is not None and before.status == "not_met"
    _put(workspace, "manifest")
    inv = _put(workspace, "registry.inventory")
    views = build_views(assess_controls(workspace, SYS))
    govern = next(g for g in views.nist.groups if g.name == "Govern")
    row = next(r for r in govern.rows if r.target == "GOVERN 1.6")
    assert row.category == "GOVERN 1" and row.status == "met"
    (mapped,) = [m for m in row.controls if m.id == INVENTORY]
    assert mapped.status == "met" and mapped.strength == "equivalent"
    # its status links to the evidence that set it, which the evidence appendix lists
    refs = {e.anchor: e for e in views.evidence}
    assert mapped.status_href.removeprefix("#") in refs
    assert refs[mapped.status_href.removeprefix("#")].kind in {"manifest", "registry.inventory"}
    assert inv in {e.evidence_id for e in views.evidence}
    # a subcategory no control maps to says so rather than taking a status
    unmapped = views.nist.row("GOVERN 1.2")
    assert unmapped is not None and unmapped.status == "unmapped" and not unmapped.controls
    # the EU AI Act view comes from the same crosswalk
    art25 = views.euaia.row("Art. 25")
    assert art25 is not None and ALLOCATION in {m.id for m in art25.controls}


def test_statement_of_applicability(workspace) -> None:  # type: ignore[no-untyped-def]
    _put(workspace, "manifest")
    _put(workspace, "registry.raci")
    record_attestation(workspace, system=SYS, control=LEGAL, answer="yes", by="Tan Mei Ling", role="Counsel")
    record_attestation(
        workspace,
        system=SYS,
        control=SAFETY_NET,
        answer="not_applicable",
        by="Tan Mei Ling",
        role="Counsel",
        reason="no third party carries risk for this internal tool",
    )
    soa = build_views(assess_controls(workspace, SYS)).iso42001
    assert len(soa.rows) == 38  # every Annex A control, mapped or not

    a32 = soa.row("A.3.2")  # only accountability.allocation maps here, and it is met
    assert a32 is not None and (a32.applicable, a32.implemented) == ("yes", "yes")
    assert "Responsibility follows control" in a32.justification and "met" in a32.justification

    a22 = soa.row("A.2.2")  # a met control, but linked only as `related`: at most partly implemented
    assert a22 is not None and (a22.applicable, a22.implemented) == ("yes", "partly")
    assert "related" in a22.justification

    a24 = soa.row("A.2.4")  # no Assay control maps to it
    assert a24 is not None and (a24.applicable, a24.implemented) == ("not determined", "not assessed")
    assert a24.justification.startswith("No Assay control is crosswalked to A.2.4") and not a24.controls

    a104 = soa.row("A.10.4")  # its only control was declared not applicable, with the reason
    assert a104 is not None and a104.applicable == "no"
    assert "no third party carries risk" in a104.justification

    a33 = soa.row("A.3.3")  # mapped, nothing evidenced
    assert a33 is not None and (a33.applicable, a33.implemented) == ("yes", "no")
    assert soa.counts["yes"] >= 1 and sum(soa.counts.values()) == 38


def test_rollup_rules() -> None:
    def m(status: str, strength: str = "partial") -> MappedControl:
        return MappedControl(
            id="x", title="x", strength=strength, status=status, status_text=status, href="#x"
        )

    assert rollup([]) == "unmapped"
    assert rollup([m("met"), m("met", "related")]) == "met"
    assert rollup([m("met", "related")]) == "partly_met"
    assert rollup([m("met"), m("not_met")]) == "partly_met"
    assert rollup([m("stale"), m("stale")]) == "stale"
    assert rollup([m("stale"), m("not_met")]) == "not_met"
    assert rollup([m("not_applicable"), m("met")]) == "met"
    assert rollup([m("not_applicable")]) == "not_applicable"


def test_coverage_chart_and_every_status_link_resolves(workspace) -> None:  # type: ignore[no-untyped-def]
    _put(workspace, "manifest")
    _put(workspace, "registry.raci")
    _put(workspace, "registry.inventory")
    record_attestation(
        workspace,
        system=SYS,
        control=SAFETY_NET,
        answer="not_applicable",
        by="Tan",
        role="Counsel",
        reason="internal tool",
    )
    views = build_views(assess_controls(workspace, SYS), system_name="Helpdesk", version="1.4")
    accountability = next(d for d in views.coverage if d.dimension == "accountability")
    assert accountability.counts["not_applicable"] == 1
    assert accountability.applicable == sum(accountability.counts.values()) - 1
    assert 0 < accountability.score <= 1
    html = render_report_html(views)
    assert "<script" not in html and "<svg" in html and 'role="img"' in html
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    hrefs = set(re.findall(r'href="#([^"]+)"', html))
    assert hrefs and hrefs <= ids, sorted(hrefs - ids)[:5]
    # the not-applicable status links to the attestation that set it
    row = next(c for c in views.controls if c.id == SAFETY_NET)
    att = next(e for e in views.evidence if e.kind == "attestation")
    assert row.status == "not_applicable" and row.status_href == "#" + evidence_anchor(att.evidence_id)
    assert "internal tool" in att.note
    for section in ("By NIST AI RMF function", "Statement of Applicability", "By EU AI Act article"):
        assert section in html


@pytest.mark.parametrize("view", ["nist", "iso42001", "euaia"])
def test_cli_view_json(tmp_path, view: str) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from assay.cli.main import app
    from tests.conftest import example_text

    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    result = CliRunner().invoke(app, ["conformance", str(manifest), "--view", view, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = data["rows"] if view == "iso42001" else [r for g in data["groups"] for r in g["rows"]]
    assert rows and all(r["status"] == "unmapped" or r["status"] == "not_met" for r in rows)
    table = CliRunner().invoke(app, ["conformance", str(manifest), "--view", view])
    assert table.exit_code == 0 and ("Annex A" in table.stdout or "Item" in table.stdout)


def test_grades_come_from_the_label_not_from_a_newer_export_of_the_same_kind(workspace) -> None:  # type: ignore[no-untyped-def]
    """label.json shares its evidence kind with the exports written after it (MODEL_CARD.md last)."""
    import json

    from tests.label_render.conftest import complete_data

    data = complete_data()
    for g in data["grades"]:
        g["controls"] = [ALLOCATION]
    label = record_evidence(workspace, json.dumps(data).encode(), kind="label.disclosure", system=SYS,
                            name="label.json")  # fmt: skip
    record_evidence(workspace, b"# Model card", kind="label.disclosure", system=SYS, name="MODEL_CARD.md")
    report = assess_controls(workspace, SYS)
    control = report.control(ALLOCATION)
    assert control is not None and {g.rule_id for g in control.grades} == {
        g["rule_id"] for g in data["grades"]
    }
    assert control.status == "not_met" and "graded red" in control.reason  # redteam.asr is red
    from assay.assurance.report import grades_evidence

    ref = grades_evidence(workspace, SYS)
    assert ref is not None and ref.evidence_id == label.id
    views = build_views(report, grades=ref)
    row = next(c for c in views.controls if c.id == ALLOCATION)
    assert row.status_href == "#" + evidence_anchor(label.id)  # the red grade's label is what set it


def test_cli_html_and_a_pdf_that_cannot_print(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from assay.cli.main import app
    from tests.conftest import example_text

    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    page = tmp_path / "report" / "conformance.html"
    page.parent.mkdir()
    result = CliRunner().invoke(app, ["conformance", str(manifest), "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "Statement of Applicability" in page.read_text() and "Wrote" in result.stderr
    monkeypatch.setenv("ASSAY_CHROMIUM", str(tmp_path / "nowhere"))
    pdf = tmp_path / "conformance.pdf"
    failed = CliRunner().invoke(app, ["conformance", str(manifest), "--pdf", str(pdf)])
    assert failed.exit_code == 1 and "no Chromium at" in failed.stderr and not pdf.exists()
