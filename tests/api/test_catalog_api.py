"""The catalog over HTTP: controls by id (ids hold ':' and '.'), dimensions, frameworks, crosswalks."""

from __future__ import annotations

from assay.catalog import crosswalk, load_catalog
from tests.api.conftest import Api


def test_controls_and_one_by_id(api: Api) -> None:
    catalog = load_catalog()
    listed = api.client.get("/api/v1/catalog/controls").json()
    assert [c["id"] for c in listed] == catalog.ids
    first = catalog.controls[0]
    r = api.client.get(f"/api/v1/catalog/controls/{first.id}")
    assert r.status_code == 200
    assert r.json()["title"] == first.title


def test_a_near_miss_gets_suggestions(api: Api) -> None:
    first = load_catalog().controls[0].id
    r = api.client.get(f"/api/v1/catalog/controls/{first[:-1]}")
    assert r.status_code == 404
    assert first in r.json()["detail"]


def test_controls_of_one_dimension(api: Api) -> None:
    r = api.client.get("/api/v1/catalog/controls", params={"dimension": "accountability"})
    assert r.status_code == 200 and r.json()
    assert {c["dimension"] for c in r.json()} == {"accountability"}
    r = api.client.get("/api/v1/catalog/controls", params={"dimension": "weather"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "dimension"


def test_crosswalk(api: Api) -> None:
    r = api.client.get("/api/v1/catalog/crosswalk", params={"to": "iso-42001"})
    assert r.status_code == 200
    assert len(r.json()) == len(crosswalk(load_catalog(), "iso-42001"))
    r = api.client.get("/api/v1/catalog/crosswalk", params={"to": "iso"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "to"
    assert "iso-42001" in r.json()["detail"][0]["message"]


def test_dimensions_and_frameworks(api: Api) -> None:
    assert len(api.client.get("/api/v1/catalog/dimensions").json()) == 9
    ids = [f["id"] for f in api.client.get("/api/v1/catalog/frameworks").json()]
    assert "nist-ai-rmf" in ids
