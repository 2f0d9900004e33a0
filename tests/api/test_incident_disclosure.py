"""Public disclosure: advisory ids given once and kept, the redacted page in four languages, the feed."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from assay.incidents.intake import PublicReport, submit
from assay.incidents.service import assign, audit, comment, get_incident, move
from assay.tokens import Role
from assay.workspace import Workspace
from tests.api.conftest import Api

A = "{http://www.w3.org/2005/Atom}"
SECRET_NOTE = "internal: the vendor's prompt template leaked the refund table"


def _report(ws: Workspace, title: str) -> str:
    body = {
        "system": "helpdesk",
        "title": title,
        "description": "My account number 1234-5678 was shown with the wrong refund.",
        "reporter": {"name": "Reporter Ong", "email": "ong@example.sg"},
        "harm_types": ["financial"],
    }
    return submit(ws, PublicReport.model_validate(body))[0].id


def test_advisory_ids_are_given_once_kept_through_edits_and_restarts(registered: Api) -> None:
    ws = registered.ws
    year = dt.datetime.now(dt.UTC).year
    a, b, c = (_report(ws, t) for t in ("Refund amount wrong", "Outage date wrong", "Spam"))
    move(ws, a, "triaged")
    assert move(ws, a, "investigating").advisory_id is None  # not remediated: not public, no id
    first = move(ws, a, "mitigated", mitigation="Refund answers now quote the policy page.").advisory_id
    assert first == f"ASSAY-HELPDESK-{year}-0001"
    comment(ws, a, SECRET_NOTE)
    assign(ws, a, "Priya")
    assert (
        move(ws, a, "resolved", corrective_action="Refund table removed from the prompt.").advisory_id
        == first
    )
    move(ws, a, "investigating")  # reopened: off the public page, but the id stays with it
    assert get_incident(ws, a).advisory_id == first
    assert move(ws, a, "resolved").advisory_id == first
    move(ws, b, "triaged")
    assert move(ws, b, "resolved").advisory_id == f"ASSAY-HELPDESK-{year}-0002"  # never reused
    move(ws, c, "rejected")
    assert get_incident(ws, c).advisory_id is None

    again = Workspace(ws.home, ws.database_url)  # a restart: a fresh process would open it like this
    try:
        assert get_incident(again, a).advisory_id == first
        assert all(v.ok for v in audit(again)), [v.problem for v in audit(again) if not v.ok]
    finally:
        again.close()


def test_the_public_page_shows_remediated_incidents_redacted(registered: Api) -> None:
    ws, client = registered.ws, registered.client
    shown = _report(ws, "<script>alert(1)</script> refund wrong")
    hidden = _report(ws, "Still being looked at")
    move(ws, shown, "triaged")
    comment(ws, shown, SECRET_NOTE)
    adv = move(ws, shown, "mitigated", mitigation="Refund answers now quote the policy page.").advisory_id
    move(ws, hidden, "triaged")

    page = client.get("/incidents/helpdesk")  # no token: public
    assert page.status_code == 200 and "<script" not in page.text
    assert f'id="{adv}"' in page.text and "&lt;script&gt;alert(1)&lt;/script&gt; refund wrong" in page.text
    assert "Refund answers now quote the policy page." in page.text
    assert "Still being looked at" not in page.text
    for private in ("ong@example.sg", "Reporter Ong", "1234-5678", SECRET_NOTE, shown):
        assert private not in page.text, private
    for lang, word in (("zh", "事件公告"), ("ms", "Makluman insiden"), ("ta", "சம்பவ அறிவிப்புகள்")):
        translated = client.get("/incidents/helpdesk", params={"lang": lang})
        assert f'<html lang="{lang}">' in translated.text and word in translated.text
    assert client.get("/incidents/nobody").status_code == 404
    assert client.get("/incidents/nobody/feed.atom").status_code == 404


def test_the_feed_is_atom(registered: Api) -> None:
    ws, client = registered.ws, registered.client
    empty = ET.fromstring(client.get("/incidents/helpdesk/feed.atom").content)
    assert empty.tag == f"{A}feed" and empty.findall(f"{A}entry") == []
    assert empty.findtext(f"{A}updated")  # required even with no entry
    ids = []
    for title in ("Refund amount wrong", "Outage date wrong"):
        inc = _report(ws, title)
        move(ws, inc, "triaged")
        ids.append(move(ws, inc, "resolved", causes="A stale table in the prompt.").advisory_id)

    r = client.get("/incidents/helpdesk/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(f"{A}{required}") or "").strip(), required
    assert feed.findtext(f"{A}author/{A}name")
    assert feed.find(f"{A}link[@rel='self']").get("href", "").endswith("/incidents/helpdesk/feed.atom")  # type: ignore[union-attr]
    entries = feed.findall(f"{A}entry")
    assert sorted(e.findtext(f"{A}id") for e in entries) == sorted(f"urn:assay:advisory:{i}" for i in ids)
    stamps = []
    for e in entries:
        assert (e.findtext(f"{A}title") or "").startswith("ASSAY-HELPDESK-")
        stamps.append(dt.datetime.fromisoformat(e.findtext(f"{A}updated") or ""))  # RFC 3339
        assert "ong@example.sg" not in ET.tostring(e, encoding="unicode")
    assert dt.datetime.fromisoformat(feed.findtext(f"{A}updated") or "") == max(stamps)
    # the authority's token changes nothing here: the page is the same for everyone
    assert client.get("/incidents/helpdesk", headers=registered.auth(Role.authority)).status_code == 200


@pytest.mark.slow
def test_the_page_reads_in_chromium_without_javascript(registered: Api, chromium: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    inc = _report(registered.ws, "Refund amount wrong")
    move(registered.ws, inc, "triaged")
    adv = move(registered.ws, inc, "resolved", corrective_action="Refund table removed.").advisory_id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{registered.server.url}/incidents/helpdesk?lang=ta")
            assert page.locator(f"article[id='{adv}'] h2").inner_text().startswith(adv or "?")
            assert "Refund table removed." in page.locator(f"article[id='{adv}']").inner_text()
            checked = browser.new_page()  # axe itself needs JavaScript; the page does not
            checked.goto(f"{registered.server.url}/incidents/helpdesk?lang=ta")
            violations = Axe().run(checked).response["violations"]
            bad = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
            assert bad == [], bad
        finally:
            browser.close()
