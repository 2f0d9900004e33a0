"""A label with almost nothing disclosed still gives valid exports that say what is missing."""

from __future__ import annotations

import json

import spdx_python_model
from huggingface_hub import ModelCard

from assay.label.exports import cyclonedx_mlbom, cyclonedx_problems, hf_model_card, spdx3
from assay.label.models import (
    AccountabilitySummary,
    Completeness,
    ComponentEntry,
    DataArea,
    Disclosure,
    EvaluationArea,
    Identity,
    InfrastructureArea,
    IntendedUseArea,
    MitigationsArea,
    ProvenanceArea,
    ReportingArea,
    RisksArea,
    UserDataArea,
)


def _bare() -> Disclosure:
    return Disclosure(
        generated_at="2026-12-04T00:00:00+00:00",
        assay_version="0.1.0",
        identity=Identity(
            system_id="bare", name="Bare system", version="1", sector="retail", model_type="closed"
        ),
        accountability=AccountabilitySummary(),
        data=DataArea(),
        infrastructure=InfrastructureArea(),
        evaluation=EvaluationArea(),
        mitigations=MitigationsArea(),
        risks=RisksArea(),
        intended_use=IntendedUseArea(),
        user_data=UserDataArea(),
        provenance=ProvenanceArea(),
        reporting=ReportingArea(),
        completeness=Completeness(score=0.0, required=["data"], missing=["data"]),
    )


def test_bare_label_exports_are_valid_and_say_not_disclosed() -> None:
    d = _bare()
    bom = cyclonedx_mlbom(d)
    assert cyclonedx_problems(bom) == []
    assert "components" not in bom and "dependencies" not in bom
    doc = spdx3(d)
    _, back = spdx_python_model.load_data(json.loads(json.dumps(doc)))
    assert [o.name for o in back.foreach_type("software_Package")] == ["Bare system"]
    card = ModelCard(hf_model_card(d), ignore_metadata_errors=False)
    assert card.data.eval_results is None and card.data.license is None
    for area in ("## Data", "## Evaluation", "## User data protection", "## Intended use"):
        section = card.text.split(area, 1)[1].split("\n## ", 1)[0]
        assert section.strip() == "Not disclosed.", area


def test_a_model_without_results_gets_a_card_without_numbers() -> None:
    d = _bare()
    d.identity.components = [ComponentEntry(id="m", name="M", kind="foundation_model", provider="p")]
    bom = cyclonedx_mlbom(d)
    card = bom["components"][0]["modelCard"]
    assert "quantitativeAnalysis" not in card and "considerations" not in card
    assert bom["components"][0]["supplier"] == {"name": "p"}  # a provider that is not a listed party
