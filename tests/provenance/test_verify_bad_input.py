"""Bad input gets a clear verdict or error, never a crash: HTTP (413 before reading) and domain."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from assay.api.app import create_app
from assay.api.routers.verify import MAX_UPLOAD_BYTES
from assay.provenance.c2pa_keys import init_c2pa_chain
from assay.provenance.keys import create_text_key
from assay.provenance.mark import mark_text
from assay.provenance.verify import MAX_VERIFY_BYTES, verify_content
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.provenance.test_ledger import ANSWER, photo, png

FIFTY_MB = 50 * 1000 * 1000


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    yield w
    w.close()


def _call(app, headers: list[tuple[bytes, bytes]], chunks: list[int]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Drive the ASGI app directly: (status, how many body chunks it pulled)."""
    pulled = 0
    status = 0

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": b"x" * chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message):  # type: ignore[no-untyped-def]
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/verify",
        "raw_path": b"/api/v1/verify",
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_a_50mb_upload_is_refused_before_it_is_read(ws: Workspace) -> None:
    app = create_app(ws)
    megabyte = 1_000_000
    status, pulled = _call(
        app,
        [(b"content-length", str(FIFTY_MB).encode()), (b"content-type", b"application/octet-stream")],
        [megabyte] * 50,
    )
    assert status == 413 and pulled == 0
    # Streamed without a length: refused as soon as it passes the cap, not after 50 MB.
    status, pulled = _call(app, [(b"content-type", b"application/octet-stream")], [megabyte] * 50)
    assert status == 413 and pulled <= MAX_UPLOAD_BYTES // megabyte + 1


def test_the_upload_cap_is_larger_than_the_json_cap_but_bounded(ws: Workspace) -> None:
    from assay.api.limits import MAX_BODY_BYTES

    assert MAX_BODY_BYTES < MAX_VERIFY_BYTES <= MAX_UPLOAD_BYTES < FIFTY_MB
    v = verify_content(ws, b"a" * (MAX_VERIFY_BYTES + 1))
    assert v.bad_input and "too big" in v.bad_input


def test_bad_images_get_clear_answers(ws: Workspace) -> None:
    good = png(photo(2))
    truncated = verify_content(ws, good[: len(good) // 2], filename="t.png")
    assert truncated.bad_input and "truncated" in truncated.bad_input
    corrupt = verify_content(ws, b"\xff\xd8\xff\xe0" + b"\x13" * 500, filename="c.jpg")
    assert corrupt.bad_input and corrupt.verdict == "cannot_tell"
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, format="PNG")  # ~144 MP in a few kilobytes
    bomb = verify_content(ws, buf.getvalue(), filename="bomb.png")
    assert len(buf.getvalue()) < 100_000
    assert bomb.bad_input and "decompression bomb" in bomb.bad_input


def test_text_with_only_invisible_characters(ws: Workspace) -> None:
    v = verify_content(ws, "\u200b\u200d\ufeff\ufe0f\U000e0101 \n\t".encode())
    assert v.headline == "No visible text" and v.bad_input == "no visible text" and v.verdict == "cannot_tell"
    assert verify_content(ws, b"").bad_input == "the content is empty"


def test_api_answers_bad_input_with_4xx_or_a_verdict_never_500(ws: Workspace) -> None:
    _, marked, _ = mark_text(ws, ANSWER, system="helpdesk", model="m", sidecar=False)
    with LiveServer(ws) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/api/v1/verify", json={"text": marked})
        assert r.status_code == 200 and r.json()["verdict"] == "established"
        r = client.post("/api/v1/verify", files={"file": ("x.txt", png(photo(1)), "text/plain")})
        assert r.status_code == 200 and r.json()["content_type"] == "image" and r.json()["type_note"]
        r = client.post("/api/v1/verify", files={"file": ("x.png", png(photo(1))[:200], "image/png")})
        assert r.status_code == 200 and r.json()["bad_input"]
        r = client.post("/api/v1/verify", json={"txt": "oops"})
        assert r.status_code == 422
        r = client.post("/api/v1/verify", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        r = client.post("/api/v1/verify", files={"other": ("a", b"", "text/plain")})
        assert r.status_code == 422
        r = client.post(
            "/api/v1/verify", content=b"\x00\x01binary", headers={"content-type": "application/x"}
        )
        assert r.status_code == 200 and r.json()["bad_input"]
        assert client.get("/healthz").status_code == 200
        # Nothing kept unless asked; keep=true with an editor token records evidence.
        from assay.assurance.evidence import list_evidence
        from assay.tokens import Role, create_token

        editor = {"Authorization": f"Bearer {create_token(ws, 'keeper', Role.editor).secret}"}
        before = len(list_evidence(ws, kind="provenance.verify"))
        r = client.post("/api/v1/verify", json={"text": ANSWER, "keep": True}, headers=editor)
        assert r.json()["kept_as"] and len(list_evidence(ws, kind="provenance.verify")) == before + 1
        schema = client.get("/openapi.json").json()["paths"]["/api/v1/verify"]["post"]
        assert set(schema["requestBody"]["content"]) == {
            "multipart/form-data",
            "application/json",
            "application/octet-stream",
        }
        assert json.dumps(schema).count("413")


def test_the_api_needs_no_login_even_on_a_closed_server(ws: Workspace) -> None:
    with LiveServer(ws, open_reads=False) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/api/v1/systems").status_code == 401
        r = client.post("/api/v1/verify", json={"text": ANSWER, "keep": True})
        assert r.status_code == 200 and r.json()["kept_as"] is None
        assert any("keeping needs a token" in n for n in r.json()["notes"])
        assert client.get("/verify").status_code == 200


def test_a_sidecar_manifest_travels_over_the_api_and_the_page(ws: Workspace) -> None:
    """Text signed with a `.c2pa` sidecar: multipart `manifest`, JSON base64 `manifest`, the page form."""
    import base64

    _, text, sidecar = mark_text(ws, ANSWER, model="remote-llm", sidecar=True)
    assert sidecar is not None and text == ANSWER
    with LiveServer(ws) as server:
        url = f"{server.url}/api/v1/verify"
        alone = httpx.post(url, json={"text": text}).json()
        assert alone["credentials"]["verdict"] == "no_manifest"
        multi = httpx.post(
            url,
            files={"file": ("reply.txt", text.encode(), "text/plain"), "manifest": ("reply.c2pa", sidecar)},
        ).json()
        assert multi["credentials"]["verdict"] == "trusted"
        as_json = httpx.post(url, json={"text": text, "manifest": base64.b64encode(sidecar).decode()}).json()
        assert as_json["credentials"]["verdict"] == "trusted"
        edited = httpx.post(
            url,
            json={"text": text.replace("$49.90", "$4.99"), "manifest": base64.b64encode(sidecar).decode()},
        ).json()
        assert edited["credentials"]["verdict"] == "invalid"
        bad = httpx.post(url, json={"text": text, "manifest": "not base64!"})
        assert bad.status_code == 422 and "base64" in bad.text
        page = httpx.post(
            f"{server.url}/verify?lang=en", data={"text": text}, files={"manifest": ("reply.c2pa", sidecar)}
        )
        assert page.status_code == 200 and "a trusted signer" in page.text
        too_big = httpx.post(
            url, files={"file": ("r.txt", text.encode()), "manifest": ("m.c2pa", b"x" * (1 << 21))}
        )
        assert too_big.status_code == 400 and "1 MiB" in too_big.text
