"""The built-in refusal suites: harmful-refusal, over-refusal and multilingual-refusal.

They must load strictly by name, hold the promised counts, cover every NIST AI 600-1 risk area, tag
only ids that exist in the catalog, and not be phrased so that the refusal scorer mistakes a prompt
for a refusal.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from functools import cache

import pytest

from assay.catalog import load_catalog
from assay.evals.models import Completion, Expectation, Suite
from assay.evals.scorers.base import build_scorer
from assay.evals.scorers.refusal import default_detector
from assay.evals.suites import list_suites, load_suite

HARMFUL = "harmful-refusal"
OVER = "over-refusal"
MULTI = "multilingual-refusal"
SUITES = (HARMFUL, OVER, MULTI)

NIST_AREAS = {
    "cbrn",
    "confabulation",
    "dangerous-content",
    "data-privacy",
    "environmental",
    "harmful-bias",
    "human-ai-configuration",
    "information-integrity",
    "information-security",
    "intellectual-property",
    "obscene-content",
    "value-chain",
}
WEIGHTY_AREAS = ("cbrn", "dangerous-content", "information-security", "data-privacy", "information-integrity")
RISK_FRAMEWORKS = ("nist-ai-600-1", "owasp-llm-2025", "owasp-llm-2026", "mitre-atlas")

CJK = re.compile(r"[\u4e00-\u9fff]")
TAMIL = re.compile(r"[\u0b80-\u0bff]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
MALAY_WORDS = {
    "saya",
    "yang",
    "dan",
    "untuk",
    "macam",
    "mana",
    "bagaimana",
    "apa",
    "apakah",
    "nak",
    "dengan",
    "tulis",
    "pada",
    "kalau",
    "supaya",
    "boleh",
    "tidak",
    "kenapa",
    "siapakah",
    "tahun",
}


@cache
def suite(name: str) -> Suite:
    loaded, report = load_suite(name, strict=True)
    assert not report.skipped
    return loaded


@cache
def risk_ids() -> dict[str, set[str]]:
    catalog = load_catalog()
    return {fw: {entry.id for entry in catalog.framework(fw).entries} for fw in RISK_FRAMEWORKS}


@pytest.mark.parametrize("name", SUITES)
def test_suite_loads_by_name_and_is_wired_for_refusal(name: str) -> None:
    assert name in list_suites()
    s = suite(name)
    assert s.id == name
    assert s.title and s.description
    assert s.version == "1"
    assert [sc.name for sc in s.scorers] == ["refusal"]
    assert s.primary_scorer == "refusal"
    assert s.generation == {"max_tokens": 64, "temperature": 0}
    assert s.source and s.source.endswith(f"{name}/suite.yaml")


@pytest.mark.parametrize("name", SUITES)
def test_every_sample_is_complete(name: str) -> None:
    for sample in suite(name).samples:
        assert isinstance(sample.input, str) and sample.input.strip(), sample.id
        assert sample.expect is not None, sample.id
        assert sample.category, sample.id
        assert sample.risk_ids, sample.id
        assert len(set(sample.risk_ids)) == len(sample.risk_ids), sample.id


@pytest.mark.parametrize("name", SUITES)
def test_ids_and_prompts_are_unique(name: str) -> None:
    samples = suite(name).samples
    ids = [s.id for s in samples]
    assert len(ids) == len(set(ids))
    prompts = [s.prompt_text().strip().lower() for s in samples]
    assert len(prompts) == len(set(prompts))


def test_ids_are_unique_across_the_three_suites() -> None:
    ids = [s.id for name in SUITES for s in suite(name).samples]
    assert len(ids) == len(set(ids))


def test_harmful_refusal_counts_and_nist_coverage() -> None:
    samples = suite(HARMFUL).samples
    assert len(samples) >= 150
    assert all(s.expect is Expectation.refuse for s in samples)
    assert all(s.language == "en" for s in samples)
    per_area = Counter(s.category for s in samples)
    assert set(per_area) == NIST_AREAS
    assert min(per_area.values()) >= 8, per_area
    for weighty in WEIGHTY_AREAS:
        assert per_area[weighty] >= 12, weighty
    for s in samples:
        assert s.category in s.risk_ids, s.id
        assert s.id.startswith(f"hr-{s.category}-"), s.id


def test_harmful_refusal_has_singapore_context_and_jailbreak_framings() -> None:
    samples = suite(HARMFUL).samples
    sg = [s for s in samples if s.metadata.get("context") == "sg"]
    assert len(sg) >= len(samples) // 4
    framed = [s for s in samples if s.metadata.get("framing")]
    assert framed and all("AML.T0054" in s.risk_ids or "AML.T0051.000" in s.risk_ids for s in framed)


def test_over_refusal_counts_and_categories() -> None:
    samples = suite(OVER).samples
    assert len(samples) >= 100
    assert all(s.expect is Expectation.comply for s in samples)
    assert all(s.language == "en" for s in samples)
    per_category = Counter(s.category for s in samples)
    assert 8 <= len(per_category) <= 12, per_category
    assert min(per_category.values()) >= 8, per_category
    assert not set(per_category) & NIST_AREAS, "over-refusal categories are prompt types, not risk areas"
    # each safe prompt names the risk area it mirrors
    assert all(any(r in NIST_AREAS for r in s.risk_ids) for s in samples)


def test_multilingual_counts_and_balance() -> None:
    samples = suite(MULTI).samples
    assert len(samples) == 90
    per_language = Counter(s.language for s in samples)
    assert per_language == {"zh": 30, "ms": 30, "ta": 30}
    harmful_categories = {s.category for s in suite(HARMFUL).samples}
    over_categories = {s.category for s in suite(OVER).samples}
    for lang in ("zh", "ms", "ta"):
        of_lang = [s for s in samples if s.language == lang]
        refuse = [s for s in of_lang if s.expect is Expectation.refuse]
        comply = [s for s in of_lang if s.expect is Expectation.comply]
        assert len(refuse) == len(comply) == 15, lang
        for s in refuse:
            assert s.metadata.get("subset_of") == HARMFUL, s.id
            assert s.category in harmful_categories, s.id
        for s in comply:
            assert s.metadata.get("subset_of") == OVER, s.id
            assert s.category in over_categories, s.id
        # the harmful half spreads over most risk areas in every language
        assert len({s.category for s in refuse}) >= 10, lang


def test_multilingual_samples_are_written_in_their_language() -> None:
    for s in suite(MULTI).samples:
        text = s.prompt_text()
        assert s.id.startswith(f"mr-{s.language}-"), s.id
        if s.language == "zh":
            assert len(CJK.findall(text)) >= 8, s.id
            assert not TAMIL.search(text), s.id
        elif s.language == "ta":
            assert len(TAMIL.findall(text)) >= 8, s.id
            assert not CJK.search(text), s.id
        else:
            assert s.language == "ms", s.id
            assert not CJK.search(text) and not TAMIL.search(text), s.id
            words = {w.lower() for w in LATIN_WORD.findall(text)}
            assert words & MALAY_WORDS, s.id


@pytest.mark.parametrize("name", SUITES)
def test_every_risk_id_exists_in_the_catalog(name: str) -> None:
    known = risk_ids()
    every = set().union(*known.values())
    for s in suite(name).samples:
        unknown = [r for r in s.risk_ids if r not in every]
        assert not unknown, f"{s.id}: {unknown}"
        for r in s.risk_ids:
            if r.startswith("LLM"):
                assert re.fullmatch(r"LLM\d\d:20(25|26)", r), f"{s.id}: OWASP id without edition {r}"


@pytest.mark.parametrize("name", SUITES)
def test_suite_tags_exist_in_the_catalog_and_cover_the_samples(name: str) -> None:
    catalog = load_catalog()
    known = risk_ids()
    s = suite(name)
    tags = s.tags
    assert tags.controls
    for control in tags.controls:
        assert catalog.get(control) is not None, control
    assert "mgf-genai:2024:safety-alignment.refusal" in tags.controls
    assert set(tags.nist_600_1) <= known["nist-ai-600-1"]
    assert set(tags.owasp_llm) <= known["owasp-llm-2025"] | known["owasp-llm-2026"]
    assert set(tags.atlas) <= known["mitre-atlas"]
    used = {r for sample in s.samples for r in sample.risk_ids}
    assert used & known["nist-ai-600-1"] <= set(tags.nist_600_1)
    assert used & (known["owasp-llm-2025"] | known["owasp-llm-2026"]) <= set(tags.owasp_llm)
    assert used & known["mitre-atlas"] <= set(tags.atlas)


def test_harmful_suites_tag_every_nist_area() -> None:
    assert set(suite(HARMFUL).tags.nist_600_1) == NIST_AREAS
    assert set(suite(MULTI).tags.nist_600_1) == NIST_AREAS


@pytest.mark.parametrize("name", SUITES)
def test_prompts_are_not_phrased_as_refusals(name: str) -> None:
    detector = default_detector()
    flagged = {}
    for s in suite(name).samples:
        verdict = detector.detect(s.prompt_text())
        if verdict.refused:
            flagged[s.id] = verdict.matched
    assert not flagged, flagged


@pytest.mark.parametrize("name", SUITES)
def test_suite_folder_has_a_readme(name: str) -> None:
    folder = list_suites()[name].parent
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for heading in ("What it measures", "How it is scored", "Known limits"):
        assert heading in readme, heading


ALWAYS_REFUSE = "I'm sorry, but I can't help with that request."
ALWAYS_COMPLY = "Sure! Here is an overview:\n1. First, the background.\n2. Then the details."


def _pass_rate(name: str, answer: str) -> float:
    s = suite(name)
    (spec,) = s.scorers
    scorer = build_scorer(spec.name, spec.params)

    async def run() -> list[bool | None]:
        return [(await scorer.score(x, Completion(text=answer))).passed for x in s.samples]

    passed = asyncio.run(run())
    assert None not in passed
    return sum(bool(p) for p in passed) / len(passed)


@pytest.mark.parametrize(
    ("name", "refuse_rate", "comply_rate"),
    [(HARMFUL, 1.0, 0.0), (OVER, 0.0, 1.0), (MULTI, 0.5, 0.5)],
)
def test_scores_point_the_right_way_for_canned_answers(
    name: str, refuse_rate: float, comply_rate: float
) -> None:
    assert _pass_rate(name, ALWAYS_REFUSE) == refuse_rate
    assert _pass_rate(name, ALWAYS_COMPLY) == comply_rate
