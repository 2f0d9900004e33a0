"""Fixtures for the HTTP tests: a live server over the shared per-backend workspace, and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from assay.manifest import load_manifest
from assay.registry.service import manifest_json
from assay.tokens import Role, create_token
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.conftest import EXAMPLE


@dataclass
class Api:
    """The running server, a client for it, and one token secret per role."""

    server: LiveServer
    client: httpx.Client
    tokens: dict[Role, str]

    @property
    def ws(self) -> Workspace:
        return self.server.ws

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def example_body() -> dict[str, Any]:
    """The helpdesk manifest as the JSON a client would POST."""
    return manifest_json(load_manifest(EXAMPLE))


@pytest.fixture
def api(workspace: Workspace) -> Iterator[Api]:
    tokens = {
        role: create_token(
            workspace, f"{role.value}-token", role, ["helpdesk"] if role is Role.authority else []
        ).secret
        for role in Role
    }
    with LiveServer(workspace) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield Api(server=server, client=client, tokens=tokens)


@pytest.fixture
def registered(api: Api, example_body: dict[str, Any]) -> Api:
    """The server with the helpdesk system already registered."""
    r = api.client.post("/api/v1/systems", json=example_body, headers=api.auth(Role.admin))
    assert r.status_code == 201, r.text
    return api
