"""The label's CycloneDX 1.6 ML-BOM: valid against the official schema, model cards carry the label's
results, and a corrupted document is refused with the place named."""

from __future__ import annotations

import copy
import json

import pytest

from assay.label.exports import (
    MLBOM_NAME,
    ExportInvalid,
    cyclonedx_mlbom,
    cyclonedx_problems,
    validate_cyclonedx,
    write_exports,
)
from assay.label.models import ComponentEntry, Disclosure, SuiteResult
from tests.label_exports.conftest import MODEL_SHA, helpdesk_disclosure


def _by_ref(bom: dict, ref: str) -> dict:
    return next(c for c in bom["components"] if c["bom-ref"] == ref)


def test_mlbom_validates_and_carries_the_model_card(disclosure: Disclosure) -> None:
    bom = cyclonedx_mlbom(disclosure)
    assert cyclonedx_problems(bom) == []
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    model = _by_ref(bom, "component:smollm2-135m")
    assert model["type"] == "machine-learning-model"
    assert model["hashes"] == [{"alg": "SHA-256", "content": MODEL_SHA}]
    assert model["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    card = model["modelCard"]
    metrics = card["quantitativeAnalysis"]["performanceMetrics"]
    harmful = next(m for m in metrics if "(harmful-refusal)" in m["type"])
    assert harmful["value"] == "0.8667"
    assert harmful["confidenceInterval"] == {"lowerBound": "0.703", "upperBound": "0.947"}
    assert "n=30" in harmful["slice"]
    redteam = next(m for m in metrics if "attack success rate" in m["type"])
    assert redteam["value"] == "0.25" and redteam["confidenceInterval"]["upperBound"] == "0.45"
    assert any(m["slice"].startswith("language=en") for m in metrics)
    assert not any("never-ran" in m["type"] for m in metrics)  # no score, no metric

    considerations = card["considerations"]
    assert considerations["useCases"] == [disclosure.intended_use.intended_use]
    assert "out of scope: legal, medical or financial advice" in considerations["technicalLimitations"]
    ethics = [e["name"] for e in considerations["ethicalConsiderations"]]
    assert any("Singapore factuality: red" in e and "baseline@1.0" in e for e in ethics)
    assert any("personal data in dataset Redacted support chats" in e for e in ethics)
    energy = {e["activity"]: e for e in considerations["environmentalConsiderations"]["energyConsumptions"]}
    assert energy["training"]["activityEnergyCost"] == {"value": 7400.0, "unit": "kWh"}
    assert energy["training"]["co2CostEquivalent"] == {"value": 2.9, "unit": "tCO2eq"}
    assert energy["validation"]["activityEnergyCost"]["value"] == pytest.approx(0.0123)
    # only datasets that train or measure a model are the model's; retrieval data feeds the application
    assert card["modelParameters"]["datasets"] == [{"ref": "dataset:support-chats"}]


def test_component_kinds_map_to_cyclonedx_types(disclosure: Disclosure) -> None:
    bom = cyclonedx_mlbom(disclosure)
    types = {c["bom-ref"]: c["type"] for c in bom["components"]}
    assert types["component:helpdesk-app"] == "application"
    assert types["component:help-articles"] == "data"
    assert types["dataset:help-articles-2026"] == "data"
    assert [s["bom-ref"] for s in bom["services"]] == ["component:hosting"]
    assert "modelCard" not in _by_ref(bom, "component:helpdesk-app")
    proprietary = _by_ref(bom, "dataset:help-articles-2026")["licenses"]
    assert proprietary == [{"license": {"name": "proprietary"}}]  # not an SPDX id, so a name
    system = bom["dependencies"][0]
    assert system["ref"] == "system:helpdesk" and "component:hosting" in system["dependsOn"]


def test_same_label_gives_the_same_bytes(disclosure: Disclosure) -> None:
    first = dict((n, c) for n, c, _ in write_exports(disclosure))
    second = dict((n, c) for n, c, _ in write_exports(helpdesk_disclosure()))
    assert first == second
    assert json.loads(first[MLBOM_NAME])["serialNumber"].startswith("urn:uuid:")


@pytest.mark.parametrize(
    ("corrupt", "where"),
    [
        (
            lambda b: b["components"][0]["modelCard"]["quantitativeAnalysis"]["performanceMetrics"][0][
                "confidenceInterval"
            ].__setitem__("lowerBound", 0.7),
            "components[0].modelCard.quantitativeAnalysis.performanceMetrics[0].confidenceInterval.lowerBound",
        ),
        (
            lambda b: b["components"][0]["modelCard"]["considerations"]["environmentalConsiderations"][
                "energyConsumptions"
            ][0]["activityEnergyCost"].__setitem__("unit", "MWh"),
            "energyConsumptions[0].activityEnergyCost.unit",
        ),
        (lambda b: b["components"][0].__setitem__("type", "large-language-model"), "components[0].type"),
        (
            lambda b: b["components"][0]["modelCard"].__setitem__("modelDetails", {}),
            "components[0].modelCard",
        ),
        (lambda b: b["metadata"].__setitem__("timestamp", "yesterday"), "metadata.timestamp"),
        (lambda b: b["components"][0]["hashes"][0].__setitem__("alg", "SHA256"), "hashes[0].alg"),
        (lambda b: b["dependencies"].append({"ref": "component:nowhere"}), "component:nowhere"),
        (lambda b: b["components"][1].__setitem__("bom-ref", "component:smollm2-135m"), "used twice"),
    ],
)
def test_a_corrupted_bom_is_refused_with_the_place_named(disclosure: Disclosure, corrupt, where: str) -> None:
    bom = copy.deepcopy(cyclonedx_mlbom(disclosure))
    corrupt(bom)
    with pytest.raises(ExportInvalid) as info:
        validate_cyclonedx(bom, "test BOM")
    assert any(where in p for p in info.value.problems), info.value.problems
    assert "test BOM is not valid" in str(info.value)
    assert len(str(info.value)) < 5000  # the schema itself is not dumped into the message


def _two_models() -> Disclosure:
    d = helpdesk_disclosure()
    d.identity.components.append(
        ComponentEntry(
            id="helpdesk-tune",
            name="Helpdesk fine-tune",
            kind="fine_tune",
            provider="lion-city-broadband",
            licence="Apache-2.0 OR MIT",
        )
    )
    d.evaluation.suites.append(SuiteResult(suite_id="over-refusal", target="tuned", score=0.95, n=20))
    return d


def test_results_go_on_the_model_their_target_exercises() -> None:
    d = _two_models()
    bom = cyclonedx_mlbom(d, {"bundled": "smollm2-135m", "tuned": "helpdesk-tune"})
    base = _by_ref(bom, "component:smollm2-135m")["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    tune_comp = _by_ref(bom, "component:helpdesk-tune")
    tune = tune_comp["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert [m["type"] for m in tune] == ["pass rate: over-refusal (over-refusal)"]
    assert not any("over-refusal" in m["type"] for m in base)
    assert any("harmful-refusal" in m["type"] for m in base)
    assert tune_comp["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]


def test_with_several_models_and_no_mapping_no_result_is_misattributed() -> None:
    bom = cyclonedx_mlbom(_two_models())
    for ref in ("component:smollm2-135m", "component:helpdesk-tune"):
        assert "quantitativeAnalysis" not in _by_ref(bom, ref)["modelCard"]


def test_undisclosed_energy_leaves_no_half_entry(disclosure: Disclosure) -> None:
    disclosure.infrastructure.declared_training.energy_kwh = None  # type: ignore[union-attr]
    disclosure.infrastructure.assessment_footprint = None
    card = _by_ref(cyclonedx_mlbom(disclosure), "component:smollm2-135m")["modelCard"]
    env = card["considerations"]["environmentalConsiderations"]
    assert "energyConsumptions" not in env  # the schema needs a kWh figure; the facts stay as properties
    assert {"name": "assay:training.compute", "value": "64 H100 x 5 days"} in env["properties"]


def test_label_times_are_normalised_and_a_bad_one_is_named(disclosure: Disclosure) -> None:
    disclosure.generated_at = "2026-12-04T17:30:00+08:00"
    assert cyclonedx_mlbom(disclosure)["metadata"]["timestamp"] == "2026-12-04T09:30:00Z"
    disclosure.generated_at = "2026-12-04T09:30:00"  # no offset: UTC, as the schema says
    assert cyclonedx_mlbom(disclosure)["metadata"]["timestamp"] == "2026-12-04T09:30:00Z"
    disclosure.generated_at = "yesterday"
    with pytest.raises(ExportInvalid) as info:
        cyclonedx_mlbom(disclosure)
    assert info.value.problems == ["generated_at: 'yesterday' is not an ISO 8601 date and time"]


def test_a_contact_that_is_neither_url_nor_email_is_left_out() -> None:
    from assay.label.exports.cdx_common import organisation

    assert organisation("A", "https://a.example/x") == {"name": "A", "url": ["https://a.example/x"]}
    assert organisation("A", "dpo@a.example.sg") == {"name": "A", "contact": [{"email": "dpo@a.example.sg"}]}
    assert organisation("A", "call +65 6000 0000") == {"name": "A"}
    assert organisation("A", "https://a b") == {"name": "A"}


def test_the_manifest_says_which_model_each_target_exercises() -> None:
    from assay.label.exports import model_for_target
    from assay.manifest import load_manifest
    from tests.conftest import EXAMPLE

    mapping = model_for_target(load_manifest(EXAMPLE))
    assert mapping == {"bundled": "smollm2-135m"}
    d = _two_models()
    bom = cyclonedx_mlbom(d, mapping)  # the fine-tune has no target: its card has no results
    assert "quantitativeAnalysis" not in _by_ref(bom, "component:helpdesk-tune")["modelCard"]
    assert _by_ref(bom, "component:smollm2-135m")["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]


def test_one_model_keeps_every_result_whatever_the_mapping(disclosure: Disclosure) -> None:
    bom = cyclonedx_mlbom(disclosure, {"bundled": "helpdesk-app"})  # the target drives the application
    metrics = _by_ref(bom, "component:smollm2-135m")["modelCard"]["quantitativeAnalysis"][
        "performanceMetrics"
    ]
    assert any("harmful-refusal" in m["type"] for m in metrics)
