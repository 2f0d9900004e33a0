"""Control assessment from evidence, grades and attestations, on both store backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from assay.assurance.attestation import AttestationError, list_attestations, record_attestation
from assay.assurance.conformance import assess_controls
from assay.assurance.evidence import record_evidence
from assay.policy.models import Grade, PolicyPack

SYS = "helpdesk"
ALLOCATION = "mgf-genai:2024:accountability.allocation"  # evidence: registry.raci, manifest
SAFETY_NET = "mgf-genai:2024:accountability.safety-net"  # evidence: registry.safety_net
LEGAL = "mgf-genai:2024:accountability.legal-obligations"  # evidence: attestation, manifest
ENERGY = "mgf-genai:2024:public-good.energy"  # evidence: energy.report


def _pack(**freshness: int) -> PolicyPack:
    return PolicyPack(id="p", title="P", version="1", publisher="Test", freshness_days=freshness)


def _put(ws, kind: str) -> str:  # type: ignore[no-untyped-def]
    return record_evidence(ws, f"{kind} {dt.datetime.now()}".encode(), kind=kind, system=SYS, name=kind).id


def test_a_control_moves_from_not_met_to_partly_to_met_as_evidence_appears(workspace) -> None:  # type: ignore[no-untyped-def]
    c = assess_controls(workspace, SYS).control(ALLOCATION)
    assert c is not None and c.status == "not_met" and "registry.raci" in c.reason
    _put(workspace, "manifest")
    c = assess_controls(workspace, SYS).control(ALLOCATION)
    assert c.status == "partly_met" and "missing registry.raci" in c.reason
    raci = _put(workspace, "registry.raci")
    c = assess_controls(workspace, SYS).control(ALLOCATION)
    assert c.status == "met"
    assert {b.evidence_id for b in c.evidence if b.kind == "registry.raci"} == {raci}  # names its evidence


def test_evidence_older_than_the_pack_allows_makes_the_control_stale(workspace) -> None:  # type: ignore[no-untyped-def]
    _put(workspace, "registry.safety_net")
    pack = _pack(**{"registry.safety_net": 30})
    now = dt.datetime.now(dt.UTC)
    assert assess_controls(workspace, SYS, pack=pack, now=now).control(SAFETY_NET).status == "met"
    later = assess_controls(workspace, SYS, pack=pack, now=now + dt.timedelta(days=31)).control(SAFETY_NET)
    assert later.status == "stale" and "30 days" in later.reason
    # No limit in the pack: never stale.
    assert (
        assess_controls(workspace, SYS, now=now + dt.timedelta(days=400)).control(SAFETY_NET).status == "met"
    )
    # New evidence makes it met again.
    _put(workspace, "registry.safety_net")
    assert assess_controls(workspace, SYS, pack=pack).control(SAFETY_NET).status == "met"


def _grade(status: str, controls: list[str]) -> Grade:
    return Grade(
        rule_id="energy-rule",
        pack_id="p",
        pack_version="1",
        title="t",
        status=status,  # type: ignore[arg-type]
        suite="s",
        metric="score",
        direction="higher_is_better",
        green=0.9,
        amber=0.5,
        reason=f"graded {status}",
        controls=controls,
    )


@pytest.mark.parametrize(
    ("status", "expected"), [("red", "not_met"), ("amber", "partly_met"), ("green", "met")]
)
def test_linked_grades_decide_with_the_evidence(workspace, status: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    _put(workspace, "energy.report")
    c = assess_controls(workspace, SYS, grades=[_grade(status, [ENERGY])]).control(ENERGY)
    assert c.status == expected and c.grades[0].rule_id == "energy-rule"
    if status == "red":
        assert "energy-rule" in c.reason


def test_attestations_count_as_evidence_and_can_declare_not_applicable(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _put(workspace, "manifest")
    assert assess_controls(workspace, SYS).control(LEGAL).status == "partly_met"
    doc = tmp_path / "register.pdf"
    doc.write_bytes(b"%PDF-1.4 legal register")
    att = record_attestation(
        workspace,
        system=SYS,
        control=LEGAL,
        answer="yes",
        by="Tan Mei Ling",
        role="General Counsel",
        statement="We keep a register of the laws that apply.",
        document=doc,
    )
    assert workspace.blobs.get(att.document_sha256) == doc.read_bytes()
    c = assess_controls(workspace, SYS).control(LEGAL)
    assert c.status == "met" and c.attestation is not None and c.attestation.by == "Tan Mei Ling"
    # A later answer wins: "no" makes it not met, naming who said so.
    record_attestation(
        workspace, system=SYS, control=LEGAL, answer="no", by="Tan Mei Ling", role="General Counsel"
    )
    c = assess_controls(workspace, SYS).control(LEGAL)
    assert c.status == "not_met" and "Tan Mei Ling" in c.reason
    record_attestation(
        workspace,
        system=SYS,
        control=ENERGY,
        answer="not_applicable",
        by="Lee",
        role="CTO",
        reason="the system runs on a shared provider's inference API; energy is reported by the provider",
    )
    c = assess_controls(workspace, SYS).control(ENERGY)
    assert c.status == "not_applicable" and "provider" in c.reason
    assert len(list_attestations(workspace, SYS)) == 3


def test_bad_attestations_are_refused_with_the_field_named(workspace) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AttestationError, match="did you mean"):
        record_attestation(workspace, system=SYS, control=LEGAL + "x", answer="yes", by="A", role="B")
    with pytest.raises(AttestationError, match="reason"):
        record_attestation(workspace, system=SYS, control=LEGAL, answer="not_applicable", by="A", role="B")


def test_cli_attest_and_conformance(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assay.cli.main import app
    from tests.conftest import example_text

    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text().replace("policy_pack:\n  id: imda-starter\n", ""))
    run = CliRunner().invoke
    r = run(app, ["attest", LEGAL, "-m", str(manifest), "--answer", "yes", "--by", "Tan", "--role", "GC"])
    assert r.exit_code == 0, r.output
    r = run(app, ["attest", "nope", "-m", str(manifest), "--answer", "yes", "--by", "Tan", "--role", "GC"])
    assert r.exit_code == 2 and "no control" in r.output
    r = run(app, ["conformance", str(manifest), "--json", "--status", "partly_met"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert LEGAL in {c["id"] for c in data["controls"]}  # attested, but no manifest evidence yet
    assert all(c["status"] == "partly_met" for c in data["controls"])
