"""Personal-data recognizers for dataset scans: regex candidates confirmed by checksums and context.

Dataset scans read millions of rows, so the common entity types are found here in plain Python: one
compiled pattern per type, then a check that a pattern cannot make (NRIC/FIN check letter, Luhn, IBAN
mod-97, a parseable IP address, a phone or address word nearby). Presidio (see `assay.data.pii`) adds
the types it is better at, on the few rows a cheap gate lets through.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from assay.evals.scorers.sg_pii import (
    ADDRESS_CONTEXT,
    NRIC_RE,
    PHONE_CONTEXT,
    _has_context,
    nric_is_valid,
    sg_phone_digits,
    sg_postal_is_plausible,
)


@dataclass(frozen=True, slots=True)
class Finding:
    entity: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod-10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# IBAN lengths of some countries (the SWIFT IBAN registry); other countries get the general 15-34.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip


def iban_ok(value: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    s = re.sub(r"\s", "", value).upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    if IBAN_LENGTHS.get(s[:2], len(s)) != len(s):
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
CARD_RE = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f:]{1,4}(?![\w:])")
SG_PHONE_INTL_RE = re.compile(r"(?<![\d+])(?:\+|00)65[\s.-]?[3689]\d{3}[\s.-]?\d{4}(?!\d)")
SG_PHONE_LOCAL_RE = re.compile(r"(?<![\d+])[3689]\d{3}[\s.-]?\d{4}(?!\d)")
POSTAL_LABELLED_RE = re.compile(r"(?<!\w)(?:Singapore|S)\s?\(?(\d{6})\)?(?!\d)")
POSTAL_BARE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def _emails(text: str) -> list[Finding]:
    if "@" not in text:
        return []
    return [Finding("EMAIL_ADDRESS", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]


def _cards(text: str) -> list[Finding]:
    out = []
    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits):
            out.append(Finding("CREDIT_CARD", m.start(), m.end()))
    return out


def _ibans(text: str) -> list[Finding]:
    return [Finding("IBAN_CODE", m.start(), m.end()) for m in IBAN_RE.finditer(text) if iban_ok(m.group())]


def _ips(text: str) -> list[Finding]:
    out = []
    if "." in text:
        for m in IPV4_RE.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            out.append(Finding("IP_ADDRESS", m.start(), m.end()))
    if "::" in text or text.count(":") >= 4:
        for m in IPV6_RE.finditer(text):
            try:
                ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            out.append(Finding("IP_ADDRESS", m.start(), m.end()))
    return out


def _nric(text: str) -> list[Finding]:
    return [
        Finding("SG_NRIC_FIN", m.start(), m.end()) for m in NRIC_RE.finditer(text) if nric_is_valid(m.group())
    ]


def _sg_phones(text: str) -> list[Finding]:
    out = [Finding("SG_PHONE", m.start(), m.end()) for m in SG_PHONE_INTL_RE.finditer(text)]
    taken = [(f.start, f.end) for f in out]
    for m in SG_PHONE_LOCAL_RE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        if sg_phone_digits(m.group())[0] in "3689" and _has_context(
            text, m.start(), m.end(), PHONE_CONTEXT, 60
        ):
            out.append(Finding("SG_PHONE", m.start(), m.end()))
    return out


def _postal(text: str) -> list[Finding]:
    out = []
    taken: list[tuple[int, int]] = []
    for m in POSTAL_LABELLED_RE.finditer(text):
        if sg_postal_is_plausible(m.group(1)):
            out.append(Finding("SG_POSTAL_CODE", m.start(1), m.end(1)))
            taken.append((m.start(1), m.end(1)))
    for m in POSTAL_BARE_RE.finditer(text):
        if (m.start(), m.end()) in taken or not sg_postal_is_plausible(m.group()):
            continue
        if _has_context(text, m.start(), m.end(), ADDRESS_CONTEXT, 80):
            out.append(Finding("SG_POSTAL_CODE", m.start(), m.end()))
    return out


# Order matters when spans overlap: the more specific, checksummed types come first and win.
RECOGNIZERS: list[tuple[str, Callable[[str], list[Finding]]]] = [
    ("SG_NRIC_FIN", _nric),
    ("EMAIL_ADDRESS", _emails),
    ("IBAN_CODE", _ibans),
    ("CREDIT_CARD", _cards),
    ("SG_PHONE", _sg_phones),
    ("IP_ADDRESS", _ips),
    ("SG_POSTAL_CODE", _postal),
]
OWN_ENTITIES = tuple(name for name, _ in RECOGNIZERS)
_DIGIT = re.compile(r"\d")


def find_own(text: str) -> list[Finding]:
    """Findings of the built-in recognizers, overlaps resolved in favour of the earlier type."""
    if "@" not in text and not _DIGIT.search(text):
        return []  # every type above needs a digit or an '@'
    kept: list[Finding] = []
    for _name, recognize in RECOGNIZERS:
        for f in recognize(text):
            if not any(k.start < f.end and f.start < k.end for k in kept):
                kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept
