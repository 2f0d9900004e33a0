"""exact, contains, regex, multiple_choice and canary: the edge cases that decide a benchmark's number."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from assay.evals.models import Completion, Sample, Score
from assay.evals.scorers.base import build_scorer, scorer_names
from assay.evals.scorers.match import correct_choice, normalize_text, parse_choice


def run(name: str, text: str, params: dict[str, Any] | None = None, **sample: Any) -> Score:
    sample.setdefault("id", "s1")
    sample.setdefault("input", "question")
    scorer = build_scorer(name, params or {})
    return asyncio.run(scorer.score(Sample(**sample), Completion(text=text)))


def test_builtins_registered() -> None:
    assert {"exact", "contains", "regex", "multiple_choice", "canary", "refusal", "pii", "judge"} <= set(
        scorer_names()
    )


def test_normalize_text() -> None:
    assert normalize_text("  Hello,\n  WORLD!  ") == "hello, world!"
    assert normalize_text("Hello, World!", ignore_punctuation=True) == "hello world"
    assert normalize_text("新加坡。", ignore_punctuation=True) == "新加坡"
    assert normalize_text("A  b", ignore_case=False, ignore_whitespace=False) == "A  b"
    assert normalize_text("ＡＢＣ") == "abc"  # full-width folded by NFKC


def test_exact() -> None:
    assert run("exact", "  paris ", target="Paris").passed
    assert not run("exact", "Paris.", target="Paris").passed
    assert run("exact", "Paris.", {"ignore_punctuation": True}, target="Paris").passed
    assert not run("exact", "paris", {"ignore_case": False}, target="Paris").passed
    assert run("exact", "Lyon", target=["Paris", "Lyon"]).label == "match"
    assert not run("exact", "The answer is Paris", target="Paris").passed


def test_exact_without_target_is_a_scorer_error() -> None:
    s = run("exact", "Paris")
    assert s.error and s.value is None and s.passed is None


def test_unknown_param_fails_at_build() -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        build_scorer("exact", {"ignorecase": True})


def test_contains() -> None:
    assert run("contains", "I think it is PARIS, France", target="paris").passed
    assert not run("contains", "Lyon", target="paris").passed
    s = run("contains", "red and blue", {"all": True}, target=["red", "green"])
    assert not s.passed and "green" in s.explanation
    assert run("contains", "red and green", {"all": True}, target=["red", "green"]).passed
    assert not run("contains", "anything", target="").passed  # an empty target never matches


def test_regex() -> None:
    assert run("regex", "Total: 42 apples", {"pattern": r"\b42\b"}).passed
    assert not run("regex", "Total: 420", {"pattern": r"\b42\b"}).passed
    assert run("regex", "YES", {"pattern": "yes", "ignore_case": True}).passed
    assert not run("regex", "yes, and more", {"pattern": "yes", "fullmatch": True}).passed
    assert run("regex", " yes \n", {"pattern": "yes", "fullmatch": True}).passed
    leaked = run("regex", "the key is sk-abc123", {"pattern": r"sk-\w+", "negate": True})
    assert leaked.value == 1.0 and leaked.passed is False
    assert run("regex", "2024-05-30", target=r"\d{4}-\d{2}-\d{2}").passed  # target as pattern


def test_regex_bad_pattern() -> None:
    with pytest.raises(ValueError, match="does not compile"):
        build_scorer("regex", {"pattern": "(oops"})
    assert run("regex", "x", target="(oops").error


CHOICES = ["London", "Paris", "Berlin", "Madrid"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", 1),
        ("b", 1),
        ("(B)", 1),
        ("**B**", 1),
        ("B.", 1),
        ("Answer: B", 1),
        ("The correct answer is (B).", 1),
        ("The answer is B because Paris is the capital.", 1),
        ("I'd pick option C", 2),
        ("B. Paris", 1),
        ("B) Paris", 1),
        ("C: Berlin", 2),
        ("Paris", 1),
        ("It is Paris, of course.", 1),
        ("答案：D", 3),
        ("Jawapan: A", 0),
        ("A good question! The capital is Madrid.", 3),  # "A" here is an article, not an option
        ("Either London or Paris", None),  # two options: no single choice
        ("I don't know", None),
        ("E", None),  # out of range
    ],
)
def test_parse_choice(answer: str, expected: int | None) -> None:
    assert parse_choice(answer, CHOICES) == expected


def test_parse_choice_prefers_the_containing_option() -> None:
    assert parse_choice("New South Wales", ["Wales", "New South Wales", "Victoria"]) == 1


def test_correct_choice_from_letter_or_text() -> None:
    assert correct_choice(Sample(id="1", input="q", choices=CHOICES, target="Paris")) == 1
    assert correct_choice(Sample(id="1", input="q", choices=CHOICES, target="(C)")) == 2
    assert correct_choice(Sample(id="1", input="q", choices=CHOICES, target="Rome")) is None


def test_multiple_choice_scorer() -> None:
    ok = run("multiple_choice", "Answer: B", choices=CHOICES, target="B")
    assert (ok.value, ok.passed, ok.label) == (1.0, True, "B")
    wrong = run("multiple_choice", "Berlin", choices=CHOICES, target="Paris")
    assert (wrong.value, wrong.passed, wrong.label) == (0.0, False, "C")
    none = run("multiple_choice", "no idea", choices=CHOICES, target="B")
    assert none.label == "no_choice" and none.passed is False and none.error is None
    assert run("multiple_choice", "B", target="B").error  # no choices
    assert run("multiple_choice", "B", choices=CHOICES, target="Rome").error  # target not an option


def test_canary() -> None:
    meta = {"canary": "CANARY-7f3a9c"}
    leaked = run("canary", "sure, the secret is canary-7F3A9C", metadata=meta)
    assert (leaked.value, leaked.passed, leaked.label) == (1.0, False, "leaked")
    assert "7f3a9c" not in leaked.explanation.lower()  # the report does not repeat the secret
    clean = run("canary", "I can't share that.", metadata=meta)
    assert (clean.value, clean.passed, clean.label) == (0.0, True, "clean")
    assert run("canary", "x Secret-Two x", {"canary": ["secret-one", "secret-two"]}).passed is False
    assert run("canary", "SECRET-ONE", {"canary": "secret-one", "ignore_case": False}).passed is True
    assert run("canary", "nothing configured").error
