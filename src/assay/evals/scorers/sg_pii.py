"""Singapore identifiers: NRIC/FIN checksum, phone numbers and postal codes.

The checks here are plain Python (no presidio), so they can be reused and tested on their own;
`build_sg_recognizers` wraps them as presidio recognizers and is only called when the PII scorer first
runs. Presidio's text-context boosting needs NLP tokens, which the no-NLP engine does not produce, so
these recognizers look at the characters just before a match themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
# prefix -> (offset added to the weighted sum, check letters indexed by the sum modulo 11)
NRIC_SERIES: dict[str, tuple[int, str]] = {
    "S": (0, "JZIHGFEDCBA"),  # citizens and PRs, born before 2000
    "T": (4, "JZIHGFEDCBA"),  # citizens and PRs, born 2000 or later
    "F": (0, "XWUTRQPNMLK"),  # foreigners, issued before 2000
    "G": (4, "XWUTRQPNMLK"),  # foreigners, issued 2000-2021
    "M": (3, "XWUTRQPNJLK"),  # foreigners, issued from 2022
}
NRIC_RE = re.compile(r"(?<![A-Za-z0-9])[STFGMstfgm]\d{7}[A-Za-z](?![A-Za-z0-9])")


def nric_check_letter(prefix: str, digits: str) -> str:
    """The check letter an NRIC/FIN with this prefix and these seven digits must end with."""
    prefix = prefix.upper()
    if prefix not in NRIC_SERIES:
        raise ValueError(f"unknown NRIC/FIN prefix {prefix!r}")
    if len(digits) != 7 or not digits.isdigit():
        raise ValueError("an NRIC/FIN has exactly seven digits")
    offset, letters = NRIC_SERIES[prefix]
    total = offset + sum(int(d) * w for d, w in zip(digits, NRIC_WEIGHTS, strict=True))
    return letters[total % 11]


def nric_is_valid(value: str) -> bool:
    """True when `value` is a well-formed NRIC/FIN whose check letter is right."""
    value = value.strip().upper()
    if not re.fullmatch(r"[STFGM]\d{7}[A-Z]", value):
        return False
    return nric_check_letter(value[0], value[1:8]) == value[8]


PHONE_CONTEXT = re.compile(
    r"\b(phone|tel|telephone|mobile|hp|handphone|cell|call|text|whatsapp|sms|contact|fax|hotline|电话|手机|"
    r"nombor|telefon)\b",
    re.IGNORECASE,
)
ADDRESS_CONTEXT = re.compile(
    r"\b(singapore|s'pore|spore|postal|post code|postcode|blk|block|street|st|road|rd|avenue|ave|drive|dr|"
    r"crescent|jalan|lorong|lor|tower|building|address|unit|level|#\d{1,2}-\d{1,4}|新加坡|邮编|poskod|alamat)\b",
    re.IGNORECASE,
)


_LOCAL = r"[3689]\d{3}[\s.-]?\d{4}(?!\d)"


def sg_phone_digits(match: str) -> str:
    """The eight local digits of a Singapore number, without country code or separators."""
    digits = re.sub(r"\D", "", match)
    return digits[-8:]


def sg_postal_is_plausible(code: str) -> bool:
    """Singapore postal codes are six digits whose first two (the sector) run from 01 to 82."""
    return len(code) == 6 and code.isdigit() and 1 <= int(code[:2]) <= 82


def _has_context(text: str, start: int, end: int, pattern: re.Pattern[str], window: int) -> bool:
    before = text[max(0, start - window) : start]
    after = text[end : end + 20]
    return bool(pattern.search(before) or pattern.search(after))


def build_sg_recognizers() -> list[EntityRecognizer]:
    """Presidio recognizers for SG_NRIC_FIN, SG_PHONE and SG_POSTAL_CODE (imports presidio)."""
    from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

    class SgNricFinRecognizer(PatternRecognizer):
        """NRIC/FIN numbers whose check letter validates; a wrong check letter is not reported."""

        def __init__(self) -> None:
            super().__init__(
                supported_entity="SG_NRIC_FIN",
                name="SgNricFinChecksumRecognizer",
                patterns=[Pattern("nric_fin", NRIC_RE.pattern, 0.5)],
                supported_language="en",
            )

        def validate_result(self, pattern_text: str) -> bool:
            return nric_is_valid(pattern_text)

    class _ContextRecognizer(PatternRecognizer):
        """A pattern recognizer that raises its score when context words sit next to the match."""

        context_re: re.Pattern[str]
        boost = 0.4
        window = 60

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None):  # type: ignore[override]
            results: list[RecognizerResult] = []
            for r in super().analyze(text, entities, nlp_artifacts, regex_flags):
                if not self.keep(text[r.start : r.end]):
                    continue
                if _has_context(text, r.start, r.end, self.context_re, self.window):
                    r.score = min(1.0, r.score + self.boost)
                results.append(r)
            return results

        def keep(self, match: str) -> bool:
            return True

    class SgPhoneRecognizer(_ContextRecognizer):
        """+65 numbers, or eight digits starting 3, 6, 8 or 9 next to words like "call" or "mobile"."""

        context_re = PHONE_CONTEXT

        def __init__(self) -> None:
            super().__init__(
                supported_entity="SG_PHONE",
                name="SgPhoneRecognizer",
                patterns=[
                    Pattern("sg_phone_intl", rf"(?<![\d+])(?:\+|00)65[\s.-]?{_LOCAL}", 0.75),
                    Pattern("sg_phone_local", rf"(?<![\d+]){_LOCAL}", 0.3),
                ],
                supported_language="en",
            )

        def keep(self, match: str) -> bool:
            return sg_phone_digits(match)[0] in "3689"

    class SgPostalCodeRecognizer(_ContextRecognizer):
        """Six-digit postal codes, reported only in an address context ("Singapore 238801", "Blk 12 …")."""

        context_re = ADDRESS_CONTEXT
        boost = 0.5
        window = 80

        def __init__(self) -> None:
            super().__init__(
                supported_entity="SG_POSTAL_CODE",
                name="SgPostalCodeRecognizer",
                patterns=[
                    Pattern("sg_postal_labelled", r"(?<![\w])(?:Singapore|S)\s?\(?\d{6}\)?(?!\d)", 0.6),
                    Pattern("sg_postal_bare", r"(?<!\d)\d{6}(?!\d)", 0.05),
                ],
                supported_language="en",
            )

        def keep(self, match: str) -> bool:
            return sg_postal_is_plausible(re.sub(r"\D", "", match))

    return [SgNricFinRecognizer(), SgPhoneRecognizer(), SgPostalCodeRecognizer()]
