"""The public report form at /report/{system}: no login, no JavaScript, CSRF, honeypot, four languages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from assay.tokens import Role
from tests.api.conftest import Api

FORM = {
    "kind": "incident",
    "title": "It told me my bill was due a month early",
    "description": "Asked when the November bill is due; it said 1 November, the bill says 28 November.",
    "harm_types": ["financial", "misinformation"],
    "severity": "low",
    "name": "Tan",
    "email": "tan@example.sg",
}


def _csrf(page: httpx.Response) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert m, page.text[:500]
    return m.group(1)


def _reports(api: Api) -> list[dict]:  # type: ignore[type-arg]
    return api.client.get("/api/v1/incidents", headers=api.auth(Role.editor)).json()


@pytest.mark.parametrize("lang", ["en", "zh", "ms", "ta"])
def test_the_form_speaks_four_languages(registered: Api, lang: str) -> None:
    page = registered.client.get("/report/helpdesk", params={"lang": lang})
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    assert "Lion City Broadband Helpdesk Assistant" in page.text and "<script" not in page.text
    assert registered.client.get("/report/nobody").status_code == 404


def test_a_report_sent_from_the_page_is_stored_and_answered_with_a_receipt(registered: Api) -> None:
    c = registered.client
    page = c.get("/report/helpdesk")
    sent = c.post("/report/helpdesk", data={**FORM, "csrf": _csrf(page), "website": ""})
    assert sent.status_code == 201, sent.text
    rid = re.search(r'id="report-id">([^<]+)<', sent.text).group(1)  # type: ignore[union-attr]
    receipt = re.search(r'id="receipt">([^<]+)<', sent.text).group(1)  # type: ignore[union-attr]
    status = c.get(f"/api/v1/incidents/{rid}/status", params={"receipt": receipt})
    assert status.status_code == 200 and status.json()["title"] == FORM["title"]
    (stored,) = _reports(registered)
    assert stored["source"] == "form" and stored["harm_types"] == ["financial", "misinformation"]
    assert "tan@example.sg" not in str(stored)


def test_a_post_without_the_page_s_token_or_cookie_is_refused(registered: Api) -> None:
    c = registered.client
    token = _csrf(c.get("/report/helpdesk"))
    # another site's page: no cookie of ours (SameSite=Strict), so the token does not match
    with httpx.Client(base_url=registered.server.url) as stranger:
        forged = stranger.post("/report/helpdesk", data={**FORM, "csrf": token})
    assert forged.status_code == 400 and "expired" in forged.text
    assert c.post("/report/helpdesk", data={**FORM, "csrf": "123.abc"}).status_code == 400
    assert _reports(registered) == []


def test_the_honeypot_thanks_a_bot_and_stores_nothing(registered: Api) -> None:
    c = registered.client
    r = c.post("/report/helpdesk", data={**FORM, "csrf": _csrf(c.get("/report/helpdesk")), "website": "x"})
    assert r.status_code == 200 and "report-id" not in r.text
    assert _reports(registered) == []


def test_bad_input_redisplays_the_form_with_what_is_wrong_and_escapes_it(registered: Api) -> None:
    c = registered.client
    bad = {**FORM, "title": "<script>alert(1)</script>", "harm_types": ["nonsense"]}
    r = c.post("/report/helpdesk", data={**bad, "csrf": _csrf(c.get("/report/helpdesk"))})
    assert r.status_code == 422 and "harm_types" in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text  # kept, escaped
    assert _reports(registered) == []


@pytest.mark.slow
def test_the_form_works_in_chromium_without_javascript(registered: Api, chromium: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{registered.server.url}/report/helpdesk?lang=ms")
            page.fill("#title", FORM["title"])
            page.fill("#description", FORM["description"])
            page.check("input[value=financial]")
            page.set_input_files(
                "#attachments",
                {"name": "chat.txt", "mimeType": "text/plain", "buffer": b"user: bill?\nbot: 1 Nov\n"},
            )
            page.click("button[type=submit]")
            rid = page.locator("#report-id").inner_text()
            assert rid.startswith("AS-HELPDESK-")
            sent = registered.client.get(
                f"/api/v1/incidents/{rid}/attachments", headers=registered.auth(Role.triager)
            )
            assert [a["filename"] for a in sent.json()] == ["chat.txt"]
        finally:
            browser.close()
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{registered.server.url}/report/helpdesk?lang=ta")
            results = Axe().run(page)
            bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert bad == [], [v["id"] for v in bad]
        finally:
            browser.close()
