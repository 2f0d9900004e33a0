"""The Hugging Face model card: `huggingface_hub.ModelCard` parses it (offline), its `model-index`
holds the label's results, and hostile names cannot break out of the front matter or the markdown."""

from __future__ import annotations

import re

import pytest
import yaml
from huggingface_hub import ModelCard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.label.exports import MODEL_CARD_NAME, hf_model_card, write_exports
from assay.label.exports.modelcard import _one_line
from assay.label.models import Disclosure
from tests.label_exports.conftest import helpdesk_disclosure

FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def _front(card: str) -> dict:
    match = FRONT.match(card)
    assert match, card[:200]
    return yaml.safe_load(match.group(1))


def test_model_card_parses_with_model_index_results(disclosure: Disclosure) -> None:
    text = hf_model_card(disclosure)
    card = ModelCard(text, ignore_metadata_errors=False)
    assert card.data.license == "apache-2.0"
    assert card.data.language == ["en"]
    assert "food-label" in card.data.tags
    assert card.data.model_name == "Lion City Broadband Helpdesk Assistant"
    results = {(r.dataset_type, r.metric_type): r for r in card.data.eval_results}
    assert results[("harmful-refusal", "pass_rate")].metric_value == pytest.approx(0.8667)
    assert results[("sg-factuality", "pass_rate")].dataset_name == "Singapore factuality"
    assert results[("redteam/redteam-starter", "attack_success_rate")].metric_value == pytest.approx(0.25)
    assert "95% CI 0.703–0.947" in results[("harmful-refusal", "pass_rate")].metric_name
    assert len(card.data.eval_results) == 3  # the suite with no score is not a result
    for heading in (
        "## Intended use",
        "## Data",
        "## Evaluation",
        "## Risks and limitations",
        "## User data",
    ):
        assert heading in card.text
    assert "| Harmful request refusal | bundled | 0.867 | 0.703–0.947 | 30 | B |" in card.text
    assert dict((n, c) for n, c, _ in write_exports(disclosure))[MODEL_CARD_NAME] == text.encode()


def test_a_licence_off_the_spdx_list_is_other(disclosure: Disclosure) -> None:
    disclosure.identity.components[0].licence = "SmolLM community licence v2"
    meta = _front(hf_model_card(disclosure))
    assert meta["license"] == "other" and meta["license_name"] == "smollm-community-licence-v2"


def test_undisclosed_areas_say_so(disclosure: Disclosure) -> None:
    disclosure.user_data.status = "not_disclosed"
    disclosure.user_data.practices = []
    disclosure.user_data.retention = ""
    text = hf_model_card(disclosure)
    section = text.split("## User data protection", 1)[1].split("\n## ", 1)[0]
    assert section.strip() == "Not disclosed."


HOSTILE = [
    "Evil\n---\nlicense: mit\nmodel-index: []",
    "x\r\n---\r\nlicense: mit",
    "line\u2028---\u2029license: mit\x85---",
    "&anchor *alias !!python/object:os.system ['rm'] {a: b} [c] # comment",
    "'quoted' \"double\" key: value - item ? q | > %TAG",
    "...\n--- !!binary\n...",
    "<script>alert(1)</script> [link](javascript:x) ![img](x) # Heading",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_cannot_break_the_front_matter(hostile: str) -> None:
    d = helpdesk_disclosure(name=hostile, sector=hostile)
    d.evaluation.suites[0].title = hostile
    d.evaluation.suites[0].suite_id = hostile
    d.evaluation.suites[0].target = hostile
    d.identity.components[0].name = hostile
    d.risks.known_limitations = [hostile, "- a nested list", "1. an ordered one", "> a quote"]
    d.intended_use.languages = ["en", hostile]
    text = hf_model_card(d)
    card = ModelCard(text, ignore_metadata_errors=False)
    assert card.data.license == "apache-2.0"  # no injected licence
    meta = _front(text)
    assert set(meta) == {"license", "language", "tags", "pipeline_tag", "model_name", "model-index"}
    assert meta["language"] == ["en"]  # not a language code: left out
    one_line = " ".join(hostile.replace("\u2028", " ").replace("\u2029", " ").replace("\x85", " ").split())
    assert meta["model_name"] == one_line
    assert card.data.eval_results[0].dataset_name == one_line
    assert len(card.data.eval_results) == 3
    # the front matter ends at the first delimiter line, and the body never has another one
    lines = text.splitlines()
    assert [i for i, line in enumerate(lines) if line.strip() == "---"] == [0, lines.index("---", 1)]
    body = text.split("\n---\n", 1)[1]
    assert "<script>" not in body and "\n# Heading" not in body
    assert not re.search(r"^\s*(?:---|\.\.\.)\s*$", body, re.M)
    assert "- \\- a nested list" in body and "- 1\\. an ordered one" in body and "- \\> a quote" in body
    assert not any(re.match(r"- (?:[-+>]|\d+\.) ", line) for line in body.splitlines())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=80))
def test_any_text_in_a_name_stays_one_value(text: str) -> None:
    d = helpdesk_disclosure(name=text)
    d.evaluation.suites[0].title = text
    d.evaluation.suites[1].suite_id = text
    d.evaluation.suites[1].title = ""
    d.risks.known_limitations = [text]
    card_text = hf_model_card(d)
    card = ModelCard(card_text, ignore_metadata_errors=False)
    meta = _front(card_text)
    assert set(meta) == {"license", "language", "tags", "pipeline_tag", "model_name", "model-index"}
    assert card.data.license == "apache-2.0"
    expected = _one_line(text, 200)
    assert meta["model_name"] == (expected or "helpdesk")
    assert card.data.eval_results[0].dataset_name == (expected or "harmful-refusal")
    assert len(card.data.eval_results) == 3
    second = card.data.eval_results[1]
    assert second.dataset_type == second.dataset_name == (_one_line(text, 120) or "suite")
