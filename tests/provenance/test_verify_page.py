"""The public /verify page: four languages from validated data, no login, and an end-to-end run in
headless Chromium (form POST -> server-rendered result) with a screenshot check of the verdict banner."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from PIL import Image

from assay.provenance.c2pa_keys import init_c2pa_chain
from assay.provenance.keys import create_text_key
from assay.provenance.mark import mark_text
from assay.web.i18n import LANGUAGES, Catalogue, load_catalogue
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.conftest import CHROMIUM
from tests.provenance.test_ledger import ANSWER

ESTABLISHED_RGB = (0x0B, 0x7A, 0x3E)  # .verdict-established in verify.css
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    yield w
    w.close()


@pytest.mark.parametrize("name", ["verify", "findings"])
def test_every_string_is_in_all_four_languages(name: str) -> None:
    cat = load_catalogue(name)  # the page's own strings, and the findings, confidence and notes
    assert set(cat.languages) == set(LANGUAGES) == {"en", "zh", "ms", "ta"}
    for sid, texts in cat.strings.items():
        assert set(texts) == set(LANGUAGES), sid
        assert all(t.strip() for t in texts.values()), sid
    with pytest.raises(ValueError, match="has no ta text"):
        Catalogue.model_validate(
            {"languages": cat.languages, "strings": {"x": {"en": "a", "zh": "b", "ms": "c"}}}
        )


def test_the_page_in_each_language_needs_no_login_and_no_external_assets(ws: Workspace) -> None:
    cat = load_catalogue("verify")
    with LiveServer(ws, open_reads=False) as server, httpx.Client(base_url=server.url) as client:
        for lang in LANGUAGES:
            r = client.get(f"/verify?lang={lang}")
            assert r.status_code == 200
            page = html.unescape(r.text)
            assert cat.strings["title"][lang] in page and cat.strings["submit"][lang] in page
            assert f'lang="{lang}"' in page
            assert "http://" not in page.replace(server.url, "") and "https://" not in page
        assert client.get("/static/verify.css").status_code == 200
        r = client.get("/verify", headers={"accept-language": "ta-IN,ta;q=0.9"})
        assert cat.strings["title"]["ta"] in html.unescape(r.text)
        r = client.post("/verify?lang=ms", data={"text": ""})
        assert r.status_code == 422 and cat.strings["nothing_given"]["ms"] in html.unescape(r.text)
        _, marked, _ = mark_text(
            ws, ANSWER, system="helpdesk", system_version="0.1.0", model="remote-llm", sidecar=False
        )
        r = client.post("/verify?lang=zh", files={"text": (None, marked)})
        page = html.unescape(r.text)
        assert r.status_code == 200 and cat.strings["verdict_established"]["zh"] in page
        assert "remote-llm" in page and cat.strings["signer_trusted"]["zh"] in page
        assert cat.strings["not_kept"]["zh"] in page


def _chromium(args: list[str], profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=8000", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_end_to_end_in_headless_chromium(ws: Workspace, tmp_path: Path, chromium: Path) -> None:
    # two lines: the browser submits a textarea with CRLF line ends, which must not break the
    # C2PA data hash over the LF text that was signed
    text = ANSWER + "\nAsk me anything else about your plan."
    _, marked, _ = mark_text(
        ws, text, system="helpdesk", system_version="0.1.0", model="remote-llm", sidecar=False
    )
    with LiveServer(ws) as server:
        # A page that fills in the real form's field and submits it, as a person would.
        form = httpx.get(f"{server.url}/verify?lang=en").text
        assert 'name="text"' in form
        start = tmp_path / "submit.html"
        start.write_text(
            "<!doctype html><meta charset='utf-8'><form method='post' enctype='multipart/form-data' "
            f"action='{server.url}/verify?lang=en'>"
            f"<textarea name='text'>{html.escape(marked)}</textarea></form>"
            "<script>document.forms[0].submit()</script>",
            encoding="utf-8",
        )
        with tempfile.TemporaryDirectory() as profile:
            dom = _chromium(["--dump-dom", start.as_uri()], profile)
        assert 'id="verdict"' in dom.stdout, dom.stderr[-2000:]
        assert "AI provenance established" in dom.stdout
        assert "verdict-established" in dom.stdout
        assert "a trusted signer" in dom.stdout, (
            "the embedded C2PA manifest did not verify in the browser path"
        )
        shot = tmp_path / "result.png"
        with tempfile.TemporaryDirectory() as profile:
            run = _chromium([f"--screenshot={shot}", "--window-size=1000,800", start.as_uri()], profile)
        assert shot.exists(), run.stderr[-2000:]
        pixels = Image.open(shot).convert("RGB")
        colours = {c for _, c in pixels.getcolors(maxcolors=1 << 20) or []}
        near = [c for c in colours if all(abs(a - b) <= 3 for a, b in zip(c, ESTABLISHED_RGB, strict=True))]
        assert near, "the green 'established' verdict banner is not visible in the screenshot"
        count = sum(n for n, c in pixels.getcolors(maxcolors=1 << 20) if c in near)
        assert count > 5000  # a banner, not a stray pixel
    assert shutil.which(str(CHROMIUM))


LEDGER_MATCH_RGB = (0x6B, 0x52, 0x00)  # .verdict-ledger_match in verify.css


@pytest.mark.slow
def test_a_resemblance_in_headless_chromium_in_tamil(ws: Workspace, tmp_path: Path, chromium: Path) -> None:
    """The source text of a sidecar mark, pasted into the Tamil page: the browser shows the resemblance
    verdict (not the green 'established' one) and the findings in Tamil, not English."""
    mark_text(ws, ANSWER, system="helpdesk", system_version="0.1.0", model="remote-llm", sidecar=True)
    page, findings = load_catalogue("verify").strings, load_catalogue("findings").strings
    with LiveServer(ws) as server:
        start = tmp_path / "submit.html"
        start.write_text(
            "<!doctype html><meta charset='utf-8'><form method='post' enctype='multipart/form-data' "
            f"action='{server.url}/verify?lang=ta'>"
            f"<textarea name='text'>{html.escape(ANSWER)}</textarea></form>"
            "<script>document.forms[0].submit()</script>",
            encoding="utf-8",
        )
        with tempfile.TemporaryDirectory() as profile:
            dom = html.unescape(_chromium(["--dump-dom", start.as_uri()], profile).stdout)
        assert "verdict-ledger_match" in dom and "verdict-established" not in dom
        assert page["verdict_ledger_match"]["ta"] in dom and page["no_mark_sub"]["ta"] in dom
        assert findings["ledger_only"]["ta"] in dom and findings["confidence_ledger_exact"]["ta"] in dom
        assert (
            findings["ledger_only"]["en"] not in dom and findings["confidence_ledger_exact"]["en"] not in dom
        )
        shot = tmp_path / "result.png"
        with tempfile.TemporaryDirectory() as profile:
            _chromium([f"--screenshot={shot}", "--window-size=1000,800", start.as_uri()], profile)
        counts = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20) or []
        banner = sum(
            n for n, c in counts if all(abs(a - b) <= 3 for a, b in zip(c, LEDGER_MATCH_RGB, strict=True))
        )
        green = sum(
            n for n, c in counts if all(abs(a - b) <= 3 for a, b in zip(c, ESTABLISHED_RGB, strict=True))
        )
        assert banner > 5000 and green == 0
