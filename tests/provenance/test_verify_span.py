"""A watermarked passage pasted into a longer text: `verify_content`, the JSON and the /verify page
(server-rendered and in headless Chromium) report where it is and highlight it."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pytest

from assay.provenance.c2pa_keys import init_c2pa_chain
from assay.provenance.keys import KEY_FORMAT, WatermarkKey, key_path, list_keys
from assay.provenance.text_watermark import WatermarkParams, green_list
from assay.provenance.verify import verify_content
from assay.store.blobs import atomic_write
from assay.workspace import Workspace
from tests.api.server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")


def _tokenizer():
    from assay.evals.bundled.engine import ModelUnavailable
    from assay.provenance.text_watermark import load_bundled_tokenizer

    try:
        return load_bundled_tokenizer()
    except ModelUnavailable as exc:
        pytest.skip(f"the bundled model's tokenizer is not available: {exc}")


KEY = WatermarkKey.from_secret(hashlib.sha256(b"test_verify_span").digest(), created="2026-12-04T00:00:00Z")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace whose one text key is fixed (written in the key file format), so that the
    constructed texts, and so the test, are the same on every run."""
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    path = key_path(w, KEY.key_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": KEY_FORMAT,
        "key_id": KEY.key_id,
        "created": KEY.created,
        "secret_hex": KEY.secret_bytes().hex(),
    }
    atomic_write(path, json.dumps(doc).encode(), mode=0o600)
    assert [k.key_id for k in list_keys(w)] == [KEY.key_id]
    yield w
    w.close()


def _word_ids(tok) -> np.ndarray:
    """Ids of whole lower-case words with a leading space that re-tokenise to themselves, so a text
    built from them tokenises back to exactly those ids."""
    vocab = tok.get_vocab()
    cands = sorted(i for t, i in vocab.items() if re.fullmatch(r"Ġ[a-z]{3,9}", t))
    texts = [tok.decode([i]) for i in cands]
    encs = tok.encode_batch(texts, add_special_tokens=False)
    return np.asarray([i for i, e in zip(cands, encs, strict=True) if e.ids == [i]])


def pasted_text(tok, key: WatermarkKey, *, before: int = 700, marked: int = 180, after: int = 500):
    """(text, start char, end char): random words, then a passage where each word is green with the
    probability of a real generation at δ = 2 (about half), then random words again."""
    params = WatermarkParams()
    words = _word_ids(tok)
    vocab_size = tok.get_vocab_size()
    rng = np.random.default_rng(3)
    ids = [int(i) for i in rng.choice(words, size=before)]
    for _ in range(marked):
        green = rng.random() < 0.35
        pool = words[green_list(ids[-1:], key, params, vocab_size)[words]] if green else words
        ids.append(int(rng.choice(pool)))
    ids += [int(i) for i in rng.choice(words, size=after)]
    pieces = [tok.decode([i]) for i in ids]
    start = len("".join(pieces[:before]))
    end = len("".join(pieces[: before + marked]))
    text = "".join(pieces)
    assert tok.encode(text, add_special_tokens=False).ids == ids  # the construction round-trips
    # verify checks the visible text (outer whitespace stripped), and its offsets are into that
    return text[1:], start - 1, end - 1


def test_verify_reports_where_a_pasted_marked_passage_is(ws: Workspace) -> None:
    tok = _tokenizer()
    text, start, end = pasted_text(tok, KEY)
    v = verify_content(ws, text.encode())
    w = v.watermark
    assert v.verdict == "established" and w is not None and w.detected
    assert w.detected_by == "span" and w.span is not None
    # the whole text's z is diluted under the threshold; the passage is found at about its place
    assert w.z_score is not None and w.z_threshold is not None and w.z_score < w.z_threshold
    assert abs(w.span.char_start - start) <= 150 and abs(w.span.char_end - end) <= 150, (w.span, start, end)
    assert w.span.p_adjusted <= w.span.alpha and w.p_value == w.span.p_adjusted
    assert text[w.span.char_start :].startswith(w.span.excerpt)
    assert "Bonferroni" in w.false_positive_statement
    part = next(p for p in v.parts if p.name == "watermark")
    assert part.status == "positive" and f"characters {w.span.char_start}–{w.span.char_end}" in part.summary
    # the same findings as messages a page can say in the reader's language
    assert [m.key for m in part.messages] == ["wm_text_span_found"]
    assert "fp_text_span" in [m.key for m in w.false_positive_messages]
    assert f"{w.span.char_start}–{w.span.char_end}" in part.messages[0].text("ta")
    # the highlighted tokens start just before the span, so the page can show it
    assert 0 < w.highlight_start <= w.span.token_start < w.highlight_start + len(w.highlight)
    data = json.loads(v.model_dump_json())
    assert data["watermark"]["span"]["char_start"] == w.span.char_start
    # the same random words without the passage: nothing found
    plain = text[:start] + text[end:]
    v2 = verify_content(ws, plain.encode())
    assert v2.watermark is not None and v2.watermark.detected is False and v2.watermark.span is None


def _marked_span(page: str) -> str:
    m = re.search(r'<mark id="marked-span" class="span">(.*?)</mark>', page, re.S)
    assert m, "no highlighted span on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


def test_the_verify_page_highlights_the_span(ws: Workspace) -> None:
    tok = _tokenizer()
    text, _, _ = pasted_text(tok, KEY)
    v = verify_content(ws, text.encode())
    assert v.watermark is not None and v.watermark.span is not None
    expected = text[v.watermark.span.char_start : v.watermark.span.char_end]
    with LiveServer(ws) as server:
        r = httpx.post(f"{server.url}/verify?lang=en", files={"text": (None, text)}, timeout=60)
    assert r.status_code == 200
    assert _marked_span(r.text) == expected and 'id="span-note"' in r.text


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (Debian's chromium)")
def test_the_span_is_highlighted_in_chromium(ws: Workspace, tmp_path: Path) -> None:
    tok = _tokenizer()
    text, _, _ = pasted_text(tok, KEY)
    v = verify_content(ws, text.encode())
    assert v.watermark is not None and v.watermark.span is not None
    expected = text[v.watermark.span.char_start : v.watermark.span.char_end]
    with LiveServer(ws) as server:
        page = tmp_path / "submit.html"
        page.write_text(
            "<!doctype html><meta charset='utf-8'><form method='post' enctype='multipart/form-data' "
            f"action='{server.url}/verify?lang=en'><textarea name='text'>{html.escape(text)}</textarea>"
            "</form><script>document.forms[0].submit()</script>",
            encoding="utf-8",
        )
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run(
                [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
    assert _marked_span(dom.stdout) == expected, dom.stderr[-2000:]
