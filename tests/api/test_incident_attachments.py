"""Attachments over HTTP: added with the receipt or a triager token, refused clearly and stored never
half, downloaded only by a token, as an attachment that a browser will not sniff or render."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.incidents.intake import PublicReport, receipt_for, submit
from assay.incidents.service import get_incident
from assay.tokens import Role
from tests.api.conftest import Api

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
TEXT = b"user: what is my refund?\nbot: S$500, and here is <b>bold</b>\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
MAX = 4000  # bytes per file in these tests (ASSAY_ATTACHMENT_MAX_BYTES)


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Set before the server starts, so its body cap follows them too (3 files of 4 kB)."""
    monkeypatch.setenv("ASSAY_ATTACHMENT_MAX_BYTES", str(MAX))
    monkeypatch.setenv("ASSAY_ATTACHMENTS_PER_REPORT", "3")
    yield


def _report(api: Api) -> tuple[str, dict[str, str]]:
    body = {"system": "helpdesk", "title": "Wrong refund", "description": "It quoted S$500, not S$5."}
    ident = submit(api.ws, PublicReport.model_validate(body))[0].id
    return ident, {"X-Assay-Receipt": receipt_for(api.ws, ident)}


def _blobs(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_the_reporter_attaches_and_a_triager_downloads(small_limits: None, registered: Api) -> None:
    c = registered.client
    ident, receipt = _report(registered)
    r = c.post(
        f"/api/v1/incidents/{ident}/attachments",
        headers=receipt,
        files=[("file", ("screen shot.png", PNG, "text/html")), ("file", ("chat.txt", TEXT, "image/png"))],
    )  # the declared types are wrong on purpose: the content decides
    assert r.status_code == 201, r.text
    got = {a["filename"]: a for a in r.json()}
    assert (
        got["screen shot.png"]["media_type"] == "image/png" and got["chat.txt"]["media_type"] == "text/plain"
    )
    assert get_incident(registered.ws, ident).event_count == 2  # reported, attached: signed in the log

    listed = c.get(f"/api/v1/incidents/{ident}/attachments", headers=registered.auth(Role.triager)).json()
    assert [a["sha256"] for a in listed] == [a["sha256"] for a in r.json()]
    for a, data in ((got["screen shot.png"], PNG), (got["chat.txt"], TEXT)):
        url = f"/api/v1/incidents/{ident}/attachments/{a['sha256']}"
        down = c.get(url, headers=registered.auth(Role.triager))
        assert down.status_code == 200 and down.content == data
        assert down.headers["content-type"].split(";")[0] == a["media_type"]
        assert down.headers["x-content-type-options"] == "nosniff"
        assert down.headers["content-disposition"].startswith("attachment;")
        # the public never gets them back: not without a token, not with the receipt
        assert c.get(url).status_code == 401 and c.get(url, headers=receipt).status_code == 401
    assert (
        "filename*=UTF-8''screen%20shot.png"
        in c.get(
            f"/api/v1/incidents/{ident}/attachments/{got['screen shot.png']['sha256']}",
            headers=registered.auth(Role.admin),
        ).headers["content-disposition"]
    )


def test_bad_files_get_a_clear_4xx_and_nothing_is_stored(small_limits: None, registered: Api) -> None:
    c, ws = registered.client, registered.ws
    ident, receipt = _report(registered)
    url = f"/api/v1/incidents/{ident}/attachments"
    before = _blobs(ws.blobs.root)
    for files, status, words in (
        ([("file", ("notes.txt", PNG))], 415, "named .txt but its content is image/png"),
        ([("file", ("cat.png", HTML))], 415, "HTML/XML markup"),
        ([("file", ("ok.png", PNG)), ("file", ("page.txt", HTML))], 415, "HTML/XML markup"),  # all or none
        ([("file", ("big.png", PNG + bytes(MAX)))], 413, f"at most {MAX:,} bytes"),
        ([("file", (f"{i}.png", PNG + bytes([i]))) for i in range(4)], 422, "at most 3"),
        ([("file", ("empty.txt", b""))], 422, "empty"),
    ):
        r = c.post(url, headers=receipt, files=files)
        assert r.status_code == status and words in r.json()["detail"], (files[0][1][0], r.text)
    as_field = c.post(url, headers=receipt, data={"file": HTML.decode()}, files=[("x", ("x.txt", b"x"))])
    assert as_field.status_code == 415 and "markup" in as_field.text  # a text part is sniffed like a file
    assert c.post(url, headers=receipt, data={"file": "urlencoded"}).status_code == 415  # not multipart
    assert c.post(url, headers=receipt, content=PNG).status_code == 415  # not a form at all
    huge = c.post(url, headers=receipt, files=[("file", ("huge.png", PNG + bytes(4 * MAX + 300_000)))])
    assert huge.status_code == 413  # past the body cap: refused before it is read
    assert (
        c.post(url, headers={"X-Assay-Receipt": "x" * 32}, files=[("file", ("a.png", PNG))]).status_code
        == 404
    )
    assert _blobs(ws.blobs.root) == before
    assert get_incident(ws, ident).event_count == 1
    assert c.get(url, headers=registered.auth(Role.triager)).json() == []

    for i in range(3):  # three fit; the fourth is one too many for the report
        assert (
            c.post(url, headers=receipt, files=[("file", (f"{i}.png", PNG + bytes([i])))]).status_code == 201
        )
    full = c.post(url, headers=receipt, files=[("file", ("3.png", PNG + b"3"))])
    assert full.status_code == 409 and "at most 3" in full.json()["detail"]


def test_the_report_form_takes_attachments_all_or_nothing(small_limits: None, registered: Api) -> None:
    c = registered.client
    form = {"title": "Wrong refund", "description": "It quoted S$500, not S$5."}

    def send(files: list[tuple[str, tuple[str, bytes]]]):  # type: ignore[no-untyped-def]
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/report/helpdesk").text).group(1)  # type: ignore[union-attr]
        return c.post("/report/helpdesk", data={**form, "csrf": csrf}, files=files)

    page = c.get("/report/helpdesk")
    assert 'enctype="multipart/form-data"' in page.text and 'name="attachments"' in page.text
    assert "Up to 3 files of at most 0.004 MB each" in page.text  # the configured limits, as set
    refused = send([("attachments", ("shot.png", PNG)), ("attachments", ("cat.png", HTML))])
    assert (
        refused.status_code == 415
        and "HTML/XML markup" in refused.text
        and "<script>alert" not in refused.text
    )
    assert c.get("/api/v1/incidents", headers=registered.auth(Role.triager)).json() == []  # no report either

    sent = send([("attachments", ("shot.png", PNG)), ("attachments", ("chat.txt", TEXT))])
    assert sent.status_code == 201, sent.text
    ident = re.search(r'id="report-id">([^<]+)<', sent.text).group(1)  # type: ignore[union-attr]
    listed = c.get(f"/api/v1/incidents/{ident}/attachments", headers=registered.auth(Role.triager)).json()
    assert sorted(a["media_type"] for a in listed) == ["image/png", "text/plain"]
    assert {a["added_by"] for a in listed} == {"reporter"}
