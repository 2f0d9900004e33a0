"""Quality signals of one row: a language hint, its length, and whether it holds a listed toxic term.

The language hint is deliberately cheap (a dataset has millions of rows): the dominant Unicode script
names the language where one language owns it here, and Latin-script text is told apart by counting
frequent function words (`data/languages.yaml`). "und" means no hint. The toxic-term rate is what it
says: the share of rows holding a term of `data/toxic_terms.txt`, a lexical signal, not a classifier.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from assay import yamlio

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_LETTERS = re.compile(r"[A-Za-z]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SCRIPT_PREFIX = {
    "CJK": "han",
    "TAMIL": "tamil",
    "DEVANAGARI": "devanagari",
    "ARABIC": "arabic",
    "THAI": "thai",
    "HANGUL": "hangul",
    "HIRAGANA": "kana",
    "KATAKANA": "kana",
    "CYRILLIC": "cyrillic",
    "LATIN": "latin",
}
SAMPLE_CHARS = 2000
"""Only the start of a long text is looked at: a hint, not an audit."""
LENGTH_BUCKETS = (0, 64, 256, 1024, 4096, 16384)


@cache
def _language_data() -> tuple[dict[str, str], dict[str, str]]:
    raw = yamlio.safe_load(resources.files("assay.data").joinpath("data/languages.yaml").read_text("utf-8"))
    scripts = {str(k): str(v) for k, v in raw["scripts"].items()}
    owners: dict[str, set[str]] = {}
    for lang, words in raw["latin_words"].items():
        for w in words:
            owners.setdefault(str(w).casefold(), set()).add(str(lang))
    words = {w: next(iter(langs)) for w, langs in owners.items() if len(langs) == 1}
    return scripts, words


@cache
def _script_of(ch: str) -> str | None:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    head = name.split(" ", 1)[0]
    return _SCRIPT_PREFIX.get(head)


def language(text: str) -> str:
    """A language code (ISO 639-1) for the text's main language, or "und" when there is no hint."""
    sample = text[:SAMPLE_CHARS]
    counts: dict[str, int] = {}
    latin = len(_ASCII_LETTERS.findall(sample))
    if latin:
        counts["latin"] = latin
    if not sample.isascii():  # only the other characters are looked up one by one
        for ch in _NON_ASCII.findall(sample):
            if ch.isalpha():
                script = _script_of(ch)
                if script:
                    counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "und"
    top = max(counts, key=lambda k: counts[k])
    scripts, words = _language_data()
    if top != "latin":
        return scripts.get(top, "und")
    votes: dict[str, int] = {}
    for w in _WORD.findall(sample.casefold()):
        lang = words.get(w)
        if lang:
            votes[lang] = votes.get(lang, 0) + 1
    if not votes:
        return "und"
    return max(votes, key=lambda k: votes[k])


@cache
def _toxic_re() -> re.Pattern[str]:
    text = resources.files("assay.data").joinpath("data/toxic_terms.txt").read_text("utf-8")
    terms = [t.strip().casefold() for t in text.splitlines() if t.strip() and not t.startswith("#")]
    alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def has_toxic_term(text: str) -> bool:
    return _toxic_re().search(text) is not None


def length_bucket(n: int) -> str:
    """The label of the length bucket `n` characters fall in: "0", "1-64", …, "16385+"."""
    if n == 0:
        return "0"
    lo = 1
    for hi in LENGTH_BUCKETS[1:]:
        if n <= hi:
            return f"{lo}-{hi}"
        lo = hi + 1
    return f"{lo}+"


def bucket_labels() -> list[str]:
    labels = ["0"]
    lo = 1
    for hi in LENGTH_BUCKETS[1:]:
        labels.append(f"{lo}-{hi}")
        lo = hi + 1
    labels.append(f"{lo}+")
    return labels
