"""The dashboard in a real headless Chromium: navigated with JavaScript off, and checked with axe-core
(no serious or critical violation) on every kind of page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.conftest import SYSTEM, Dash

# the browser sees HTML; the backends are covered by the page tests, so this opens one (SQLite)
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("populated", ["sqlite"], indirect=True)]
LAUNCH = ["--no-sandbox", "--disable-gpu"]


def test_browse_from_the_systems_list_to_a_sample_without_javascript(dash: Dash, chromium: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=LAUNCH)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{dash.url}/dashboard?lang=zh")
            assert page.locator("h1").inner_text() == "人工智能系统"
            page.click(f"#systems a[href^='/dashboard/{SYSTEM}']")
            assert page.locator("h1").inner_text() == "Lion City Broadband Helpdesk Assistant"
            assert page.locator("#h-conformance").inner_text() == "符合性"
            page.click("#controls >> xpath=..")  # the <details> opens without script
            assert page.locator("#controls").is_visible()
            page.click(f"#run-list a[href$='/runs/{dash.run_id}']")
            assert page.locator("#samples tbody tr").count() == 50
            page.click("#next")
            assert page.locator("#samples tbody tr").first.locator("a").inner_text() == "51"
            page.click("#failed-only")
            assert page.locator("#samples tbody tr").count() == 50
            assert page.locator("#samples strong", has_text="pass").count() == 0
            page.locator("#samples tbody tr a").first.click()
            assert page.locator("#prompt").inner_text() == "say 1"
            assert "never 1" in page.locator("#scores").inner_text()
        finally:
            browser.close()


def test_no_serious_or_critical_accessibility_violation(dash: Dash, chromium: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    paths = [
        "/dashboard?lang=ta",
        f"/dashboard/{SYSTEM}?lang=en",
        f"/dashboard/{SYSTEM}?lang=zh",
        f"/dashboard/{SYSTEM}?lang=ms",
        f"/dashboard/{SYSTEM}?lang=ta",
        f"/dashboard/{SYSTEM}/accountability",
        f"/dashboard/{SYSTEM}/runs/{dash.run_id}?after=40",
        f"/dashboard/{SYSTEM}/runs/{dash.run_id}/samples/5",
        f"/dashboard/{SYSTEM}/incidents",
        f"/dashboard/{SYSTEM}/provenance",
    ]
    axe = Axe()
    found: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=LAUNCH)
        try:
            page = browser.new_page()
            for path in paths:
                page.goto(dash.url + path)
                response = axe.run(page).response
                assert response["passes"], f"axe checked nothing on {path}"
                violations = response["violations"]
                bad = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
                if bad:
                    found[path] = bad
        finally:
            browser.close()
    assert found == {}
