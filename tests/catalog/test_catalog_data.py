"""The shipped catalog: coverage of the framework, and every crosswalk id checked against the sources."""

from __future__ import annotations

import re
from typing import Any

from assay.catalog import FRAMEWORKS, STRENGTHS, Catalog

DIMENSIONS = [
    "accountability",
    "data",
    "trusted-development",
    "incident-reporting",
    "testing-assurance",
    "security",
    "content-provenance",
    "safety-alignment",
    "public-good",
]
ID_PATTERN = re.compile(r"^mgf-genai:2024:(?P<dim>[a-z-]+)\.[a-z0-9-]+(\.[a-z0-9-]+)*$")


def _targets(catalog: Catalog, framework: str) -> set[str]:
    return {link.target for c in catalog.controls for link in c.links(framework)}


def test_catalog_loads_with_enough_controls(catalog: Catalog) -> None:
    assert len(catalog.controls) >= 40
    assert catalog.framework_ids == list(FRAMEWORKS)


def test_nine_dimensions_in_framework_order_each_with_controls(catalog: Catalog) -> None:
    assert [d.id for d in catalog.dimensions] == DIMENSIONS
    assert [d.number for d in catalog.dimensions] == list(range(1, 10))
    for dim in catalog.dimensions:
        assert dim.pages and dim.summary
        assert len(catalog.controls_for_dimension(dim.id)) >= 3, dim.id


def test_control_ids_unique_and_well_formed(catalog: Catalog) -> None:
    ids = [c.id for c in catalog.controls]
    assert len(ids) == len(set(ids))
    for control in catalog.controls:
        match = ID_PATTERN.match(control.id)
        assert match, control.id
        assert match["dim"] == control.dimension


def test_every_control_maps_to_nist_and_iso(catalog: Catalog) -> None:
    for control in catalog.controls:
        assert control.links("nist-ai-rmf"), f"{control.id} has no NIST AI RMF link"
        assert control.links("iso-42001"), f"{control.id} has no ISO/IEC 42001 link"
        assert control.evidence
        assert all(link.strength in STRENGTHS for link in control.crosswalk)


def test_food_label_areas_a_to_g(catalog: Catalog) -> None:
    for letter in "abcdefg":
        control = catalog.get(f"mgf-genai:2024:trusted-development.disclosure.{letter}")
        assert control is not None, letter
        assert "label.disclosure" in control.evidence
    assert (
        catalog.get("mgf-genai:2024:trusted-development.disclosure.f").links("iso-42001")[0].target == "A.9.4"
    )


def test_nist_ids_exist_in_reference(catalog: Catalog, reference_ids: dict[str, Any]) -> None:
    known = {s["id"] for s in reference_ids["nist_ai_rmf_subcategories"]}
    assert len(known) == 72
    assert _targets(catalog, "nist-ai-rmf") <= known
    shipped = {e.id: e.title for e in catalog.framework("nist-ai-rmf").entries}
    assert shipped == {s["id"]: s["text"] for s in reference_ids["nist_ai_rmf_subcategories"]}


def test_iso_ids_exist_in_reference(catalog: Catalog, reference_ids: dict[str, Any]) -> None:
    known = dict(reference_ids["iso42001_annexA"])
    used = _targets(catalog, "iso-42001")
    assert used <= set(known), used - set(known)
    assert all(i.count(".") >= 2 for i in used), "link to controls, not clause headings"
    shipped = catalog.framework("iso-42001")
    assert len(shipped.entries) == 38
    assert all(known[e.id] == e.title for e in shipped.entries)


def test_atlas_ids_exist_in_reference(catalog: Catalog, reference_ids: dict[str, Any]) -> None:
    known = {
        i for key in ("atlas_tactics", "atlas_techniques", "atlas_mitigations") for i, _ in reference_ids[key]
    }
    used = _targets(catalog, "mitre-atlas")
    assert used, "some controls should map to ATLAS"
    assert used <= known, used - known
    assert {e.id for e in catalog.framework("mitre-atlas").entries} == known


def test_owasp_ids_are_keyed_by_edition(catalog: Catalog) -> None:
    for year in ("2025", "2026"):
        framework = catalog.framework(f"owasp-llm-{year}")
        listed = {e.id for e in framework.entries}
        assert listed == {f"LLM{n:02d}:{year}" for n in range(1, 11)}
        used = _targets(catalog, framework.id)
        assert used <= listed
        assert all(re.fullmatch(rf"LLM(0[1-9]|10):{year}", t) for t in used)


def test_owasp_2026_renumbering(catalog: Catalog) -> None:
    y25 = {e.id: e.title for e in catalog.framework("owasp-llm-2025").entries}
    y26 = {e.id: e.title for e in catalog.framework("owasp-llm-2026").entries}
    assert y25["LLM03:2025"] == y26["LLM04:2026"] == "Supply Chain"
    assert y26["LLM08:2026"] == "Hidden Context Exposure"
    assert y25["LLM08:2025"] == y26["LLM09:2026"] == "Vector and Embedding Weaknesses"
    scan = catalog.get("mgf-genai:2024:security.artifact-scan")
    assert [link.target for link in scan.links("owasp-llm-2025")] == ["LLM03:2025"]
    assert [link.target for link in scan.links("owasp-llm-2026")] == ["LLM04:2026"]


def test_nist_600_1_risks(catalog: Catalog) -> None:
    framework = catalog.framework("nist-ai-600-1")
    assert [e.id for e in framework.entries] == [
        "cbrn",
        "confabulation",
        "dangerous-content",
        "data-privacy",
        "environmental",
        "harmful-bias",
        "human-ai-configuration",
        "information-integrity",
        "information-security",
        "intellectual-property",
        "obscene-content",
        "value-chain",
    ]
    assert framework.entry("value-chain").title == "Value Chain and Component Integration"
    assert _targets(catalog, "nist-ai-600-1") == {e.id for e in framework.entries}


def test_eu_ai_act_anchor_links(catalog: Catalog) -> None:
    watermark = catalog.get("mgf-genai:2024:content-provenance.watermark")
    assert "Art. 50(2)" in {link.target for link in watermark.links("eu-ai-act")}
    report = catalog.get("mgf-genai:2024:incident-reporting.external-report")
    assert "Art. 73" in {link.target for link in report.links("eu-ai-act")}


def test_evidence_vocabulary(catalog: Catalog) -> None:
    kinds = {k.id for k in catalog.evidence_kinds}
    assert {"registry.raci", "registry.safety_net", "eval.run", "redteam.run", "label.disclosure"} <= kinds
    assert {
        "incident.record",
        "provenance.mark",
        "data.card",
        "security.scan",
        "energy.report",
        "manifest",
    } <= kinds
    used = {kind for c in catalog.controls for kind in c.evidence}
    assert used == kinds, f"unused evidence kinds: {kinds - used}"


def test_versioned_target_ids(catalog: Catalog) -> None:
    assert catalog.framework("nist-ai-rmf").qualify("GOVERN 1.1") == "nist-ai-rmf:1.0:GOVERN 1.1"
    assert catalog.framework("mitre-atlas").qualify("AML.T0051") == "atlas:5.6.0:AML.T0051"
