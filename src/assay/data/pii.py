"""Personal data in dataset text: Assay's recognizers on every row, presidio on the rows a gate passes.

Presidio's `AnalyzerEngine` runs every recognizer's patterns over every text, which costs about 8 ms
for a short paragraph; a dataset has millions. So the types that a pattern plus a checksum or context
settles (see `assay.data.recognizers`) are found in plain Python, and presidio (no-NLP engine, so no
spaCy model is loaded or downloaded) runs only where a cheap gate sees what its extra recognizers need:
an international phone number (`PHONE_NUMBER`, via the `phonenumbers` library) or a crypto wallet
address. Span overlaps go to Assay's recognizer.

Raw values never leave this module: `redact` turns a finding's neighbourhood into a snippet with every
found span replaced by its type and any remaining long digit run masked.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from assay.data.recognizers import OWN_ENTITIES, Finding, find_own

PRESIDIO_ENTITIES = ("PHONE_NUMBER", "CRYPTO")
ENTITIES = (*OWN_ENTITIES, *PRESIDIO_ENTITIES)
PHONE_REGIONS = ("SG", "MY", "ID", "CN", "IN", "US", "GB", "AU")
# Gates: a row without a match here cannot hold what presidio's phone or wallet recognizer reports.
PHONE_GATE = re.compile(r"(?:\+|\(\d{2,4}\)\s?)\d[\d\s().-]{6,}\d")
CRYPTO_GATE = re.compile(r"\b(?:bc1|[13])[a-km-zA-HJ-NP-Z1-9]{25,59}\b")
PRESIDIO_THRESHOLD = 0.4


@cache
def presidio_analyzer() -> Any:
    """presidio's engine with only the recognizers the gates feed (imported on first use, ~1 s)."""
    from assay.evals.scorers.pii import _keep_tldextract_offline, _without_ml_frameworks

    with _without_ml_frameworks():
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
        from presidio_analyzer.predefined_recognizers import CryptoRecognizer, PhoneRecognizer

        _keep_tldextract_offline()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(PhoneRecognizer(supported_regions=PHONE_REGIONS))
        registry.add_recognizer(CryptoRecognizer())
        engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
        return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def presidio_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("presidio_analyzer") is not None


def _presidio_or_none() -> Any:
    """presidio is an optional extra (`assay[pii]`); without it the built-in recognizers still run."""
    return presidio_analyzer() if presidio_available() else None


class Detector:
    """Finds personal data in one text; `use_presidio=False` keeps to Assay's own recognizers."""

    def __init__(self, use_presidio: bool = True) -> None:
        self.use_presidio = use_presidio
        self.presidio_calls = 0

    def find(self, text: str) -> list[Finding]:
        found = find_own(text)
        if not self.use_presidio:
            return found
        wanted = []
        if PHONE_GATE.search(text):
            wanted.append("PHONE_NUMBER")
        if CRYPTO_GATE.search(text):
            wanted.append("CRYPTO")
        if not wanted:
            return found
        analyzer = _presidio_or_none()
        if analyzer is None:
            return found
        self.presidio_calls += 1
        results = analyzer.analyze(
            text=text, language="en", entities=wanted, score_threshold=PRESIDIO_THRESHOLD
        )
        extra = [
            Finding(r.entity_type, r.start, r.end)
            for r in results
            if not any(f.start < r.end and r.start < f.end for f in found)
        ]
        return sorted([*found, *extra], key=lambda f: f.start) if extra else found


_LONG_DIGITS = re.compile(r"\d{3,}")
_AT_WORD = re.compile(r"\S+@\S+")


def redact(text: str, findings: list[Finding], index: int, width: int = 40) -> str:
    """A snippet around finding `index` with every finding replaced by `<TYPE>` and stray digits masked."""
    target = findings[index]
    lo = max(0, target.start - width)
    hi = min(len(text), target.end + width)
    parts: list[str] = []
    pos = lo
    for f in findings:
        if f.end <= lo or f.start >= hi:
            continue
        parts.append(_mask(text[pos : max(pos, f.start)]))
        parts.append(f"<{f.entity}>")
        pos = max(pos, f.end)
    parts.append(_mask(text[pos:hi]))
    snippet = "".join(parts).replace("\n", " ").strip()
    return ("…" if lo else "") + snippet + ("…" if hi < len(text) else "")


def _mask(fragment: str) -> str:
    """Digits runs and e-mail-like words outside a finding may still identify someone: mask them."""
    fragment = _AT_WORD.sub("<…@…>", fragment)
    return _LONG_DIGITS.sub(lambda m: "#" * len(m.group()), fragment)
