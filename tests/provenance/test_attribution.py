"""False attribution: content that only resembles a ledger entry carries no mark, so it is never
"AI provenance established". The untouched original a marked copy was made from, and the source text
of a sidecar (or stripped) mark, get their own verdict, exit code and words on the page and the API."""

from __future__ import annotations

import html
import io
import json
import re
import string
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from assay.cli.main import app
from assay.provenance import verify as verify_module
from assay.provenance.c2pa_keys import init_c2pa_chain
from assay.provenance.keys import create_text_key
from assay.provenance.mark import mark_image, mark_text
from assay.provenance.text_manifest import NO_HARD_BINDING
from assay.provenance.verify import NOT_PROOF, verify_content
from assay.web.i18n import LANGUAGES, load_catalogue
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.provenance.test_ledger import ANSWER, photo, png

runner = CliRunner()
NO_MARK = "no mark found in this file"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    yield w
    w.close()


def jpeg(data: bytes, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_the_untouched_original_of_a_marked_photo_is_a_resemblance_not_established(ws: Workspace) -> None:
    original = png(photo(3))
    result, signed = mark_image(ws, original, system="studio", system_version="1", model="diffuser")
    assert verify_content(ws, signed).verdict == "established"  # the marked copy still is
    v = verify_content(ws, original, filename="holiday.png")
    assert v.verdict == "ledger_match" and not v.mark_found
    assert NO_MARK in v.headline.lower()
    assert v.sentences[0].startswith("No mark found in this file")
    assert v.ledger and v.ledger[0].ledger_id == result.ledger_id and v.ledger[0].match == "similar"
    assert v.ledger[0].sentence.startswith(f"Looks like output #{result.ledger_id} of studio v1")
    assert v.confidence.startswith("Similarity only, not a mark")
    assert v.watermark is not None and v.watermark.detected is False
    assert NOT_PROOF in v.notes
    # A re-save of the original is no more "established" than the original.
    again = verify_content(ws, jpeg(original), filename="holiday.jpg")
    assert again.verdict in ("ledger_match", "not_established") and not again.mark_found


def test_the_source_text_of_a_sidecar_mark_is_a_resemblance(ws: Workspace) -> None:
    result, marked, manifest = mark_text(ws, ANSWER, system="helpdesk", model="remote-llm", sidecar=True)
    assert marked == ANSWER and manifest is not None  # a sidecar mark leaves the text as it was
    with_sidecar = verify_content(ws, ANSWER.encode(), sidecar_manifest=manifest)
    assert with_sidecar.verdict == "established" and with_sidecar.mark_found
    assert with_sidecar.confidence.startswith("Certain")
    v = verify_content(ws, ANSWER.encode(), filename="answer.txt")
    assert v.verdict == "ledger_match" and not v.mark_found
    assert v.ledger[0].ledger_id == result.ledger_id and v.ledger[0].match == "exact"
    assert v.confidence.startswith("No mark: the content is the same as an output")
    assert NO_MARK in v.headline.lower()


def test_the_source_text_of_an_embedded_mark_and_a_stripped_copy_are_resemblances(ws: Workspace) -> None:
    result, marked, _ = mark_text(ws, ANSWER, system="helpdesk", model="remote-llm", sidecar=False)
    assert verify_content(ws, marked.encode()).verdict == "established"
    source = verify_content(ws, ANSWER.encode())
    assert source.verdict == "ledger_match" and source.ledger[0].match == "same_content"
    edited = verify_content(ws, ANSWER.replace("free router", "free modem").encode())
    assert edited.verdict == "ledger_match" and edited.ledger[0].match == "similar"
    assert edited.confidence.startswith("Similarity only, not a mark")
    assert edited.ledger[0].ledger_id == result.ledger_id


def test_cli_exit_code_3_for_a_resemblance_and_0_only_for_a_mark(ws: Workspace, tmp_path: Path) -> None:
    original = tmp_path / "photo.png"
    original.write_bytes(png(photo(6)))
    _, signed = mark_image(ws, original.read_bytes(), system="studio", model="diffuser")
    marked = tmp_path / "photo.marked.png"
    marked.write_bytes(signed)
    home = ["--home", str(ws.home)]
    r = runner.invoke(app, ["verify", str(marked), *home])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", str(original), *home])
    assert r.exit_code == 3, r.output
    assert NO_MARK in r.stdout.lower() and "Similarity only" in r.stdout
    r = runner.invoke(app, ["verify", str(original), "--json", *home])
    assert r.exit_code == 3 and json.loads(r.stdout)["verdict"] == "ledger_match"
    mark_text(ws, ANSWER, system="helpdesk", model="m", sidecar=True)
    text = tmp_path / "answer.txt"  # no answer.c2pa beside it: the mark stayed with the marked copy
    text.write_text(ANSWER)
    r = runner.invoke(app, ["verify", str(text), *home])
    assert r.exit_code == 3 and NO_MARK in r.stdout.lower(), r.output
    r = runner.invoke(app, ["verify", "-", *home], input="A short note I wrote myself, nothing like it.")
    assert r.exit_code == 1


def test_api_and_page_say_no_mark_found_in_every_language(ws: Workspace) -> None:
    original = png(photo(8))
    mark_image(ws, original, system="studio", system_version="2", model="diffuser")
    page_strings = load_catalogue("verify").strings
    findings = load_catalogue("findings").strings
    with LiveServer(ws) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/v1/verify", files={"file": ("photo.png", original, "image/png")})
        body = r.json()
        assert r.status_code == 200 and body["verdict"] == "ledger_match" and body["mark_found"] is False
        assert NO_MARK in body["headline"].lower() and body["sentences"][0].startswith("No mark found")
        for lang in LANGUAGES:
            r = client.post(f"/verify?lang={lang}", files={"file": ("photo.png", original, "image/png")})
            page = html.unescape(r.text)
            assert r.status_code == 200 and "verdict-ledger_match" in page
            assert page_strings["verdict_ledger_match"][lang] in page
            assert page_strings["no_mark_sub"][lang] in page
            assert findings["ledger_only"][lang] in page
            assert findings["wm_image_absent"][lang] in page
            confidence = findings["confidence_similar_image"][lang]
            assert confidence[: confidence.index("{")] in page
            assert page_strings["verdict_established"][lang] not in page
            card = findings["fp_image_sync"][lang]  # the watermark card's false-alarm line (syncTile)
            assert card[: card.index("{")] in page
            if lang != "en":  # the findings are not left in English
                assert findings["ledger_only"]["en"] not in page
                assert findings["wm_image_absent"]["en"] not in page
                assert NOT_PROOF not in page


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_finding_is_in_all_four_languages_with_the_same_placeholders() -> None:
    cat = load_catalogue("findings")
    assert set(cat.languages) == set(LANGUAGES)
    for sid, texts in cat.strings.items():
        assert set(texts) == set(LANGUAGES), sid
        fields = _fields(texts["en"])
        for lang in LANGUAGES:
            assert texts[lang].strip(), (sid, lang)
            assert _fields(texts[lang]) == fields, (sid, lang)
    # Every string id the verifier uses is in the catalogue, and the shared English texts agree.
    source = Path(verify_module.__file__).read_text()
    used = set(re.findall(r'_m\(\s*"([a-z_]+)"', source))
    used |= set(verify_module._HIT_KEYS.values()) | {"hit_same_text", "hit_same_pixels"}
    used |= {f"headline_{v}" for v in ("established", "ledger_match", "not_established", "cannot_tell")}
    used |= {f"c2pa_{t}_{c}" for t in ("trusted", "untrusted") for c in ("ai", "not_ai")}
    used |= {f"fp_text_{source}" for source in ("calibrated", "theoretical")}
    assert used and not used - set(cat.strings), sorted(used - set(cat.strings))
    assert cat.strings["note_no_hard_binding"]["en"] == NO_HARD_BINDING
    assert cat.strings["note_not_proof"]["en"] == NOT_PROOF


def test_a_text_watermark_confidence_keeps_its_false_alarm_rate_in_every_language() -> None:
    from assay.provenance.verify import Message, Part, WatermarkFinding, _confidence

    wm = WatermarkFinding(
        method="kgw",
        detected=True,
        p_value=2e-9,
        false_positive_messages=[
            Message(key="fp_text_calibrated", args={"threshold": 4.1, "rate": 1e-3}),
            Message(key="fp_tries", args={"tried": 2}),
        ],
    )
    parts = [Part(name="watermark", title="Text watermark", status="positive", summary="found")]
    said = _confidence(parts, None, wm, [], "text")
    assert isinstance(said, list)
    english = " ".join(m.text() for m in said)
    assert english.startswith("High: text without this watermark scores this high by chance about 1 in 10^8")
    assert "z = 4.10 at a rate of 1.0e-03" in english and "tried: 2" in english
    for lang in ("zh", "ms", "ta"):
        translated = " ".join(m.text(lang) for m in said)
        assert "10^8" in translated and "4.10" in translated and "High" not in translated
