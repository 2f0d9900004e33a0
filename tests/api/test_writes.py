"""Writes need a token and the server keeps the audit trail (issue #16, part 4).

Keeping a verification is a write (editor role, within a per-client quota); an override's who and when
come from the token and the server's clock; text rules count visible characters; fields have length
limits and a stored manifest stays within 2 MiB; a holding cannot be recorded twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from assay.api.limits import KeepLedger, KeepQuota, QuotaExceeded
from assay.assurance.evidence import list_evidence
from assay.tokens import Role, create_token
from assay.workspace import Workspace
from tests.api.conftest import Api
from tests.api.server import LiveServer

TEXT = "The fibre plan costs $49.90 a month with a twelve-month contract."
BASE = "/api/v1/systems/helpdesk"
OVERRIDE = {
    "risk_area": "harmful_output",
    "accountable": "lion-city-broadband",
    "responsible": ["lion-city-broadband"],
    "rationale": "The deployer signed the customer contract and answers for this area.",
}


def kept(ws: Workspace) -> int:
    return len(list_evidence(ws, kind="provenance.verify"))


# --- keeping a verification ----------------------------------------------------------------------------


def test_keep_without_a_token_verifies_but_stores_nothing_on_loopback(api: Api) -> None:
    c = api.client
    before = kept(api.ws)
    r = c.post("/api/v1/verify?keep=true", content=b"\x00" * 4096, headers={"content-type": "image/png"})
    assert r.status_code == 200 and r.json()["kept_as"] is None
    assert any("keeping needs a token with the editor role" in n for n in r.json()["notes"])
    r = c.post("/api/v1/verify", json={"text": TEXT, "keep": True})
    assert r.status_code == 200 and r.json()["kept_as"] is None
    r = c.post("/api/v1/verify", files={"file": ("a.txt", TEXT.encode())}, data={"keep": "true"})
    assert r.status_code == 200 and r.json()["kept_as"] is None
    page = c.post("/verify?lang=en", data={"text": TEXT, "keep": "true"})  # the public form
    assert page.status_code == 200
    assert kept(api.ws) == before


def test_keep_needs_a_role_that_may_write(api: Api) -> None:
    c = api.client
    before = kept(api.ws)
    r = c.post("/api/v1/verify", json={"text": TEXT, "keep": True}, headers=api.auth(Role.viewer))
    assert r.status_code == 403 and "editor" in r.json()["detail"]
    bad = {"Authorization": "Bearer assay_not-a-real-one"}
    r = c.post("/api/v1/verify", json={"text": TEXT, "keep": True}, headers=bad)
    assert r.status_code == 401
    assert kept(api.ws) == before
    r = c.post("/api/v1/verify", json={"text": TEXT, "keep": True}, headers=api.auth(Role.editor))
    assert r.status_code == 200 and r.json()["kept_as"]
    assert kept(api.ws) == before + 1


def test_verifying_without_keep_stays_open_to_anyone(api: Api) -> None:
    r = api.client.post("/api/v1/verify", json={"text": TEXT}, headers=api.auth(Role.viewer))
    assert r.status_code == 200 and r.json()["kept_as"] is None


def test_a_form_keep_that_is_not_a_boolean_is_refused(api: Api) -> None:
    r = api.client.post("/api/v1/verify", data={"text": TEXT, "keep": "{}"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "keep"


def test_the_keep_quota_answers_429_with_retry_after(workspace: Workspace) -> None:
    secret = create_token(workspace, "uploader", Role.editor).secret
    other = create_token(workspace, "second", Role.editor).secret
    quota = KeepQuota(count=2, bytes=10_000, window_s=600)
    with LiveServer(workspace, keep_quota=quota) as server, httpx.Client(base_url=server.url) as c:

        def keep(text: str, token: str = secret) -> httpx.Response:
            body = {"text": text, "keep": True}
            return c.post("/api/v1/verify", json=body, headers={"Authorization": f"Bearer {token}"})

        assert keep("one " + TEXT).json()["kept_as"]
        assert keep("two " + TEXT).json()["kept_as"]
        refused = keep("three " + TEXT)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        assert "keep quota" in refused.json()["detail"]
        assert kept(workspace) == 2
        # the quota is per client, and verifying without keep is not counted
        assert keep("three " + TEXT, other).json()["kept_as"]
        assert c.post("/api/v1/verify", json={"text": TEXT}).status_code == 200
        assert kept(workspace) == 3


def test_the_keep_ledger_counts_uploads_and_bytes_in_a_sliding_window() -> None:
    now = [0.0]
    ledger = KeepLedger(KeepQuota(count=2, bytes=100, window_s=60), clock=lambda: now[0])
    ledger.reserve("a", 10)
    now[0] = 10.0
    ledger.reserve("a", 10)
    with pytest.raises(QuotaExceeded) as too_many:
        ledger.reserve("a", 10)
    assert too_many.value.status_code == 429
    assert too_many.value.headers == {"Retry-After": "50"}  # the first upload leaves the window at 60 s
    ledger.reserve("b", 90)  # another client has its own window, here from 10 s
    with pytest.raises(QuotaExceeded) as too_big:
        ledger.reserve("b", 20)  # 110 bytes: room only once those 90 leave, at 70 s
    assert too_big.value.headers == {"Retry-After": "60"}
    with pytest.raises(QuotaExceeded):
        ledger.reserve("c", 101)  # larger than the whole quota
    now[0] = 60.0
    ledger.reserve("a", 10)  # the first has left the window


def test_the_keep_quota_is_configurable_from_the_environment() -> None:
    q = KeepQuota.from_env({"ASSAY_KEEP_QUOTA_COUNT": "5", "ASSAY_KEEP_QUOTA_BYTES": "1000"})
    assert (q.count, q.bytes, q.window_s) == (5, 1000, KeepQuota().window_s)
    with pytest.raises(ValueError, match="ASSAY_KEEP_QUOTA_COUNT"):
        KeepQuota.from_env({"ASSAY_KEEP_QUOTA_COUNT": "0"})
    with pytest.raises(ValueError, match="ASSAY_KEEP_QUOTA_WINDOW_S"):
        KeepQuota.from_env({"ASSAY_KEEP_QUOTA_WINDOW_S": "soon"})


# --- the audit trail of overrides ----------------------------------------------------------------------


def test_who_and_when_of_an_override_come_from_the_token_and_the_clock(registered: Api) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    forged = OVERRIDE | {"decided_by": "admin1 (CEO)", "decided_on": "1999-01-01"}
    r = c.post(f"{BASE}/overrides", json=forged, headers=editor)
    assert r.status_code == 422
    assert "set by the server" in r.json()["detail"][0]["message"]
    for field in ("decided_by", "decided_on"):
        r = c.post(f"{BASE}/overrides", json=OVERRIDE | {field: forged[field]}, headers=editor)
        assert r.status_code == 422 and field in r.json()["detail"][0]["message"]
    assert c.get(f"{BASE}/overrides").json() == []

    r = c.post(f"{BASE}/overrides", json=OVERRIDE, headers=editor)
    assert r.status_code == 201, r.text
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (r.json()["decided_by"], r.json()["decided_on"]) == ("token:editor-token", today)
    [stored] = c.get(f"{BASE}/overrides").json()
    assert (stored["decided_by"], stored["decided_on"]) == ("token:editor-token", today)


@pytest.mark.parametrize("blank", [" ", "\x00", "\u200b", "\t\n", "\ufeff"])
def test_a_rationale_counts_visible_characters(registered: Api, blank: str) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    r = c.post(f"{BASE}/overrides", json=OVERRIDE | {"rationale": blank * 25}, headers=editor)
    assert r.status_code == 422
    problem = r.json()["detail"][0]
    assert problem["field"] == "rationale" and "20 visible characters" in problem["message"]
    padded = OVERRIDE | {"rationale": "too short" + blank * 30}
    assert c.post(f"{BASE}/overrides", json=padded, headers=editor).status_code == 422


# --- length limits and duplicates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("parties", {"id": "big", "name": "n" * 201, "roles": ["data_provider"]}, "name"),
        (
            "parties",
            {"id": "big", "name": "Big", "roles": ["data_provider"], "contact": "c" * 300},
            "contact",
        ),
        (
            "components",
            {
                "id": "big",
                "name": "Big",
                "kind": "guardrail",
                "provider": "harbour-cloud",
                "description": "d" * 5000,
            },
            "description",
        ),
        (
            "control-points",
            {"point": "weights", "component": "c" * 500, "holder": "harbour-cloud"},
            "component",
        ),
    ],
)
def test_text_fields_have_length_limits(registered: Api, path: str, body: dict[str, Any], field: str) -> None:
    r = registered.client.post(f"{BASE}/{path}", json=body, headers=registered.auth(Role.editor))
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == field
    assert "at most" in r.json()["detail"][0]["message"]


def test_a_stored_manifest_cannot_grow_past_the_file_limit(
    registered: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assay.registry.service.MAX_MANIFEST_BYTES", 40_000)
    c, editor = registered.client, registered.auth(Role.editor)
    before = c.get(f"{BASE}/manifest").json()
    statuses = []
    for i in range(20):
        component = {
            "id": f"bulk-{i}",
            "name": "Bulk",
            "kind": "guardrail",
            "provider": "harbour-cloud",
            "description": "d" * 3900,
        }
        statuses.append(c.post(f"{BASE}/components", json=component, headers=editor).status_code)
    assert 201 in statuses and statuses[-1] == 409
    assert "would grow to" in c.post(f"{BASE}/components", json=component, headers=editor).json()["detail"]
    after = c.get(f"{BASE}/manifest").json()
    assert len(after["components"]) == len(before["components"]) + statuses.count(201)


def test_the_same_holding_cannot_be_recorded_twice(registered: Api) -> None:
    c, editor = registered.client, registered.auth(Role.editor)
    holding = {
        "point": "monitoring",
        "component": "helpdesk-app",
        "holder": "harbour-cloud",
        "level": "shared",
    }
    assert c.post(f"{BASE}/control-points", json=holding, headers=editor).status_code == 201
    count = len(c.get(f"{BASE}/control-points").json())
    for again in (holding, holding | {"level": "full", "note": "again"}):
        r = c.post(f"{BASE}/control-points", json=again, headers=editor)
        assert r.status_code == 409
        assert "'harbour-cloud' already holds 'monitoring' on 'helpdesk-app'" in r.json()["detail"]
    assert len(c.get(f"{BASE}/control-points").json()) == count


def test_serve_refuses_a_bad_quota_setting_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.cli.main import app

    monkeypatch.setenv("ASSAY_KEEP_QUOTA_BYTES", "-5")
    result = CliRunner().invoke(app, ["serve", "--home", str(tmp_path / ".assay")])
    assert result.exit_code == 2
    assert "ASSAY_KEEP_QUOTA_BYTES" in result.output
    assert not (tmp_path / ".assay").exists()  # stopped before opening the workspace
