"""The HTML label and the badge, without a browser: every language, every area, hostile values escaped."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest

from assay.label.models import Disclosure
from assay.label.render import BADGE_COLOURS, render_badge_svg, render_html, worst_grade
from assay.web.i18n import LANGUAGES, load_catalogue
from tests.label_render.conftest import CHAIN_HEAD, complete_data, sparse_data

AREAS = ("data", "infrastructure", "evaluation", "mitigations", "risks", "intended_use", "user_data",
         "provenance", "accountability", "reporting")  # fmt: skip
SVG = "{http://www.w3.org/2000/svg}"


def _text(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, the inline stylesheet removed."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_shows_its_own_strings_and_the_label_s_values(complete: Disclosure, lang: str) -> None:
    t = load_catalogue("label").for_language(lang)
    page = render_html(complete, lang)
    assert f'<html lang="{lang}">' in page
    text = _text(page)
    statuses = ("green", "amber", "red", "inconclusive", "not_measured")
    for key in ("doc_title", "grades", "completeness", "declared_training", "this_assessment",
                "languages_tested", "how_to_verify", "incident_contact", *(f"area_{a}" for a in AREAS),
                *(f"status_{s}" for s in statuses)):  # fmt: skip
        assert t[key] in text, (lang, key)
    if lang != "en":  # translated, not English left behind
        en = load_catalogue("label").for_language("en")
        assert en["declared_training"] not in text and en["completeness"] not in text
    # each grade names pack@version and its rule, and shows the value and its interval
    for g in complete.grades:
        assert f"{g.pack_id}@{g.pack_version} · {g.rule_id}" in text
    assert "0.972" in text and "[0.951–0.985]" in text and t["samples"].format(n=400) in text
    assert "[0.16–0.27]" in text  # the red-team rule's interval
    # the assessment's footprint beside the developer's declared training
    assert "412 MWh" in text and "21.3 Wh" in text and "168 t" in text and "8.69 g" in text
    assert "3.1e22 FLOP" in text and "codecarbon offline, TDP × CPU time" in text
    # languages tested with their results, named in their own script
    assert "தமிழ்" in text and "0.86" in text and "Bahasa Melayu" in text
    assert "kgw-watermark" in text and "assay verify FILE" in text
    assert 'href="mailto:incidents@acme.example"' in page and 'href="https://acme.example/ai-report"' in page
    assert "100%" in text and t["not_disclosed"] not in text
    assert CHAIN_HEAD in text and t["evidence_count"].format(n=5) in text


def test_the_page_stands_alone_with_no_script_and_headed_tables(complete: Disclosure) -> None:
    page = render_html(complete)
    assert "<script" not in page.lower() and "<link" not in page and " src=" not in page
    assert "@import" not in page and "url(" not in page
    assert "@media print" in page and "size: A4" in page
    assert page.count("<h1") == 1 and page.count("<h2") >= 12
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert "focus-visible" in page
    # status never by colour alone: every chip carries an icon and a word
    for status, icon in (("green", "✓"), ("red", "✗"), ("inconclusive", "?")):
        chip = rf'chip-{status}"><span class="icon" aria-hidden="true">{re.escape(icon)}</span>\w'
        assert re.search(chip, page), status


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_area_not_disclosed_says_so(sparse: Disclosure, lang: str) -> None:
    t = load_catalogue("label").for_language(lang)
    page = render_html(sparse, lang)
    hidden = [a for a in AREAS if getattr(sparse, a).status == "not_disclosed"]
    assert len(hidden) == 7
    for area in AREAS:
        heading = re.search(rf'<div class="area-head"><h2 id="area-{area}">.*?</div>', page)
        assert heading, area
        said = '<span class="nd">' in heading.group(0)
        assert said == (area in hidden), area
    assert page.count('<span class="nd">') == len(hidden)
    text = _text(page)
    assert "40%" in text  # 4 of 10 required areas disclosed
    assert t["completeness_detail"].format(disclosed=4, required=10) in text
    assert t["missing_areas"] in text and t["area_user_data"] in text
    # nothing is silently blank: no declared training and no measured footprint say so
    assert text.count(t["not_declared"]) == 5 and text.count(t["not_measured_here"]) == 5
    assert t["no_languages"] in text and t["risk_tier_none"] in text
    assert t["illustrative"] not in text


def test_hostile_values_are_escaped_and_never_linked() -> None:
    data = complete_data()
    data["identity"]["name"] = "<script>alert('x')</script>Bot"
    data["identity"]["description"] = '"><img src=x onerror=alert(1)>'
    data["reporting"]["report_url"] = "javascript:alert(document.cookie)"
    data["reporting"]["incident_contact"] = 'a@b.example"><svg onload=alert(1)>'
    data["grades"][0]["reason"] = "</style><script>bad()</script>"
    data["risks"]["known_limitations"] = ["{{ 7*7 }} & <b>bold</b>"]
    data["evaluation"]["languages"][1]["language"] = 'zh" onmouseover="x'
    data["intended_use"]["languages"] = ["zh-Hans", "not a tag"]
    d = Disclosure.model_validate(data)
    for lang in LANGUAGES:
        page = render_html(d, lang)
        assert "<script" not in page.lower() and "<img" not in page and "<svg" not in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page  # shown as text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;Bot" in page
        assert 'href="javascript' not in page and "javascript:alert(document.cookie)" in page
        assert "{{ 7*7 }} &amp; &lt;b&gt;bold&lt;/b&gt;" in page  # not evaluated
        assert "onmouseover" not in page.replace("zh&#34; onmouseover=&#34;x", "")  # only as text
        assert '<span lang="zh-Hans">zh-Hans</span>' in page and "<span>not a tag</span>" in page
        badge = render_badge_svg(d, lang)
        ET.fromstring(badge)  # still well-formed XML
        assert "<script" not in badge


def test_an_unknown_language_is_refused(complete: Disclosure) -> None:
    with pytest.raises(ValueError, match="unknown language 'fr': expected one of en, zh, ms, ta"):
        render_html(complete, "fr")
    with pytest.raises(ValueError, match="unknown language"):
        render_badge_svg(complete, "xx")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_badge_names_completeness_and_the_worst_grade(complete: Disclosure, lang: str) -> None:
    t = load_catalogue("label").for_language(lang)
    svg = render_badge_svg(complete, lang)
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "badge-title"
    title = root.find(f"{SVG}title")
    assert title is not None and title.get("id") == "badge-title"
    assert "Helpdesk assistant" in title.text and "100%" in title.text and t["status_red"] in title.text
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert texts == [t["badge_label"], f"100% · ✗ {t['status_red']}"]  # icon and word, not colour alone
    fills = [el.get("fill") for el in root.iter(f"{SVG}rect")]
    assert BADGE_COLOURS["red"] in fills
    assert int(root.get("width")) == sum(int(r.get("width")) for r in list(root.iter(f"{SVG}rect"))[1:])


def test_the_badge_follows_the_worst_grade_and_says_when_nothing_is_graded() -> None:
    data = complete_data()
    assert worst_grade(Disclosure.model_validate(data)) == "red"
    data["grades"] = [g for g in data["grades"] if g["status"] != "red"]
    assert worst_grade(Disclosure.model_validate(data)) == "amber"
    data["grades"] = [g for g in data["grades"] if g["status"] in ("green", "not_measured")]
    d = Disclosure.model_validate(data)
    assert worst_grade(d) == "not_measured"
    assert f'fill="{BADGE_COLOURS["not_measured"]}"' in render_badge_svg(d)
    data["grades"] = []
    data["completeness"]["score"] = 0.35
    d = Disclosure.model_validate(data)
    svg = render_badge_svg(d, "ms")
    assert worst_grade(d) is None and "35% · tidak digred" in svg


def test_a_label_without_a_policy_pack_says_nothing_is_graded() -> None:
    data = sparse_data()
    data["policy"] = None
    data["grades"] = []
    page = render_html(Disclosure.model_validate(data), "zh")
    t = load_catalogue("label").for_language("zh")
    assert t["no_policy"] in page and t["no_grades"] in page and '<table class="grades">' not in page


def _contrast(fg: str, bg: str) -> float:
    def lum(hexcolour: str) -> float:
        rgb = [int(hexcolour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_badge_text_has_at_least_aa_contrast() -> None:
    """axe checks the HTML in the browser; the badge's white text is checked here."""
    for status, colour in BADGE_COLOURS.items():
        assert _contrast("#ffffff", colour) >= 4.5, status
    assert _contrast("#ffffff", "#333333") >= 4.5
    assert _contrast("#ffffff", "#ffff00") < 4.5  # the check can fail


def test_a_label_with_nothing_disclosed_renders_and_says_so_everywhere() -> None:
    """The least a label can hold: identity only, every area not disclosed, no pack, no evidence."""
    nothing = {"status": "not_disclosed"}
    d = Disclosure.model_validate(
        {
            "generated_at": "2026-12-04T00:00:00Z",
            "assay_version": "0.1.0",
            "identity": {
                "system_id": "x",
                "name": "X",
                "version": "0",
                "sector": "other",
                "model_type": "llm",
            },
            **{area: nothing for area in AREAS},
            "completeness": {"score": 0.0, "required": list(AREAS), "missing": list(AREAS)},
        }
    )
    for lang in LANGUAGES:
        t = load_catalogue("label").for_language(lang)
        page = render_html(d, lang)
        assert page.count('<span class="nd">') == len(AREAS) + 1  # identity too
        text = _text(page)
        assert "0%" in text and t["no_policy"] in text and t["evidence_count"].format(n=0) in text
        assert t["completeness_detail"].format(disclosed=0, required=len(AREAS)) in text
        assert "0% · " in render_badge_svg(d, lang)
