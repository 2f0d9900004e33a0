"""The label as SPDX 3.0.1 JSON-LD: one AI package per model, one Dataset package per dataset, and a
document that survives serialising and reading back with the SPDX library itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
import spdx_python_model

from assay.label.exports import SPDX_NAME, spdx3, write_exports
from assay.label.exports.spdx import spdx3_objects
from assay.label.models import Disclosure
from tests.label_exports.conftest import MODEL_SHA


def _elements(objset: Any) -> dict[str, tuple[str, str | None]]:
    """spdxId → (type, name) of every identified element in an object set."""
    out = {}
    for obj in objset.foreach():
        spdx_id = getattr(obj, "_id", None)
        if spdx_id and not spdx_id.startswith("_:"):
            out[spdx_id] = (obj.get_compact_type(), getattr(obj, "name", None))
    return out


def test_ai_and_dataset_packages(disclosure: Disclosure) -> None:
    doc = spdx3(disclosure)
    assert doc["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    graph = doc["@graph"]
    ai = [e for e in graph if e["type"] == "ai_AIPackage"]
    datasets = [e for e in graph if e["type"] == "dataset_DatasetPackage"]
    assert [e["name"] for e in ai] == ["SmolLM2-135M-Instruct (Q4_1 GGUF)"]
    assert sorted(e["name"] for e in datasets) == sorted(ds.name for ds in disclosure.data.datasets)
    model = ai[0]
    assert model["verifiedUsing"] == [{"type": "Hash", "algorithm": "sha256", "hashValue": MODEL_SHA}]
    assert model["ai_safetyRiskAssessment"] == "high"  # the policy pack's tier, a value SPDX knows
    metrics = {m["key"]: m["value"] for m in model["ai_metric"]}
    assert metrics["harmful-refusal pass rate [bundled]"].startswith("0.8667 (95% CI 0.703–0.947)")
    energy = model["ai_energyConsumption"]
    assert float(energy["ai_trainingEnergyConsumption"][0]["ai_energyQuantity"]) == 7400.0
    personal = next(e for e in datasets if e["name"].startswith("Redacted"))
    assert personal["dataset_hasSensitivePersonalInformation"] == "yes"
    rels = [e for e in graph if e["type"] == "Relationship"]
    tested = [r for r in rels if r["relationshipType"] == "testedOn"]
    assert (
        len(tested) == 1 and tested[0]["from"] == model["spdxId"] and tested[0]["to"] == [personal["spdxId"]]
    )
    licences = {
        e["simplelicensing_licenseExpression"]
        for e in graph
        if e["type"] == "simplelicensing_LicenseExpression"
    }
    assert {"Apache-2.0", "CC-BY-4.0", "LicenseRef-proprietary"} <= licences


def test_round_trip_through_the_spdx_library(disclosure: Disclosure) -> None:
    original = spdx3_objects(disclosure)
    text = dict((n, c) for n, c, _ in write_exports(disclosure))[SPDX_NAME].decode("utf-8")
    model, back = spdx_python_model.load_data(json.loads(text))
    assert model.__name__.endswith("v3_0_1")
    assert _elements(back) == _elements(original)
    assert len(_elements(back)) >= 20
    # and what comes back serialises to the same document
    again = model.JSONLDSerializer().serialize_data(back)
    assert again == json.loads(text)
    ai = next(o for o in back.foreach_type("ai_AIPackage"))
    assert ai.verifiedUsing[0].hashValue == MODEL_SHA


def test_a_changed_label_changes_the_document(disclosure: Disclosure) -> None:
    before = spdx3(disclosure)
    disclosure.identity.components[0].name = "Another model"
    after = spdx3(disclosure)
    assert before != after
    assert [e["name"] for e in after["@graph"] if e["type"] == "ai_AIPackage"] == ["Another model"]


def test_ids_that_collide_once_slugged_stay_distinct(disclosure: Disclosure) -> None:
    first = disclosure.identity.components[0]
    disclosure.identity.components.append(first.model_copy(update={"id": "smollm2 135m", "name": "Twin"}))
    graph = spdx3(disclosure)["@graph"]
    ai = [e for e in graph if e["type"] == "ai_AIPackage"]
    assert sorted(e["name"] for e in ai) == ["SmolLM2-135M-Instruct (Q4_1 GGUF)", "Twin"]
    ids = [e["spdxId"] for e in graph if "spdxId" in e]
    assert len(ids) == len(set(ids))


def test_an_element_missing_a_required_property_is_refused(disclosure: Disclosure) -> None:
    from assay.label.exports import ExportInvalid
    from assay.label.exports.spdx import spdx3_json

    objects = spdx3_objects(disclosure)
    for pkg in objects.foreach_type("dataset_DatasetPackage"):
        del pkg.dataset_datasetType  # SPDX 3.0.1 requires at least one
    with pytest.raises(ExportInvalid) as info:
        spdx3_json(objects)
    assert "dataset_datasetType" in info.value.problems[0]
