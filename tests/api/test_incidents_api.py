"""The public incident intake over HTTP: open to anyone, idempotent, receipts, rate limits, roles."""

from __future__ import annotations

from typing import Any

from assay.tokens import Role
from tests.api.conftest import Api

REPORT: dict[str, Any] = {
    "system": "helpdesk",
    "title": "The assistant quoted a refund ten times too large",
    "description": "Asked about last week's outage refund it said S$500; the policy says S$5.",
    "harm_types": ["financial"],
    "reporter": {"name": "A. Customer", "email": "customer@example.sg"},
}


def test_anyone_reports_and_follows_the_report_with_the_receipt(registered: Api) -> None:
    c = registered.client
    r = c.post("/api/v1/incidents", json=REPORT)  # no token
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["id"].startswith("AS-HELPDESK-") and len(got["receipt"]) >= 30 and not got["replayed"]
    status = c.get(got["status_url"], headers={"X-Assay-Receipt": got["receipt"]})
    assert status.status_code == 200 and status.json()["status"] == "received"
    assert "customer@example.sg" not in status.text
    # a wrong receipt, or another report's id, shows nothing and does not say whether the id exists
    assert c.get(got["status_url"], params={"receipt": "x" * 32}).status_code == 404
    assert (
        c.get(
            "/api/v1/incidents/AS-HELPDESK-2099-9999/status", params={"receipt": got["receipt"]}
        ).status_code
        == 404
    )


def test_a_retry_with_the_same_key_gets_the_same_incident(registered: Api) -> None:
    c = registered.client
    first = c.post("/api/v1/incidents", json=REPORT, headers={"Idempotency-Key": "k-123"})
    again = c.post("/api/v1/incidents", json=REPORT, headers={"Idempotency-Key": "k-123"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.json()["replayed"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    other = c.post(
        "/api/v1/incidents", json={**REPORT, "title": "Another"}, headers={"Idempotency-Key": "k-123"}
    )
    assert other.status_code == 409
    listed = c.get("/api/v1/incidents", headers=registered.auth(Role.editor)).json()
    assert [i["id"] for i in listed].count(first.json()["id"]) == 1 and len(listed) == 1


def test_bad_reports_get_422_naming_the_field_and_nothing_is_stored(registered: Api) -> None:
    c = registered.client
    for body in (
        {**REPORT, "system": "nobody"},
        {**REPORT, "harm_types": ["not-a-harm"]},
        {**REPORT, "source": "import:aiid"},  # only Assay sets the source
        {**REPORT, "title": ""},
        {**REPORT, "description": "<script>alert(1)</script>\x00"},
    ):
        r = c.post("/api/v1/incidents", json=body)
        assert r.status_code == 422, (body, r.text)
    assert c.get("/api/v1/incidents", headers=registered.auth(Role.editor)).json() == []


def test_html_in_a_report_is_kept_as_text(registered: Api) -> None:
    c = registered.client
    r = c.post("/api/v1/incidents", json={**REPORT, "title": "<img src=x onerror=alert(1)> broke"})
    assert r.status_code == 201
    rec = c.get(f"/api/v1/incidents/{r.json()['id']}", headers=registered.auth(Role.editor)).json()
    assert rec["title"] == "<img src=x onerror=alert(1)> broke"  # stored as typed; escaped where shown


def test_reading_reports_needs_the_triager_role(registered: Api) -> None:
    c = registered.client
    rid = c.post("/api/v1/incidents", json=REPORT).json()["id"]
    for headers in ({}, registered.auth(Role.viewer)):
        assert c.get("/api/v1/incidents", headers=headers).status_code in (401, 403)
        assert c.get(f"/api/v1/incidents/{rid}", headers=headers).status_code in (401, 403)
    rec = c.get(f"/api/v1/incidents/{rid}", headers=registered.auth(Role.editor))
    assert rec.status_code == 200 and "customer@example.sg" not in rec.text
    assert c.get(f"/api/v1/incidents/{rid}", headers=registered.auth(Role.admin)).status_code == 200


def test_one_client_cannot_flood_the_intake(registered: Api) -> None:
    from assay.api.limits import ReportLimiter

    registered.server._server.config.app.state.report_limiter = ReportLimiter(count=3, window_s=60)
    codes = [registered.client.post("/api/v1/incidents", json=REPORT).status_code for _ in range(5)]
    assert codes[:3] == [201, 201, 201] and codes[3:] == [429, 429]
    r = registered.client.post("/api/v1/incidents", json=REPORT)
    assert int(r.headers["Retry-After"]) >= 1
