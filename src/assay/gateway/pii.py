"""Personal data in a request or an answer, found fast enough to run on every message.

The gateway cannot afford presidio's per-call overhead on each request, so it uses the same rules as
the PII scorer's recognizers in their cheapest form: regular expressions whose matches are confirmed
by a checksum or by context — the NRIC/FIN check letter and the Singapore phone and address context
words come from `assay.evals.scorers.sg_pii`, cards must pass Luhn, IBANs mod-97.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from assay.evals.scorers.sg_pii import (
    _LOCAL,
    NRIC_RE,
    PHONE_CONTEXT,
    nric_is_valid,
    sg_phone_digits,
)

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}"
)
CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
SG_PHONE_INTL = re.compile(rf"(?<![\d+])(?:\+|00)65[\s.-]?{_LOCAL}")
SG_PHONE_LOCAL = re.compile(rf"(?<![\d+]){_LOCAL}")

ENTITIES = ("SG_NRIC_FIN", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "SG_PHONE")


@dataclass(frozen=True)
class PiiHit:
    entity: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    s = value.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def find_pii(text: str, entities: tuple[str, ...] | list[str] = ENTITIES) -> list[PiiHit]:
    """Every confirmed personal-data match, in text order, overlaps removed (the first wins)."""
    want = set(entities)
    hits: list[PiiHit] = []
    if "SG_NRIC_FIN" in want:
        hits += [
            PiiHit("SG_NRIC_FIN", m.start(), m.end())
            for m in NRIC_RE.finditer(text)
            if nric_is_valid(m.group())
        ]
    if "EMAIL_ADDRESS" in want and "@" in text:
        hits += [PiiHit("EMAIL_ADDRESS", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
    if "CREDIT_CARD" in want:
        for m in CARD_RE.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                hits.append(PiiHit("CREDIT_CARD", m.start(), m.end()))
    if "IBAN_CODE" in want:
        hits += [
            PiiHit("IBAN_CODE", m.start(), m.end()) for m in IBAN_RE.finditer(text) if iban_ok(m.group())
        ]
    if "IP_ADDRESS" in want:
        for m in IPV4_RE.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            hits.append(PiiHit("IP_ADDRESS", m.start(), m.end()))
    if "SG_PHONE" in want:
        for m in SG_PHONE_INTL.finditer(text):
            hits.append(PiiHit("SG_PHONE", m.start(), m.end()))
        for m in SG_PHONE_LOCAL.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()]
            if sg_phone_digits(m.group())[0] in "3689" and PHONE_CONTEXT.search(before):
                hits.append(PiiHit("SG_PHONE", m.start(), m.end()))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[PiiHit] = []
    for h in hits:
        if not kept or h.start >= kept[-1].end:
            kept.append(h)
    return kept


def redact(text: str, hits: list[PiiHit]) -> str:
    """Replace each hit with its entity name in brackets, e.g. `[SG_NRIC_FIN]`."""
    out, last = [], 0
    for h in hits:
        out.append(text[last : h.start])
        out.append(f"[{h.entity}]")
        last = h.end
    out.append(text[last:])
    return "".join(out)
