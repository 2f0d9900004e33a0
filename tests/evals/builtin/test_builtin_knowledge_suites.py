"""The built-in knowledge suites (sg-factuality, bias-pairs) and the pair-consistency metric."""

from __future__ import annotations

import asyncio
import re
import string
from collections import Counter, defaultdict
from typing import Any

import pytest

from assay.catalog import load_catalog
from assay.evals.metrics import pair_consistency, suite_metrics, wilson_interval
from assay.evals.models import Completion, Message, SampleRecord, Score, Suite
from assay.evals.scorers.base import build_scorer
from assay.evals.scorers.match import correct_choice, parse_choice
from assay.evals.suites import load_suite, render_messages

CBD = "Cannot be determined"
ATTRIBUTES = {
    "gender",
    "race_ethnicity",
    "religion",
    "age",
    "disability",
    "nationality",
    "sexual_orientation",
    "socioeconomic_status",
}
LETTERS = string.ascii_uppercase


@pytest.fixture(scope="module")
def factuality() -> Suite:
    suite, report = load_suite("sg-factuality", strict=True)
    assert not report.skipped
    return suite


@pytest.fixture(scope="module")
def bias() -> Suite:
    suite, report = load_suite("bias-pairs", strict=True)
    assert not report.skipped
    return suite


@pytest.fixture(scope="module", params=["sg-factuality", "bias-pairs"])
def any_suite(request: pytest.FixtureRequest) -> Suite:
    return load_suite(request.param, strict=True)[0]


# ------------------------------------------------------------------------------------ both suites


def test_suite_header(any_suite: Suite) -> None:
    s = any_suite
    assert s.source and s.source.endswith(f"{s.id}/suite.yaml")
    assert s.title and s.description and s.version == "1"
    assert [sc.name for sc in s.scorers] == ["multiple_choice"] and s.primary_scorer == "multiple_choice"
    assert s.generation == {"max_tokens": 48, "temperature": 0}
    assert s.template and "choices" in s.template


def test_tags_and_risk_ids_exist_in_catalog(any_suite: Suite) -> None:
    catalog = load_catalog()
    for control in any_suite.tags.controls:
        assert catalog.get(control) is not None, control
    nist = catalog.framework("nist-ai-600-1")
    owasp = catalog.framework("owasp-llm-2025")
    atlas = catalog.framework("mitre-atlas")
    assert any_suite.tags.nist_600_1 and all(nist.entry(i) for i in any_suite.tags.nist_600_1)
    assert any_suite.tags.owasp_llm and all(owasp.entry(i) for i in any_suite.tags.owasp_llm)
    assert any_suite.tags.atlas and all(atlas.entry(i) for i in any_suite.tags.atlas)
    for sample in any_suite.samples:
        assert sample.risk_ids, sample.id
        for rid in sample.risk_ids:
            assert nist.entry(rid) or owasp.entry(rid) or atlas.entry(rid), (sample.id, rid)
        # every sample probes at least one NIST risk the suite is tagged with
        assert set(sample.risk_ids) & set(any_suite.tags.nist_600_1), sample.id


def test_samples_are_well_formed(any_suite: Suite) -> None:
    ids = [s.id for s in any_suite.samples]
    assert len(ids) == len(set(ids))
    for s in any_suite.samples:
        assert isinstance(s.input, str) and s.input.strip().endswith("?"), s.id
        assert s.category and s.language == "en", s.id
        assert s.choices and isinstance(s.target, str), s.id
        folded = [c.casefold().strip() for c in s.choices]
        assert len(set(folded)) == len(folded), s.id
        assert s.target in s.choices, s.id


def test_template_letters_the_options(any_suite: Suite) -> None:
    for sample in any_suite.samples[:5]:
        text = render_messages(any_suite, sample)[-1].content
        assert text.startswith(sample.prompt_text())
        for i, choice in enumerate(sample.choices or []):
            assert f"{LETTERS[i]}. {choice}" in text
        assert "letter" in text


def _score(sample: Any, answer: str) -> Score:
    scorer = build_scorer("multiple_choice")
    return asyncio.run(scorer.score(sample, Completion(text=answer)))


def test_every_sample_is_scorable(any_suite: Suite) -> None:
    """The scorer finds the target among the options, credits it and refuses every other option."""
    for sample in any_suite.samples:
        choices = sample.choices or []
        right = correct_choice(sample)
        assert right is not None and choices[right] == sample.target, sample.id
        # the option text alone is read back as that option (no option hides inside another)
        for i, choice in enumerate(choices):
            assert parse_choice(choice, choices) == i, (sample.id, choice)
        good = _score(sample, LETTERS[right])
        assert good.passed is True and good.error is None and good.label == LETTERS[right], sample.id
        assert _score(sample, f"Answer: {sample.target}").passed is True, sample.id
        for i in range(len(choices)):
            if i != right:
                bad = _score(sample, f"{LETTERS[i]}. {choices[i]}")
                assert bad.passed is False and bad.error is None and bad.label == LETTERS[i], sample.id


# ------------------------------------------------------------------------------------ sg-factuality


def test_factuality_counts_and_balance(factuality: Suite) -> None:
    samples = factuality.samples
    assert len(samples) >= 100
    cats = Counter(s.category for s in samples)
    assert set(cats) >= {"geography", "history", "government", "culture", "transport", "economy"}
    assert min(cats.values()) >= 5
    for s in samples:
        assert len(s.choices or []) == 4, s.id
        assert {"information-integrity", "confabulation", "LLM09:2025"} <= set(s.risk_ids), s.id
    # the right answer is not always in the same place
    positions = Counter(correct_choice(s) for s in samples)
    assert set(positions) == {0, 1, 2, 3}
    assert max(positions.values()) <= 0.3 * len(samples)
    questions = [s.input for s in samples]
    assert len(set(questions)) == len(questions)


def test_factuality_spot_checks(factuality: Suite) -> None:
    by_question = {s.prompt_text(): s.target for s in factuality.samples}

    def answer(fragment: str) -> str:
        hits = [t for q, t in by_question.items() if fragment in q]
        assert len(hits) == 1, fragment
        return str(hits[0])

    assert answer("independent country after leaving Malaysia") == "9 August 1965"
    assert answer("national flower") == "Vanda Miss Joaquim"
    assert answer("title of Singapore's national anthem") == "Majulah Singapura"
    assert answer("ISO code") == "SGD"
    assert answer("North South MRT Line") == "Red"


# ------------------------------------------------------------------------------------ bias-pairs

_TOKEN = re.compile(r"[\w'-]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _pairs(suite: Suite) -> dict[str, dict[str, Any]]:
    pairs: dict[str, dict[str, Any]] = defaultdict(dict)
    for s in suite.samples:
        pairs[s.metadata["pair"]][s.metadata["variant"]] = s
    return pairs


def test_bias_counts_and_metadata(bias: Suite) -> None:
    pairs = _pairs(bias)
    complete = {p: v for p, v in pairs.items() if set(v) == {"a", "b"}}
    assert len(complete) == len(pairs) >= 60
    assert len(bias.samples) == 2 * len(pairs)
    per_attribute = Counter(v["a"].metadata["attribute"] for v in complete.values())
    assert set(per_attribute) == ATTRIBUTES
    assert min(per_attribute.values()) >= 5
    for s in bias.samples:
        assert s.category == s.metadata["attribute"], s.id
        assert s.id == f"{s.metadata['pair']}-{s.metadata['variant']}"
        assert s.target == CBD and s.choices is not None and s.choices[-1] == CBD and len(s.choices) == 3
        assert {"harmful-bias"} <= set(s.risk_ids), s.id
    # the race/ethnicity pairs cover Singapore's CMIO groups
    race_terms = {
        t
        for v in complete.values()
        if v["a"].metadata["attribute"] == "race_ethnicity"
        for t in v["a"].metadata["terms"]
    }
    assert {"Chinese", "Malay", "Indian", "Eurasian"} <= race_terms


def _abstract(text: str, first: str, second: str) -> str:
    """The text with the attribute terms as {X} (first) and {Y}, and a/an before them as {ART}."""
    terms = sorted([first, second], key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b")
    out = pattern.sub(lambda m: "{X}" if m.group(1) == first else "{Y}", text)
    return re.sub(r"\b(?:[Aa]n?) (?=\{[XY]\})", "{ART} ", out)


def test_bias_pairs_differ_only_in_the_attribute(bias: Suite) -> None:
    for pair, v in _pairs(bias).items():
        a, b = v["a"], v["b"]
        t1, t2 = a.metadata["terms"]
        assert b.metadata["terms"] == [t2, t1] and t1 != t2, pair
        assert a.metadata["attribute"] == b.metadata["attribute"], pair
        assert a.prompt_text() != b.prompt_text(), pair
        # with the attribute terms abstracted away (first-mentioned = X), the two prompts are identical
        abstract_a = _abstract(a.prompt_text(), t1, t2)
        abstract_b = _abstract(b.prompt_text(), t2, t1)
        assert abstract_a == abstract_b, pair
        assert abstract_a.index("{X}") < abstract_a.index("{Y}"), pair
        assert t1 not in abstract_a and t2 not in abstract_a.replace("{Y}", ""), pair
        # options follow the order of mention, so the same letter means the same role in the story
        assert a.choices is not None and b.choices is not None
        assert [_abstract(c, t1, t2) for c in a.choices] == [_abstract(c, t2, t1) for c in b.choices], pair
        assert b.choices == [a.choices[1], a.choices[0], a.choices[2]], pair
        assert t1 in a.choices[0] and t2 in a.choices[1], pair
        # and no word outside the attribute terms and their articles appears in only one of the two
        allowed = set(_tokens(t1)) | set(_tokens(t2)) | {"a", "an"}
        only_one = set(_tokens(a.prompt_text())) ^ set(_tokens(b.prompt_text()))
        assert only_one <= allowed, (pair, only_one - allowed)


def test_bias_prompts_are_distinct_across_pairs(bias: Suite) -> None:
    firsts = [v["a"].prompt_text() for v in _pairs(bias).values()]
    assert len(set(firsts)) == len(firsts)


# ------------------------------------------------------------------------------------ pair consistency


def _record(sample_id: str, label: str | None, passed: bool | None, **kw: Any) -> SampleRecord:
    score = Score(
        scorer="multiple_choice", value=None if passed is None else float(passed), passed=passed, label=label
    )
    base: dict[str, Any] = {
        "run_id": "r",
        "sample_id": sample_id,
        "input": [Message(role="user", content="q")],
        "output": label or "",
        "scores": [score],
    }
    base.update(kw)
    return SampleRecord(**base)


def _records_for(bias: Suite, answer: dict[str, str]) -> list[SampleRecord]:
    """Score real samples with the real scorer: `answer` maps sample id to the model's answer text."""
    recs = []
    scorer = build_scorer("multiple_choice")
    for s in bias.samples:
        if s.id in answer:
            sc = asyncio.run(scorer.score(s, Completion(text=answer[s.id])))
            recs.append(
                SampleRecord(
                    run_id="r",
                    sample_id=s.id,
                    input=[Message(role="user", content=s.prompt_text())],
                    output=answer[s.id],
                    scores=[sc],
                    category=s.category,
                )
            )
    return recs


def test_pair_consistency_on_real_pairs(bias: Suite) -> None:
    pairs = _pairs(bias)
    gender = [p for p, v in pairs.items() if v["a"].metadata["attribute"] == "gender"][:3]
    age = [p for p, v in pairs.items() if v["a"].metadata["attribute"] == "age"][:2]
    answers: dict[str, str] = {}
    # gender 1: "Cannot be determined" both times -> consistent, both passed
    answers[f"{gender[0]}-a"] = answers[f"{gender[0]}-b"] = "C"
    # gender 2: the stereotype follows the attribute -> A in one variant, B in the other: inconsistent
    g2 = pairs[gender[1]]
    answers[f"{gender[1]}-a"] = str(g2["a"].choices[0])
    answers[f"{gender[1]}-b"] = str(g2["b"].choices[1])
    # gender 3: always the first person mentioned -> consistent (position, not attribute), both failed
    answers[f"{gender[2]}-a"] = answers[f"{gender[2]}-b"] = "A"
    # age 1: consistent; age 2: only variant a answered -> incomplete
    answers[f"{age[0]}-a"] = answers[f"{age[0]}-b"] = "Answer: C"
    answers[f"{age[1]}-a"] = "B"
    rows = pair_consistency(bias, _records_for(bias, answers))

    overall = next(r for r in rows if r.group == "overall")
    assert (overall.scorer, overall.key) == ("multiple_choice", "*")
    assert (overall.pairs, overall.consistent, overall.both_passed, overall.incomplete) == (4, 3, 2, 1)
    assert overall.rate == pytest.approx(0.75)
    assert (overall.ci_low, overall.ci_high) == pytest.approx(wilson_interval(3, 4))
    by_key = {r.key: r for r in rows if r.group == "attribute"}
    assert set(by_key) == {"gender", "age"}
    assert (by_key["gender"].pairs, by_key["gender"].consistent, by_key["gender"].both_passed) == (3, 2, 1)
    assert (by_key["age"].pairs, by_key["age"].consistent, by_key["age"].incomplete) == (1, 1, 1)
    assert [r.group for r in rows] == ["overall", "attribute", "attribute"]
    assert [r.key for r in rows] == ["*", "age", "gender"]


def _mini_suite() -> Suite:
    samples = []
    for pair, attribute in (("p1", "religion"), ("p2", "religion"), ("p3", "age")):
        for variant in "ab":
            samples.append(
                {
                    "id": f"{pair}{variant}",
                    "input": "Who?",
                    "choices": ["x", "y", CBD],
                    "target": CBD,
                    "category": attribute,
                    "metadata": {"pair": pair, "attribute": attribute, "variant": variant},
                }
            )
    samples.append({"id": "solo", "input": "Who?", "choices": ["x", "y"], "target": "x"})
    return Suite.model_validate({"id": "mini", "scorers": [{"name": "multiple_choice"}], "samples": samples})


def test_pair_consistency_errors_epochs_and_labels() -> None:
    suite = _mini_suite()
    recs = [
        _record("p1a", "A", False),
        _record("p1b", "B", False),  # inconsistent
        _record("p2a", "C", True),
        _record("p2b", "C", True),  # consistent
        _record("p3a", "C", True),
        _record("p3b", "C", True, error="timeout"),  # target error -> incomplete
        _record("solo", "A", True),  # not paired: ignored
        # epoch 1 of p1: now consistent; logged twice, the last record counts
        _record("p1a", "A", False, epoch=1),
        _record("p1b", "B", False, epoch=1),
        _record("p1b", "A", False, epoch=1),
    ]
    rows = pair_consistency(suite, recs)
    overall = next(r for r in rows if r.key == "*")
    assert (overall.pairs, overall.consistent, overall.incomplete) == (3, 2, 1)
    religion = next(r for r in rows if r.key == "religion")
    assert (religion.pairs, religion.consistent, religion.both_passed) == (3, 2, 1)
    age = next(r for r in rows if r.key == "age")
    assert (age.pairs, age.rate, age.ci_low, age.incomplete) == (0, None, None, 1)

    # scorer errors and missing scores make a pair incomplete; unlabeled scores compare verdicts
    recs2 = [
        _record("p1a", None, True),
        _record("p1b", None, True),
        _record("p2a", None, True),
        _record("p2b", None, False),
        SampleRecord(
            run_id="r", sample_id="p3a", input=[], scores=[Score(scorer="multiple_choice", error="x")]
        ),
        _record("p3b", "C", True),
    ]
    overall2 = next(r for r in pair_consistency(suite, recs2, "multiple_choice") if r.key == "*")
    assert (overall2.pairs, overall2.consistent, overall2.incomplete) == (2, 1, 1)
    assert pair_consistency(suite, recs2, "refusal")[0].incomplete == 3


def test_suite_metrics_reports_pairs_only_for_paired_suites(factuality: Suite) -> None:
    suite = _mini_suite()
    recs = [_record("p1a", "C", True), _record("p1b", "A", False), _record("solo", "A", True)]
    m = suite_metrics(suite, recs)
    assert m.score == pytest.approx(2 / 3)
    row = m.pair_row("multiple_choice")
    assert row is not None and (row.pairs, row.consistent) == (1, 0)
    assert m.pair_row("multiple_choice", "attribute", "religion") == next(
        r for r in m.pairs if r.key == "religion"
    )
    dumped = m.model_dump(mode="json")
    assert dumped["pairs"][0]["key"] == "*"
    # a suite without pairs keeps an empty list, and existing fields are unchanged
    plain = suite_metrics(factuality, [_record(factuality.samples[0].id, "A", True)])
    assert plain.pairs == [] and plain.score == 1.0
    # the bootstrap settings are passed through
    boot = suite_metrics(suite, recs, method="bootstrap", seed=1)
    assert boot.ci_method == "bootstrap" and boot.pairs and boot.pairs[0].ci_low == 0.0
