"""The accepted path of POST /api/v1/incidents skips FastAPI's routing (`assay.api.fast_intake`); every
request it cannot accept as the route would goes to the route, so answers keep the route's shapes."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

URL = "/api/v1/incidents"
REPORT: dict[str, Any] = {
    "system": "helpdesk",
    "title": "The assistant quoted a refund ten times too large",
    "description": "Asked about last week's outage refund it said S$500; the policy says S$5.",
}


def test_what_the_fast_path_cannot_take_gets_the_routes_answers(registered: Api) -> None:
    c = registered.client
    assert registered.server._server.config.app.state.intake.running  # the fast path is in play
    ok = c.post(URL, json=REPORT, headers={"Idempotency-Key": "f-1"})
    assert ok.status_code == 201 and set(ok.json()) == {"id", "receipt", "status_url", "replayed"}
    assert ok.headers["content-type"] == "application/json" and "idempotent-replayed" not in ok.headers
    again = c.post(URL, json=REPORT, headers={"Idempotency-Key": "f-1"})
    assert again.json()["id"] == ok.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    # a query parameter, an empty or over-long key, another content type, bad JSON, a refused field
    query = c.post(URL, params={"x": "1"}, json=REPORT)
    assert query.status_code == 422 and "unknown query parameter" in query.text
    for key in ("", "k" * 201):
        r = c.post(URL, json=REPORT, headers={"Idempotency-Key": key})
        assert r.status_code == 422 and "Idempotency-Key" in r.text, key
    form = c.post(URL, content=b"title=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 422
    broken = c.post(URL, content=b'{"system": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    unknown = c.post(URL, json={**REPORT, "system": "nobody"})  # valid JSON the domain refuses
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "system"
    # valid as the public model, refused by the full one (checked before the report is queued)
    backwards = c.post(URL, json={**REPORT, "occurred": "2026-11-02", "detected": "2026-11-01"})
    assert backwards.status_code == 422 and "is before" in backwards.text
    clash = c.post(URL, json={**REPORT, "title": "other"}, headers={"Idempotency-Key": "f-1"})
    assert clash.status_code == 409 and "different report" in clash.json()["detail"]
    huge = c.post(URL, json={**REPORT, "description": "x" * (3 << 20)})
    assert huge.status_code == 413  # the body limits still come first
