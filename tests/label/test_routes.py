"""`assay serve` publishes each system's current label: /label/{system} (HTML, ?lang=) and
/label/{system}.json, public even on a closed server, read-only, 404 for a system without one."""

from __future__ import annotations

import httpx

from assay.label.build import build_disclosure
from assay.label.service import label_bytes, write_label
from assay.store.blobs import sha256_bytes
from tests.api.server import LiveServer

from .conftest import Project


def test_label_routes(project: Project) -> None:
    d = build_disclosure(project.ws, project.manifest, pack=None)
    d.identity.name = "Helpdesk <b>Assistant</b>"
    older = write_label(project.ws, d, project.out / "label.json")
    d.identity.version = "0.2.0"
    newest = write_label(project.ws, d, project.out / "label.json")
    assert older.sha256 != newest.sha256
    with LiveServer(project.ws, open_reads=False) as server:  # reads need a token elsewhere
        c = httpx.Client(base_url=server.url, timeout=10)
        got = c.get("/label/helpdesk.json")
        assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
        assert got.content == label_bytes(d) and sha256_bytes(got.content) == newest.sha256
        assert got.headers["x-assay-sha256"] == newest.sha256
        page = c.get("/label/helpdesk")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Helpdesk &lt;b&gt;Assistant&lt;/b&gt;" in page.text and "<b>Assistant" not in page.text
        assert "0.2.0" in page.text
        for lang in ("en", "zh", "ms", "ta"):
            r = c.get("/label/helpdesk", params={"lang": lang})
            assert r.status_code == 200 and f'lang="{lang}"' in r.text
        assert 'lang="en"' in c.get("/label/helpdesk", params={"lang": "xx"}).text
        assert 'lang="zh"' in c.get("/label/helpdesk", headers={"Accept-Language": "zh-SG"}).text
        for path in ("/label/nobody.json", "/label/nobody"):
            missing = c.get(path)
            assert (
                missing.status_code == 404
                and "no label for system" in missing.text
                and "nobody" in missing.text
            )
        assert c.post("/label/helpdesk.json").status_code == 405
        assert c.delete("/label/helpdesk").status_code == 405


def test_a_label_changed_in_the_store_is_not_published(project: Project) -> None:
    d = build_disclosure(project.ws, project.manifest, pack=None)
    first = write_label(project.ws, d, project.out / "label.json")
    d.identity.version = "0.2.0"
    second = write_label(project.ws, d, project.out / "label.json")
    blob = project.ws.blobs.path(second.sha256)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"0.2.0", b"9.9.9"))
    with LiveServer(project.ws) as server:
        got = httpx.get(f"{server.url}/label/helpdesk.json", timeout=10)
    assert got.status_code == 200 and got.headers["x-assay-sha256"] == first.sha256
