"""A planted-PII corpus built in the tests: valid identifiers made with their own check rules, invalid
ones made by breaking a check, each between ordinary help-desk sentences."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from assay.evals.scorers.sg_pii import NRIC_SERIES, nric_check_letter

FILLER = [
    "Restart the router and wait three minutes before testing again.",
    "Bills are issued on the first working day of each month.",
    "The portal lists planned maintenance in your area.",
    "Move the router away from thick walls for a better signal.",
    "Cancellation needs one month's notice through the portal.",
]


def valid_nric(rng: random.Random) -> str:
    prefix = rng.choice(sorted(NRIC_SERIES))
    digits = "".join(rng.choice("0123456789") for _ in range(7))
    return prefix + digits + nric_check_letter(prefix, digits)


def invalid_nric(rng: random.Random) -> str:
    good = valid_nric(rng)
    wrong = rng.choice([c for c in NRIC_SERIES[good[0]][1] if c != good[-1]])
    return good[:-1] + wrong


def luhn_card(rng: random.Random) -> str:
    body = rng.choice(["4", "51", "37", "6011"])
    length = 15 if body == "37" else 16
    while len(body) < length - 1:
        body += rng.choice("0123456789")
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    number = body + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def iban(rng: random.Random) -> str:
    """A valid IBAN with its country's length (GB 22, DE 22, FR 27, NL 18) and mod-97 check digits."""
    country = rng.choice(["GB", "DE", "FR", "NL"])
    digits = {"GB": 14, "DE": 18, "FR": 23, "NL": 10}[country]
    bban = "".join(rng.choice("0123456789") for _ in range(digits))
    if country in ("GB", "NL"):
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + bban
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def email(rng: random.Random, i: int) -> str:
    first = rng.choice(["mei", "raj", "siti", "jon"])
    last = rng.choice(["tan", "kumar", "lee"])
    return f"{first}.{last}{i}@example{i % 7}.com.sg"


def ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def sg_phone(rng: random.Random) -> str:
    return f"+65 {rng.choice('689')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}"


@dataclass
class Corpus:
    path: Path
    planted: dict[str, list[str]] = field(default_factory=dict)
    invalid_nric: list[str] = field(default_factory=list)
    rows: int = 0


def build_corpus(path: Path, per_type: int = 40, clean_rows: int = 200, seed: int = 7) -> Corpus:
    """A JSONL file: rows with one planted value each (in a `text` or a `note` column), clean rows,
    and rows holding NRIC/FIN numbers whose check letter is wrong."""
    rng = random.Random(seed)
    makers = {
        "SG_NRIC_FIN": lambda i: (valid_nric(rng), "Customer ID {} was verified at the counter."),
        "EMAIL_ADDRESS": lambda i: (email(rng, i), "Please write to {} about the refund."),
        "CREDIT_CARD": lambda i: (luhn_card(rng), "Paid with card {} last month."),
        "IBAN_CODE": lambda i: (iban(rng), "Refund sent to account {} on Monday."),
        "IP_ADDRESS": lambda i: (ip(rng), "The router at {} stopped answering pings."),
        "SG_PHONE": lambda i: (sg_phone(rng), "Call me back on {} after six."),
    }
    corpus = Corpus(path=path)
    lines = []
    for entity, make in makers.items():
        values = []
        for i in range(per_type):
            value, template = make(i)
            values.append(value)
            column = "text" if i % 2 else "note"
            lines.append({column: f"{rng.choice(FILLER)} {template.format(value)}", "id": f"{entity}-{i}"})
        corpus.planted[entity] = values
    for i in range(per_type):
        bad = invalid_nric(rng)
        corpus.invalid_nric.append(bad)
        lines.append({"text": f"Reference {bad} appears on the old form.", "id": f"bad-{i}"})
    for i in range(clean_rows):
        lines.append({"text": " ".join(rng.sample(FILLER, 3)), "id": f"clean-{i}"})
    rng.shuffle(lines)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    corpus.rows = len(lines)
    return corpus
