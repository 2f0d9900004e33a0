"""`assay token create/list/revoke`, and what the server makes of the tokens they manage."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assay.cli.tokens import app
from tests.api.conftest import Api

PARTY = {"id": "audit-firm", "name": "Merlion Assurance LLP", "roles": ["data_provider"]}


@pytest.fixture
def cli(registered: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The `--home` arguments for the server's workspace; its database URL comes from the environment."""
    monkeypatch.setenv("ASSAY_DATABASE_URL", registered.ws.database_url)
    return ["--home", str(registered.ws.home)]


def test_create_list_revoke(registered: Api, cli: list[str]) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["create", "ci-job", "--role", "editor", *cli])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("assay_")
    assert "not shown again" in made.stderr

    listed = runner.invoke(app, ["list", "--json", *cli])
    assert listed.exit_code == 0
    tokens = {t["name"]: t for t in json.loads(listed.stdout)}
    assert tokens["ci-job"]["role"] == "editor"
    assert secret not in listed.stdout

    headers = {"Authorization": f"Bearer {secret}"}
    c = registered.client
    assert c.post("/api/v1/systems/helpdesk/parties", json=PARTY, headers=headers).status_code == 201

    revoked = runner.invoke(app, ["revoke", "ci-job", *cli])
    assert revoked.exit_code == 0
    again = PARTY | {"id": "second-firm"}
    assert c.post("/api/v1/systems/helpdesk/parties", json=again, headers=headers).status_code == 401
    assert "revoked" in runner.invoke(app, ["list", *cli]).stdout


def test_mistakes_exit_nonzero(registered: Api, cli: list[str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["create", "twice", *cli]).exit_code == 0
    again = runner.invoke(app, ["create", "twice", *cli])
    assert again.exit_code == 1 and "exists already" in again.stderr
    assert runner.invoke(app, ["revoke", "nobody", *cli]).exit_code == 1
    assert runner.invoke(app, ["create", "x", "--role", "root", *cli]).exit_code == 2


def test_an_authority_token_is_scoped_to_the_systems_it_supervises(registered: Api, cli: list[str]) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["create", "imda", "--role", "authority", "--system", "helpdesk", "--system", "payroll", *cli]
    )
    assert made.exit_code == 0, made.output
    assert "supervising helpdesk, payroll" in made.stderr
    listed = {t["name"]: t for t in json.loads(runner.invoke(app, ["list", "--json", *cli]).stdout)}
    assert listed["imda"]["role"] == "authority" and listed["imda"]["systems"] == ["helpdesk", "payroll"]
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    assert registered.client.get("/api/v1/incidents", headers=headers).status_code == 200
    assert (
        registered.client.post("/api/v1/systems/helpdesk/parties", json=PARTY, headers=headers).status_code
        == 403
    )
    for wrong in (
        ["create", "no-scope", "--role", "authority"],  # an authority needs its systems
        [
            "create",
            "scoped-editor",
            "--role",
            "editor",
            "--system",
            "helpdesk",
        ],  # only authorities are scoped
        ["create", "bad-slug", "--role", "authority", "--system", "Not A Slug"],
    ):
        r = runner.invoke(app, [*wrong, *cli])
        assert r.exit_code == 2 and ("--system" in r.stderr or "not a system slug" in r.stderr), r.output
