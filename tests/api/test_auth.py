"""Who may write: no token, a bad token, too low a role, and enough of one."""

from __future__ import annotations

from typing import Any

import pytest

from assay.tokens import Role, create_token, revoke_token
from tests.api.conftest import Api
from tests.api.server import LiveServer

PARTY = {"id": "audit-firm", "name": "Merlion Assurance LLP", "roles": ["data_provider"]}


def test_reads_are_open_on_loopback(registered: Api) -> None:
    assert registered.client.get("/api/v1/systems").status_code == 200
    assert registered.client.get("/api/v1/systems/helpdesk/raci").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/systems"),
        ("DELETE", "/api/v1/systems/helpdesk"),
        ("POST", "/api/v1/systems/helpdesk/parties"),
        ("POST", "/api/v1/systems/helpdesk/components"),
        ("POST", "/api/v1/systems/helpdesk/control-points"),
        ("POST", "/api/v1/systems/helpdesk/overrides"),
    ],
)
def test_writes_without_a_token_are_refused(registered: Api, method: str, path: str) -> None:
    r = registered.client.request(method, path, json={})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(registered: Api) -> None:
    r = registered.client.post(
        "/api/v1/systems/helpdesk/parties",
        json=PARTY,
        headers={"Authorization": "Bearer assay_not-a-real-one"},
    )
    assert r.status_code == 401
    assert "invalid_token" in r.headers["www-authenticate"]


def test_a_non_bearer_scheme_counts_as_no_token(registered: Api) -> None:
    r = registered.client.post(
        "/api/v1/systems/helpdesk/parties", json=PARTY, headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert r.status_code == 401


def test_a_viewer_cannot_write(registered: Api, example_body: dict[str, Any]) -> None:
    viewer = registered.auth(Role.viewer)
    assert (
        registered.client.post("/api/v1/systems/helpdesk/parties", json=PARTY, headers=viewer).status_code
        == 403
    )
    assert registered.client.post("/api/v1/systems", json=example_body, headers=viewer).status_code == 403
    # nothing changed
    names = [p["id"] for p in registered.client.get("/api/v1/systems/helpdesk/parties").json()]
    assert "audit-firm" not in names


def test_an_editor_changes_the_registry_but_not_systems(
    registered: Api, example_body: dict[str, Any]
) -> None:
    editor = registered.auth(Role.editor)
    r = registered.client.post("/api/v1/systems/helpdesk/parties", json=PARTY, headers=editor)
    assert r.status_code == 201, r.text
    r = registered.client.post("/api/v1/systems", json=example_body, headers=editor)
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]
    assert registered.client.delete("/api/v1/systems/helpdesk", headers=editor).status_code == 403


def test_a_revoked_token_stops_working(registered: Api) -> None:
    secret = create_token(registered.ws, "short-lived", Role.editor).secret
    headers = {"Authorization": f"Bearer {secret}"}
    assert (
        registered.client.post("/api/v1/systems/helpdesk/parties", json=PARTY, headers=headers).status_code
        == 201
    )
    revoke_token(registered.ws, "short-lived")
    again = {**PARTY, "id": "second-firm"}
    assert (
        registered.client.post("/api/v1/systems/helpdesk/parties", json=again, headers=headers).status_code
        == 401
    )


def test_a_closed_server_asks_a_token_for_reads(registered: Api) -> None:
    with LiveServer(registered.ws, open_reads=False) as closed:
        import httpx

        with httpx.Client(base_url=closed.url) as client:
            assert client.get("/api/v1/systems").status_code == 401
            assert client.get("/").status_code == 401
            assert client.get("/api/v1/systems", headers=registered.auth(Role.viewer)).status_code == 200
            assert client.get("/healthz").status_code == 200
