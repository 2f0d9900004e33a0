"""Every incident route and public incident page, with every role and with none: the expected status.

The callers: no token; viewer, triager, editor and admin tokens; an authority supervising the report's
system and one supervising only another system; and the public reporter, who has no token but the
report's receipt. One server, one table: a mismatch is listed with its route and caller, all at once.
A route added to the app without a row here fails the coverage check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from assay.api.app import create_app
from assay.incidents.intake import PublicReport, receipt_for, submit
from assay.tokens import Role, create_token
from tests.api.conftest import Api

CALLERS = ("none", "viewer", "triager", "editor", "admin", "authority", "authority_other", "receipt")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
REPORT: dict[str, Any] = {
    "system": "helpdesk",
    "title": "It promised a refund that does not exist",
    "description": "The assistant said every outage gets a S$50 refund; no such policy exists.",
    "reporter": {"name": "Lim", "email": "lim@example.sg"},
}


def _expect(none: int, viewer: int, worker: int, authority: int, other: int, receipt: int) -> dict[str, int]:
    """Statuses by caller; triager, editor and admin (`worker`) are alike on incident routes."""
    return {
        "none": none,
        "viewer": viewer,
        "triager": worker,
        "editor": worker,
        "admin": worker,
        "authority": authority,
        "authority_other": other,
        "receipt": receipt,
    }


READ = _expect(401, 403, 200, 200, 404, 401)  # another system's report is absent to an authority
WRITE = _expect(401, 403, 200, 403, 403, 401)
CREATE = {**WRITE, "triager": 201, "editor": 201, "admin": 201}
ATTACH = {**CREATE, "receipt": 201}  # the reporter adds to their own report with its receipt
STATUS = {**dict.fromkeys(CALLERS, 404), "receipt": 200}  # only the receipt shows the status
PUBLIC = dict.fromkeys(CALLERS, 200)
SHOT = {"files": {"file": ("shot.png", PNG, "image/png")}}

# (method, route as the app declares it, which report, expected, request extras)
TABLE: list[tuple[str, str, str, dict[str, int], dict[str, Any]]] = [
    ("POST", "/api/v1/incidents", "-", dict.fromkeys(CALLERS, 201), {"json": REPORT}),
    ("GET", "/api/v1/incidents/{incident_id}/status", "main", STATUS, {}),
    ("GET", "/api/v1/incidents", "-", _expect(401, 403, 200, 200, 200, 401), {}),
    ("GET", "/api/v1/incidents?system=helpdesk", "-", _expect(401, 403, 200, 200, 403, 401), {}),
    ("GET", "/api/v1/incidents/{incident_id}", "main", READ, {}),
    ("GET", "/api/v1/incidents/{incident_id}/events", "main", READ, {}),
    ("GET", "/api/v1/incidents/{incident_id}/attachments", "main", READ, {}),
    ("GET", "/api/v1/incidents/{incident_id}/attachments/{sha256}", "main", READ, {}),
    ("POST", "/api/v1/incidents/{incident_id}/transitions", "fresh", WRITE, {"json": {"state": "triaged"}}),
    ("POST", "/api/v1/incidents/{incident_id}/comments", "main", CREATE, {"json": {"text": "On it."}}),
    ("PUT", "/api/v1/incidents/{incident_id}/assignee", "main", WRITE, {"json": {"assignee": "Priya"}}),
    ("POST", "/api/v1/incidents/{incident_id}/attachments", "fresh", ATTACH, SHOT),
    ("GET", "/report/{system_id}", "-", PUBLIC, {}),
    ("POST", "/report/{system_id}", "-", dict.fromkeys(CALLERS, 201), {"form": True}),
    ("GET", "/incidents/{system_id}", "-", PUBLIC, {}),
    ("GET", "/incidents/{system_id}/feed.atom", "-", PUBLIC, {}),
    # the dashboard's internal list (no contacts, no descriptions) is a read: open on a loopback server
    ("GET", "/dashboard/{system}/incidents", "-", PUBLIC, {}),
]  # fmt: skip


def _report(api: Api, **changes: Any) -> str:
    """A report made through the intake itself, so the table's own POSTs stay within the rate limit."""
    return submit(api.ws, PublicReport.model_validate({**REPORT, **changes}))[0].id


def test_every_incident_route_is_in_the_table() -> None:
    """The API's operations from its OpenAPI document; the pages (not in it) from their routers."""
    from pathlib import Path

    from assay.api.routers import dashboard, disclosure, report_page
    from assay.workspace import Workspace

    doc = create_app(Workspace(Path("/nonexistent/.assay"))).openapi()
    declared = {(m.upper(), p) for p, ops in doc["paths"].items() if "/incidents" in p for m in ops}
    declared |= {
        (m, r.path)  # type: ignore[attr-defined]
        for router in (disclosure.pages, report_page.pages, dashboard.internal)
        for r in router.routes
        for m in r.methods - {"HEAD"}  # type: ignore[attr-defined]
        if router is not dashboard.internal or "incidents" in r.path  # type: ignore[attr-defined]
    }
    tabled = {(m, p.split("?")[0]) for m, p, *_ in TABLE}
    assert declared == tabled, (declared - tabled, tabled - declared)


def test_every_route_with_every_role(registered: Api, example_body: dict[str, Any]) -> None:
    api, c = registered, registered.client
    other = {**example_body, "system": {**example_body["system"], "id": "payroll"}}
    assert c.post("/api/v1/systems", json=other, headers=api.auth(Role.admin)).status_code == 201
    secrets = {role.value: api.tokens[role] for role in Role}
    secrets["authority_other"] = create_token(api.ws, "other-authority", Role.authority, ["payroll"]).secret
    main = _report(api)
    up = c.post(
        f"/api/v1/incidents/{main}/attachments", files={"file": ("a.png", PNG)}, headers=api.auth(Role.admin)
    )
    assert up.status_code == 201, up.text
    sha = up.json()[0]["sha256"]

    failures: list[str] = []
    for method, route, which, expected, extras in TABLE:
        for caller in CALLERS:
            ident = _report(api) if which == "fresh" else main
            path = route.format(incident_id=ident, sha256=sha, system_id="helpdesk", system="helpdesk")
            headers: dict[str, str] = {}
            if caller == "receipt":
                headers["X-Assay-Receipt"] = receipt_for(api.ws, ident)
            elif caller != "none":
                headers["Authorization"] = f"Bearer {secrets[caller]}"
            kwargs: dict[str, Any] = {k: v for k, v in extras.items() if k != "form"}
            if extras.get("form"):
                page = c.get(path)
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                kwargs["data"] = {"title": "Wrong answer", "description": "It was wrong.", "csrf": csrf}
                kwargs["files"] = {"attachments": ("t.txt", b"user: hi\nbot: wrong\n", "text/plain")}
            got = c.request(method, path, headers=headers, **kwargs).status_code
            if got != expected[caller]:
                failures.append(f"{method} {route} as {caller}: {got}, expected {expected[caller]}")
    assert not failures, "\n".join(failures)


def test_an_authority_sees_only_what_it_supervises(registered: Api, example_body: dict[str, Any]) -> None:
    api, c = registered, registered.client
    other = {**example_body, "system": {**example_body["system"], "id": "payroll"}}
    assert c.post("/api/v1/systems", json=other, headers=api.auth(Role.admin)).status_code == 201
    mine, theirs = _report(api), _report(api, system="payroll")
    auth = api.auth(Role.authority)  # supervises helpdesk only
    listed: Callable[..., list[str]] = lambda **q: [  # noqa: E731
        i["id"] for i in c.get("/api/v1/incidents", params=q, headers=auth).json()
    ]
    assert listed() == [mine] and listed(status="received") == [mine]
    assert c.get("/api/v1/incidents", params={"system": "payroll"}, headers=auth).status_code == 403
    assert c.get(f"/api/v1/incidents/{theirs}", headers=auth).status_code == 404
    assert {i["id"] for i in c.get("/api/v1/incidents", headers=api.auth(Role.triager)).json()} == {
        mine,
        theirs,
    }
    # and nothing of the registry: an authority's token is for incidents
    party = {"id": "audit-firm", "name": "Merlion Assurance LLP", "roles": ["data_provider"]}
    for role in (Role.authority, Role.triager):
        r = c.post("/api/v1/systems/helpdesk/parties", json=party, headers=api.auth(role))
        assert r.status_code == 403, (role, r.text)
