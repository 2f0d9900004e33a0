"""The server-rendered pages: the list of systems and one system with its RACI matrix."""

from __future__ import annotations

import copy
from typing import Any

from assay.tokens import Role
from tests.api.conftest import Api


def test_index_lists_systems_with_links(registered: Api) -> None:
    r = registered.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'href="/systems/helpdesk"' in r.text
    assert "Lion City Broadband Helpdesk Assistant" in r.text


def test_index_when_empty(api: Api) -> None:
    assert "No system is registered yet" in api.client.get("/").text


def test_system_page_shows_registry_and_raci(registered: Api) -> None:
    r = registered.client.get("/systems/helpdesk")
    assert r.status_code == 200
    html = r.text
    for party in ("Hugging Face (SmolLM team)", "Harbour Cloud Services", "Lion City Broadband Pte. Ltd."):
        assert party in html
    assert "RACI matrix" in html
    assert "Help-article retrieval index" in html  # components
    assert "incident response" in html  # control points
    assert "Safety net" in html
    assert html.count("<html") == 1 and html.count("</body>") == 1


def test_names_are_escaped(api: Api, example_body: dict[str, Any]) -> None:
    body = copy.deepcopy(example_body)
    body["parties"][2]["name"] = "<script>alert('x')</script>"
    assert api.client.post("/api/v1/systems", json=body, headers=api.auth(Role.admin)).status_code == 201
    html = api.client.get("/systems/helpdesk").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_unknown_system_page_is_404(api: Api) -> None:
    r = api.client.get("/systems/nope")
    assert r.status_code == 404
    assert "nope" in r.text


def test_static_stylesheet(api: Api) -> None:
    assert api.client.get("/static/assay.css").status_code == 200
