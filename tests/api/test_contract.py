"""The OpenAPI document says what the server enforces (issue #16, part 5).

Each rule here was one schemathesis found broken: a value the schema allows that the server refuses, or
one the schema refuses that the server takes. The full property-based run is `test_openapi_fuzz.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from assay.api.app import create_app
from assay.catalog import load_catalog
from assay.manifest.schema import Manifest
from assay.workspace import Workspace
from tests.api.conftest import Api

OPENAPI = create_app(Workspace(Path("/nonexistent/.assay"))).openapi()


def _query_param(path: str, name: str) -> dict[str, Any]:
    params = OPENAPI["paths"][path]["get"]["parameters"]
    return next(p for p in params if p["name"] == name)["schema"]


@pytest.mark.parametrize("path", ["/api/v1/catalog/controls", "/api/v1/catalog/crosswalk"])
def test_the_dimension_query_lists_the_catalog_dimensions(api: Api, path: str) -> None:
    dimensions = [d.id for d in load_catalog().dimensions]
    assert _query_param(path, "dimension")["enum"] == dimensions
    for dimension in dimensions:  # every value the schema offers is answered
        assert api.client.get(path, params={"dimension": dimension}).status_code == 200
    assert api.client.get(path, params={"dimension": ""}).status_code == 422


def test_the_crosswalk_target_is_an_enum_the_server_keeps_to(api: Api) -> None:
    frameworks = [f.id for f in load_catalog().frameworks]
    assert _query_param("/api/v1/catalog/crosswalk", "to")["enum"] == frameworks
    for to in frameworks:
        assert api.client.get("/api/v1/catalog/crosswalk", params={"to": to}).status_code == 200
    r = api.client.get("/api/v1/catalog/crosswalk", params={"to": "NIST-AI-RMF"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "to"


@pytest.mark.parametrize("endpoint", ["flags", "safety-net"])
def test_today_is_a_date_not_a_number(registered: Api, endpoint: str) -> None:
    url = f"/api/v1/systems/helpdesk/{endpoint}"
    for not_a_date in ("2.1e-232", "1700000000", "0", "2026-06-01T00:00:00", "2026-13-01"):
        r = registered.client.get(url, params={"today": not_a_date})
        assert r.status_code == 422, not_a_date
        assert r.json()["detail"][0]["field"] == "query.today"
    assert registered.client.get(url, params={"today": "2026-06-01"}).status_code == 200


def _manifest_validator() -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": "#/components/schemas/Manifest", "components": OPENAPI["components"]}
    )


@pytest.mark.parametrize(
    ("target", "valid"),
    [
        ({"id": "h", "kind": "http"}, False),
        ({"id": "h", "kind": "http", "base_url": ""}, False),
        ({"id": "h", "kind": "http", "base_url": "http://127.0.0.1:9/ask"}, True),
        ({"id": "o", "kind": "openai"}, False),
        ({"id": "p", "kind": "python"}, False),
        ({"id": "p", "kind": "python", "callable": "app:answer"}, True),
        ({"id": "b", "kind": "bundled"}, True),
    ],
)
def test_a_target_kind_and_the_fields_it_needs_are_in_the_schema(
    example_body: dict[str, Any], target: dict[str, Any], valid: bool
) -> None:
    body = example_body | {"targets": [target]}
    assert _manifest_validator().is_valid(body) is valid
    # the model agrees with the schema, and `assay manifest schema` is the same model
    assert Draft202012Validator(Manifest.model_json_schema()).is_valid(body) is valid
    try:
        Manifest.model_validate(body)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted is valid


def test_numbers_and_booleans_are_not_coerced(example_body: dict[str, Any]) -> None:
    validator = _manifest_validator()
    for bad in (
        example_body | {"suites": [{"suite": "x", "seed": False}]},
        example_body | {"suites": [{"suite": "x", "limit": "3"}]},
        example_body | {"provenance": {"c2pa": 0}},
    ):
        assert not validator.is_valid(bad)
        with pytest.raises(ValueError):
            Manifest.model_validate(bad)
    whole = example_body | {"suites": [{"suite": "x", "limit": 3.0}]}  # JSON's 3.0 is an integer
    assert validator.is_valid(whole)
    assert Manifest.model_validate(whole).suites[0].limit == 3


def test_a_rationale_of_blanks_is_refused_by_the_schema_and_the_model(example_body: dict[str, Any]) -> None:
    override = {
        "risk_area": "harmful_output",
        "accountable": "lion-city-broadband",
        "responsible": ["lion-city-broadband"],
        "rationale": "\u200b" * 30,
    }
    body = example_body | {"responsibility": {"overrides": [override]}}
    assert not _manifest_validator().is_valid(body)
    with pytest.raises(ValueError, match="visible"):
        Manifest.model_validate(body)
    override["rationale"] = "   A reason a reviewer can read.   "
    assert _manifest_validator().is_valid(body)


def test_verify_documents_every_body_it_reads_and_when_a_form_is_empty(api: Api) -> None:
    op = OPENAPI["paths"]["/api/v1/verify"]["post"]
    content = op["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json", "application/octet-stream"}
    assert content["multipart/form-data"]["schema"]["anyOf"] == [
        {"required": ["file"]},
        {"required": ["text"]},
    ]
    assert list(op["responses"]["200"]["content"]) == ["application/json"]
    assert "Retry-After" in op["responses"]["429"]["headers"]
    # a form with an empty text is empty content (an answer); a form with neither field is refused
    r = api.client.post("/api/v1/verify", files={"text": (None, "")})
    assert r.status_code == 200 and r.json()["bad_input"] == "the content is empty"
    r = api.client.post("/api/v1/verify", files={"other": (None, "x")})
    assert r.status_code == 422
    raw = api.client.post(
        "/api/v1/verify", content=b"plain words", headers={"content-type": "application/octet-stream"}
    )
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/json"
