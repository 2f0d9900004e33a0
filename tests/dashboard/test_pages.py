"""The dashboard over a live server: what each page shows, its links, paging through samples, which
pages need a token on a closed server, and that runs recorded before the index existed appear."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import text

from assay.catalog import load_catalog
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.dashboard.conftest import HOSTILE, MARKED_TEXT, SAMPLES, SYSTEM, Dash, populate


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.hrefs.append(value)


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def test_the_server_index_links_the_dashboard(dash: Dash) -> None:
    assert 'href="/dashboard"' in dash.client.get("/").text


def test_systems_list_links_each_system_and_its_label(dash: Dash) -> None:
    r = dash.client.get("/dashboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'href="/dashboard/{SYSTEM}?lang=en"' in r.text
    assert f'href="/label/{SYSTEM}?lang=en"' in r.text
    assert "Lion City Broadband Helpdesk Assistant" in r.text
    # three runs are indexed for the system, and the list says so
    row = re.search(r"<tr>.*?</tr>", r.text.split("<tbody>")[1], re.S)
    assert row and "<td>3</td>" in row.group(0)


def test_system_page_shows_label_conformance_and_runs(dash: Dash) -> None:
    html = dash.client.get(f"/dashboard/{SYSTEM}").text
    assert f'id="label-link" href="/label/{SYSTEM}?lang=en"' in html
    assert "baseline@" in html  # the label's pack
    assert "Not measured: " in html  # grades named as the label names them
    assert (
        "அளவிடப்படவில்லை" in dash.client.get(f"/dashboard/{SYSTEM}?lang=ta").text.split('id="h-conformance"')[0]
    )
    controls = load_catalog().controls
    assert html.count("<code>mgf-genai:") == len(controls)  # every control, with a status and a reason
    assert f"Every control ({len(controls)})" in html
    # runs: newest first, each with its kind, status, score and failures
    run_rows = html.split('id="run-list"')[1].split("</table>")[0]
    assert run_rows.count(f'href="/dashboard/{SYSTEM}/runs/') == 3
    assert f'/runs/{dash.run_id}"' in run_rows and "red team" in run_rows and "interrupted" in run_rows
    assert (
        "<td>0.500</td>" in run_rows
        and f"<td>{SAMPLES}</td>" in run_rows
        and f"<td>{SAMPLES // 2}</td>" in run_rows
    )
    assert "<td>30</td><td>15</td>" in run_rows.replace("\n", "").replace("      ", "")


def test_every_link_from_the_system_page_answers(dash: Dash) -> None:
    """Follow every link on the system page and on the pages it links to (one more level): none is
    a 4xx or 5xx."""
    origin = urlsplit(dash.url).netloc
    start = f"/dashboard/{SYSTEM}"
    seen: dict[str, int] = {}
    frontier = [start]
    for _depth in range(2):
        nxt = []
        for path in frontier:
            r = dash.client.get(path)
            seen[path] = r.status_code
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            for href in links(r.text):
                url = urlsplit(urljoin(dash.url + path, href))
                if url.netloc != origin:
                    continue
                target = url.path + (f"?{url.query}" if url.query else "")
                if target not in seen and target not in nxt:
                    nxt.append(target)
        frontier = nxt
    for path in frontier:
        seen[path] = dash.client.get(path).status_code
    for run in (dash.run_id, dash.redteam_id, dash.interrupted_id):
        page = dash.client.get(f"/dashboard/{SYSTEM}/runs/{run}")  # each run page, and what it links to
        seen[f"/dashboard/{SYSTEM}/runs/{run}"] = page.status_code
        for href in links(page.text):
            if href.startswith("/") and href not in seen:
                seen[href] = dash.client.get(href).status_code
    bad = {p: s for p, s in seen.items() if s >= 400}
    assert bad == {}
    assert f"/api/v1/evals/{dash.run_id}/report" in seen
    assert f"/api/v1/evals/{dash.interrupted_id}/report" not in seen  # no report yet: no link
    visited = set(seen)
    for must in ("/accountability", "/incidents", "/provenance", f"/runs/{dash.run_id}"):
        assert f"/dashboard/{SYSTEM}{must}" in visited
    assert f"/label/{SYSTEM}?lang=en" in visited and f"/report/{SYSTEM}?lang=en" in visited
    assert any("/samples/" in p for p in visited) and len(visited) > 60


def _page(dash: Dash, query: str) -> tuple[list[int], str]:
    html = dash.client.get(f"/dashboard/{SYSTEM}/runs/{dash.run_id}{query}").text
    seqs = [int(n) - 1 for n in re.findall(r'/samples/\d+">(\d+)</a>', html)]
    return seqs, html


def _href(html: str, ident: str) -> str | None:
    m = re.search(rf'id="{ident}"[^>]*href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_samples_page_through_every_sample_by_keyset(dash: Dash) -> None:
    seen: list[int] = []
    query: str | None = "?limit=50"
    pages = 0
    while query is not None:
        seqs, html = _page(dash, query)
        assert seqs == sorted(seqs) and len(seqs) <= 50
        seen += seqs
        pages += 1
        nxt = _href(html, "next")
        query = nxt[nxt.index("?") :] if nxt else None
    assert seen == list(range(SAMPLES)) and pages == 3
    # the last page links back to the one before it, which holds the 50 samples before it
    back = _href(html, "prev")
    assert back is not None
    seqs, html = _page(dash, back[back.index("?") :])
    assert seqs == list(range(50, 100))
    assert _href(html, "prev") is not None and _href(html, "next") is not None
    first, html = _page(dash, "?limit=50")
    assert _href(html, "prev") is None
    # failed only: the first failed sample is 1, so a page starting after 0 has none before it
    seqs, html = _page(dash, "?failed=true&after=0&limit=10")
    assert seqs[0] == 1 and _href(html, "prev") is None and _href(html, "next") is not None
    seqs, html = _page(dash, f"?failed=true&after={SAMPLES - 4}&limit=10")
    assert seqs == [SAMPLES - 3, SAMPLES - 1] and _href(html, "next") is None


def test_failed_only_and_one_sample_with_its_reason(dash: Dash) -> None:
    seqs, html = _page(dash, "?failed=true&limit=200")
    assert seqs == [i for i in range(SAMPLES) if i % 2 == 1]
    assert "<strong>fail</strong>" in html and "<strong>pass</strong>" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html  # the hostile prompt, escaped
    page = dash.client.get(f"/dashboard/{SYSTEM}/runs/{dash.run_id}/samples/3")
    assert page.status_code == 200
    assert '<pre id="prompt" class="text">say 3</pre>' in page.text
    assert '<pre id="answer" class="text">say 3</pre>' in page.text
    assert "expected one of [&#39;never 3&#39;]" in page.text  # the scorer's why
    hostile = dash.client.get(f"/dashboard/{SYSTEM}/runs/{dash.run_id}/samples/5").text
    assert HOSTILE not in hostile and "&lt;script&gt;" in hostile


def test_incidents_show_deadlines_and_overdue(dash: Dash) -> None:
    html = dash.client.get(f"/dashboard/{SYSTEM}/incidents").text
    assert dash.incident_id in html
    assert 'id="overdue-count"' in html and "1 overdue" in html
    assert re.search(r"overdue by \d+ days", html)
    assert 'class="deadline-overdue"' in html


def test_provenance_lists_marks_and_the_kept_verification(dash: Dash) -> None:
    html = dash.client.get(f"/dashboard/{SYSTEM}/provenance").text
    assert "test-mark" in html and "#1" in html
    ver = html.split('id="verifications"')[1]
    assert "ledger_match" in ver and "#1" in ver
    assert MARKED_TEXT not in html  # hashes, not the content


def test_accountability_shows_raci_and_safety_net(dash: Dash) -> None:
    html = dash.client.get(f"/dashboard/{SYSTEM}/accountability").text
    assert 'id="raci"' in html and 'id="safety-net"' in html
    assert "Lion City Broadband Pte. Ltd." in html
    assert f'href="/systems/{SYSTEM}"' in html


def test_the_conformance_report_has_its_views_and_agrees_with_the_system_page(dash: Dash) -> None:
    system_page = dash.client.get(f"/dashboard/{SYSTEM}").text
    assert f'href="/dashboard/{SYSTEM}/conformance"' in system_page
    html = dash.client.get(f"/dashboard/{SYSTEM}/conformance").text
    for view in ("NIST AI RMF", "ISO/IEC 42001", "EU AI Act"):
        assert view in html, view
    assert "<script" not in html
    from assay.assurance.conformance import assess_controls

    report = assess_controls(dash.ws, SYSTEM)
    met = [c.id for c in report.controls if c.status == "met"]
    assert met, "the fixture's system meets some control"
    for control in met:
        assert control in html, control


def test_unknown_things_are_404_and_bad_paging_is_422(dash: Dash) -> None:
    for path in (
        "/dashboard/nope",
        "/dashboard/nope/incidents",
        "/dashboard/nope/accountability",
        "/dashboard/nope/provenance",
        "/dashboard/nope/conformance",
        f"/dashboard/nope/runs/{dash.run_id}",
        f"/dashboard/{SYSTEM}/runs/no-such-run",
        f"/dashboard/{SYSTEM}/runs/{dash.run_id}/samples/{SAMPLES}",
    ):
        assert dash.client.get(path).status_code == 404, path
    for query in ("?limit=0", "?limit=201", "?after=-2", "?after=x", "?before=-1"):
        assert dash.client.get(f"/dashboard/{SYSTEM}/runs/{dash.run_id}{query}").status_code == 422, query


def test_on_a_closed_server_public_pages_stay_open_and_internal_ones_need_a_token(dash: Dash) -> None:
    internal = [
        f"/dashboard/{SYSTEM}/accountability",
        f"/dashboard/{SYSTEM}/incidents",
        f"/dashboard/{SYSTEM}/provenance",
        f"/dashboard/{SYSTEM}/conformance",
        f"/dashboard/{SYSTEM}/runs/{dash.run_id}",
        f"/dashboard/{SYSTEM}/runs/{dash.run_id}/samples/0",
    ]
    with LiveServer(dash.ws, open_reads=False) as closed, httpx.Client(base_url=closed.url) as c:
        for path in ("/dashboard", f"/dashboard/{SYSTEM}", f"/dashboard/{SYSTEM}?lang=zh"):
            assert c.get(path).status_code == 200, path
        token = {"Authorization": f"Bearer {dash.viewer}"}
        for path in internal:
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
            assert c.get(path, headers=token).status_code == 200, path


def test_runs_recorded_before_the_index_appear_after_a_restart(workspace: Workspace) -> None:
    ids = populate(workspace)
    with workspace.db.session() as s:
        s.execute(text("DELETE FROM run_samples"))
        s.execute(text("DELETE FROM run_index"))
    with LiveServer(workspace) as again, httpx.Client(base_url=again.url) as c:
        html = c.get(f"/dashboard/{SYSTEM}").text
        # the evaluation run was recorded as evidence, so it is found again; the two copies were not
        assert f'/runs/{ids["run_id"]}"' in html and "-rt" not in html
        page = c.get(f"/dashboard/{SYSTEM}/runs/{ids['run_id']}").text
        assert len(re.findall(r'/samples/\d+">', page)) == 50
