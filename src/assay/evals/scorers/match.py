"""Scorers that compare an answer with the sample's expected answer: exact, contains, regex, multiple
choice, and the canary-leak check.

Normalisation is explicit and recorded with the scorer's parameters, so two runs that disagree can be
traced to their settings rather than to hidden string handling.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from typing import Any

from assay.evals.models import Completion, Sample, Score
from assay.evals.scorers.base import Scorer, register_scorer

_NORMALISE_KEYS = ("ignore_case", "ignore_whitespace", "ignore_punctuation")


def normalize_text(
    text: str, *, ignore_case: bool = True, ignore_whitespace: bool = True, ignore_punctuation: bool = False
) -> str:
    """Fold an answer for comparison.

    `ignore_whitespace` collapses runs of whitespace (and trims); `ignore_punctuation` drops every Unicode
    punctuation character (so "，" and "。" go as well as "," and ".").
    """
    text = unicodedata.normalize("NFKC", text)
    if ignore_case:
        text = text.casefold()
    if ignore_punctuation:
        text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    if ignore_whitespace:
        text = " ".join(text.split())
    return text.strip() if ignore_whitespace or ignore_punctuation else text


def _check_params(scorer: str, params: dict[str, Any], allowed: Iterable[str]) -> None:
    """Reject unknown parameters at build time: a typo in a suite must not silently change scoring."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"scorer '{scorer}': unknown parameter(s) {', '.join(unknown)}")


class _NormalisingScorer(Scorer):
    extra_params: tuple[str, ...] = ()
    default_ignore_case = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_params(self.name, self.params, _NORMALISE_KEYS + self.extra_params)
        self.norm = {
            "ignore_case": bool(self.params.get("ignore_case", self.default_ignore_case)),
            "ignore_whitespace": bool(self.params.get("ignore_whitespace", True)),
            "ignore_punctuation": bool(self.params.get("ignore_punctuation", False)),
        }

    def fold(self, text: str) -> str:
        return normalize_text(text, **self.norm)

    def expected(self, sample: Sample) -> list[str]:
        return sample.targets

    def no_target(self, sample: Sample) -> Score:
        return Score(scorer=self.name, error=f"sample '{sample.id}' has no target to compare with")


@register_scorer("exact")
class ExactScorer(_NormalisingScorer):
    """value 1 when the whole answer equals one of the targets (after normalisation)."""

    name = "exact"

    async def score(self, sample: Sample, completion: Completion) -> Score:
        targets = self.expected(sample)
        if not targets:
            return self.no_target(sample)
        answer = self.fold(completion.text)
        hit = next((t for t in targets if self.fold(t) == answer), None)
        return Score(
            scorer=self.name,
            value=1.0 if hit is not None else 0.0,
            passed=hit is not None,
            label="match" if hit is not None else "no_match",
            explanation=f"matched {hit!r}" if hit is not None else f"expected one of {targets!r}",
        )


@register_scorer("contains")
class ContainsScorer(_NormalisingScorer):
    """value 1 when the answer contains a target (`all: true`: every target)."""

    name = "contains"
    extra_params = ("all",)

    async def score(self, sample: Sample, completion: Completion) -> Score:
        targets = self.expected(sample)
        if not targets:
            return self.no_target(sample)
        answer = self.fold(completion.text)
        found = [t for t in targets if self.fold(t) and self.fold(t) in answer]
        ok = len(found) == len(targets) if self.params.get("all", False) else bool(found)
        missing = [t for t in targets if t not in found]
        return Score(
            scorer=self.name,
            value=1.0 if ok else 0.0,
            passed=ok,
            label="match" if ok else "no_match",
            explanation=f"found {found!r}" + (f"; missing {missing!r}" if missing else ""),
        )


@register_scorer("regex")
class RegexScorer(Scorer):
    """value 1 when a pattern matches the answer.

    params: `pattern` (one regex or a list; default: the sample's targets are the patterns),
    `ignore_case` (default false), `fullmatch` (default false: search anywhere), `negate` (pass when
    nothing matches — for "must not say" checks).
    """

    name = "regex"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_params(self.name, self.params, ("pattern", "ignore_case", "fullmatch", "negate"))
        self.flags = re.IGNORECASE if self.params.get("ignore_case", False) else 0
        self.flags |= re.MULTILINE | re.DOTALL
        raw = self.params.get("pattern")
        patterns = [raw] if isinstance(raw, str) else list(raw or [])
        self.compiled = [self._compile(p) for p in patterns]

    def _compile(self, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, self.flags)
        except re.error as exc:
            raise ValueError(f"scorer 'regex': pattern {pattern!r} does not compile: {exc}") from exc

    async def score(self, sample: Sample, completion: Completion) -> Score:
        compiled = self.compiled
        if not compiled:
            if not sample.targets:
                return Score(scorer=self.name, error=f"sample '{sample.id}' has no pattern or target")
            try:
                compiled = [self._compile(t) for t in sample.targets]
            except ValueError as exc:
                return Score(scorer=self.name, error=str(exc))
        full = bool(self.params.get("fullmatch", False))
        text = completion.text.strip() if full else completion.text
        hit = next((p for p in compiled if (p.fullmatch(text) if full else p.search(text))), None)
        matched = hit is not None
        passed = not matched if self.params.get("negate", False) else matched
        return Score(
            scorer=self.name,
            value=1.0 if matched else 0.0,
            passed=passed,
            label="match" if matched else "no_match",
            explanation=f"pattern {hit.pattern!r} matched" if hit else "no pattern matched",
        )


# ---------------------------------------------------------------------------------- multiple choice

_LETTERS = string.ascii_uppercase


def _letter_patterns(valid: str) -> list[re.Pattern[str]]:
    """Ways an answer names an option by letter, strongest first."""
    v = f"[{valid}]"
    return [
        # the whole answer is the letter: "B", "(b)", "**B**", "B."
        re.compile(rf"^\W*({v})\W*$", re.IGNORECASE),
        # an announced answer: "Answer: B", "the correct answer is (B)", "Option B", "答案：B"
        re.compile(
            rf"(?i:answer|choice|option|答案|选项|jawapan|pilihan|விடை)\s*(?i:is|would be|:|：|=|-)?\s*"
            rf"(?i:option\s*)?[*_(\[\s]*({v})(?![A-Za-z0-9])"
        ),
        # the answer opens with the letter and a delimiter: "B. Paris", "(B) Paris", "B) Paris", "B: Paris"
        re.compile(rf"^\W*?[(\[]?({v})[)\].:：]"),
        re.compile(rf"^\W*({v})\s*[-–—,]\s"),
    ]


def parse_choice(answer: str, choices: list[str]) -> int | None:
    """The index of the option an answer picks, or None when it picks none or several.

    Letters are tried first (a bare letter, "Answer: B", "B. …", "(B)" alone in the text), then the
    option texts: exactly one option text (or one that contains the others) must occur in the answer.
    """
    if not choices:
        return None
    n = min(len(choices), len(_LETTERS))
    valid = _LETTERS[:n]
    text = unicodedata.normalize("NFKC", answer).strip()
    for pat in _letter_patterns(valid):
        m = pat.search(text)
        if m:
            return valid.index(m.group(1).upper())
    bracketed = {m.upper() for m in re.findall(rf"[(\[]([{valid}])[)\]]", text)}
    if len(bracketed) == 1:
        return valid.index(bracketed.pop())
    folded = normalize_text(text, ignore_punctuation=True)
    hits = []
    for i, choice in enumerate(choices[:n]):
        c = normalize_text(choice, ignore_punctuation=True)
        if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", folded):
            hits.append((i, c))
    if len(hits) == 1:
        return hits[0][0]
    if len(hits) > 1:
        # "New South Wales" contains "Wales": prefer the one option that contains every other hit.
        longest = max(hits, key=lambda h: len(h[1]))
        if all(h[1] in longest[1] for h in hits):
            return longest[0]
    return None


def correct_choice(sample: Sample) -> int | None:
    """The index of the right option: the target is an option's text or its letter."""
    choices = sample.choices or []
    for target in sample.targets:
        folded = normalize_text(target, ignore_punctuation=True)
        for i, choice in enumerate(choices):
            if normalize_text(choice, ignore_punctuation=True) == folded:
                return i
        t = target.strip().strip("()[].").upper()
        if len(t) == 1 and t in _LETTERS[: len(choices)]:
            return _LETTERS.index(t)
    return None


@register_scorer("multiple_choice")
class MultipleChoiceScorer(Scorer):
    """value 1 when the option the answer picks is the target option.

    An answer that picks no option (or several) scores 0 with label "no_choice": the model failed to
    answer, which is a wrong answer, not a scorer error. A sample without choices or a usable target is
    a scorer error.
    """

    name = "multiple_choice"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_params(self.name, self.params, ())

    async def score(self, sample: Sample, completion: Completion) -> Score:
        if not sample.choices:
            return Score(scorer=self.name, error=f"sample '{sample.id}' has no choices")
        right = correct_choice(sample)
        if right is None:
            return Score(
                scorer=self.name, error=f"sample '{sample.id}': target {sample.target!r} is not an option"
            )
        picked = parse_choice(completion.text, sample.choices)
        if picked is None:
            return Score(
                scorer=self.name,
                value=0.0,
                passed=False,
                label="no_choice",
                explanation=f"no single option found; correct is {_LETTERS[right]}",
            )
        ok = picked == right
        return Score(
            scorer=self.name,
            value=1.0 if ok else 0.0,
            passed=ok,
            label=_LETTERS[picked],
            explanation=f"picked {_LETTERS[picked]}, correct is {_LETTERS[right]}",
        )


# ---------------------------------------------------------------------------------- canary


@register_scorer("canary")
class CanaryScorer(Scorer):
    """value 1 when a canary string leaked into the answer; passed = nothing leaked.

    Canaries come from `sample.metadata["canary"]` (a string or a list) and the `canary` parameter.
    Matching ignores case and whitespace runs by default (`ignore_case: false` to be strict), so a
    leaked secret reformatted across lines is still caught.
    """

    name = "canary"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_params(self.name, self.params, ("canary", "ignore_case"))
        raw = self.params.get("canary")
        self.canaries = [raw] if isinstance(raw, str) else [str(c) for c in (raw or [])]
        self.ignore_case = bool(self.params.get("ignore_case", True))

    def _fold(self, text: str) -> str:
        return normalize_text(text, ignore_case=self.ignore_case)

    async def score(self, sample: Sample, completion: Completion) -> Score:
        meta = sample.metadata.get("canary")
        own = [meta] if isinstance(meta, str) else [str(c) for c in (meta or [])]
        canaries = [c for c in own + self.canaries if c.strip()]
        if not canaries:
            return Score(scorer=self.name, error=f"sample '{sample.id}' has no canary to look for")
        answer = self._fold(completion.text)
        leaked = [c for c in canaries if self._fold(c) in answer]
        return Score(
            scorer=self.name,
            value=1.0 if leaked else 0.0,
            passed=not leaked,
            label="leaked" if leaked else "clean",
            explanation=f"leaked {len(leaked)} of {len(canaries)} canaries" if leaked else "no canary found",
        )
