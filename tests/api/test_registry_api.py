"""Registering systems and changing their registry over HTTP; each change shows in the next read."""

from __future__ import annotations

import copy
from typing import Any

from assay.tokens import Role
from tests.api.conftest import Api


def test_register_read_replace_delete(api: Api, example_body: dict[str, Any]) -> None:
    admin = api.auth(Role.admin)
    r = api.client.post("/api/v1/systems", json=example_body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "helpdesk"
    assert r.headers["location"] == "/api/v1/systems/helpdesk"
    assert [s["id"] for s in api.client.get("/api/v1/systems").json()] == ["helpdesk"]

    changed = copy.deepcopy(example_body)
    changed["system"]["version"] = "0.2.0"
    r = api.client.post("/api/v1/systems", json=changed, headers=admin)
    assert r.status_code == 200  # replaced, not created
    assert api.client.get("/api/v1/systems/helpdesk").json()["version"] == "0.2.0"
    manifest = api.client.get("/api/v1/systems/helpdesk/manifest").json()
    assert manifest["system"]["version"] == "0.2.0"
    assert manifest["safety_net"]["commitments"][0]["from"] == "huggingface-tb"

    assert api.client.delete("/api/v1/systems/helpdesk", headers=admin).status_code == 204
    assert api.client.get("/api/v1/systems/helpdesk").status_code == 404
    assert api.client.delete("/api/v1/systems/helpdesk", headers=admin).status_code == 404


def test_unknown_system_is_404_everywhere(api: Api) -> None:
    for path in (
        "",
        "/manifest",
        "/parties",
        "/components",
        "/control-points",
        "/raci",
        "/flags",
        "/safety-net",
    ):
        r = api.client.get(f"/api/v1/systems/nope{path}")
        assert r.status_code == 404, path
        assert "nope" in r.json()["detail"]
    party = {"id": "x", "name": "X", "roles": ["data_provider"]}
    r = api.client.post("/api/v1/systems/nope/parties", json=party, headers=api.auth(Role.editor))
    assert r.status_code == 404


def test_an_invalid_manifest_names_the_field(api: Api, example_body: dict[str, Any]) -> None:
    bad = copy.deepcopy(example_body)
    bad["system"]["model_type"] = "half-open"
    r = api.client.post("/api/v1/systems", json=bad, headers=api.auth(Role.admin))
    assert r.status_code == 422
    fields = [p["field"] for p in r.json()["detail"]]
    assert fields == ["system.model_type"]
    assert r.json()["detail"][0]["expected"].startswith("one of")


def test_a_broken_reference_names_the_field(api: Api, example_body: dict[str, Any]) -> None:
    bad = copy.deepcopy(example_body)
    bad["components"][0]["provider"] = "hugginface-tb"
    r = api.client.post("/api/v1/systems", json=bad, headers=api.auth(Role.admin))
    assert r.status_code == 422
    problem = r.json()["detail"][0]
    assert problem["field"] == "components[0].provider"
    assert "huggingface-tb" in problem["message"]  # the did-you-mean hint
    assert api.client.get("/api/v1/systems").json() == []


def test_bodies_that_are_not_manifests_are_422(api: Api) -> None:
    admin = api.auth(Role.admin)
    for body in (b"not json", b"[]", b"{}", b'{"system": 3}'):
        r = api.client.post(
            "/api/v1/systems", content=body, headers={**admin, "Content-Type": "application/json"}
        )
        assert r.status_code == 422, body
        assert isinstance(r.json()["detail"], list)


def test_parties_components_and_control_points(registered: Api) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    base = "/api/v1/systems/helpdesk"
    party = {
        "id": "tuning-lab",
        "name": "Kopi Tuning Lab",
        "roles": ["model_developer"],
        "jurisdiction": "SG",
    }
    assert c.post(f"{base}/parties", json=party, headers=editor).status_code == 201
    assert "Kopi Tuning Lab" in [p["name"] for p in c.get(f"{base}/parties").json()]

    component = {
        "id": "helpdesk-tune",
        "name": "Helpdesk fine-tune",
        "kind": "fine_tune",
        "provider": "tuning-lab",
    }
    r = c.post(f"{base}/components", json=component, headers=editor)
    assert r.status_code == 201, r.text
    assert "helpdesk-tune" in [x["id"] for x in c.get(f"{base}/components").json()]

    holding = {"point": "weights", "component": "helpdesk-tune", "holder": "tuning-lab"}
    assert c.post(f"{base}/control-points", json=holding, headers=editor).status_code == 201
    assert holding | {"level": "full", "note": ""} in c.get(f"{base}/control-points").json()
    assert c.get(base).json()["parties"] == 5


def test_registry_writes_are_checked_against_the_manifest(registered: Api) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    base = "/api/v1/systems/helpdesk"
    again = {"id": "harbour-cloud", "name": "Twice", "roles": ["cloud_provider"]}
    r = c.post(f"{base}/parties", json=again, headers=editor)
    assert r.status_code == 409  # the body is valid; the system has that party already
    assert "already has a party with id 'harbour-cloud'" in r.json()["detail"]

    orphan = {"point": "weights", "component": "no-such-component", "holder": "harbour-cloud"}
    r = c.post(f"{base}/control-points", json=orphan, headers=editor)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"].endswith(".component")

    r = c.post(f"{base}/parties", json={"id": "Bad Id", "name": "", "roles": []}, headers=editor)
    assert r.status_code == 422
    assert {p["field"] for p in r.json()["detail"]} == {"id", "name", "roles"}


def test_raci_flags_and_safety_net(registered: Api) -> None:
    c = registered.client
    raci = c.get("/api/v1/systems/helpdesk/raci").json()
    assert raci["system"] == "helpdesk"
    assert {p["id"] for p in raci["parties"]} >= {"lion-city-broadband", "harbour-cloud"}
    assert raci["allocations"] and all("accountable" in a for a in raci["allocations"])

    net = c.get("/api/v1/systems/helpdesk/safety-net", params={"today": "2026-06-01"}).json()
    assert net["today"] == "2026-06-01"
    assert net["areas"]
    late = c.get("/api/v1/systems/helpdesk/flags", params={"today": "2030-01-01"}).json()
    assert any(f["kind"] == "expired_cover" for f in late)
    assert c.get("/api/v1/systems/helpdesk/safety-net", params={"today": "soon"}).status_code == 422


def test_override_with_rationale(registered: Api) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    base = "/api/v1/systems/helpdesk"
    area = c.get(f"{base}/raci").json()["allocations"][0]["risk_area"]
    override = {
        "risk_area": area,
        "accountable": "lion-city-broadband",
        "responsible": ["lion-city-broadband", "harbour-cloud"],
        "rationale": "The deployer signed the customer contract and answers for this area in it.",
    }
    r = c.post(f"{base}/overrides", json=override, headers=editor)
    assert r.status_code == 201, r.text
    assert r.json()["decided_by"] == "token:editor-token"
    assert r.json()["decided_on"]
    assert [o["risk_area"] for o in c.get(f"{base}/overrides").json()] == [area]
    allocation = next(a for a in c.get(f"{base}/raci").json()["allocations"] if a["risk_area"] == area)
    assert allocation["source"] == "override"
    assert allocation["accountable"] == "lion-city-broadband"

    short = override | {"rationale": "because"}
    r = c.post(f"{base}/overrides", json=short, headers=editor)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "rationale"
    unknown = override | {"risk_area": "weather"}
    r = c.post(f"{base}/overrides", json=unknown, headers=editor)
    assert r.status_code == 422
