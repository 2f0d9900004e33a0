"""Personal data in a dataset: a planted corpus, recall per entity type, checksums, redaction."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assay.data import ScanOptions, scan_path
from assay.data.pii import Detector, redact
from assay.data.recognizers import find_own, iban_ok, luhn_ok

from .corpus import build_corpus, iban, invalid_nric, luhn_card, valid_nric

MIN_RECALL = {
    "SG_NRIC_FIN": 1.0,
    "EMAIL_ADDRESS": 1.0,
    "CREDIT_CARD": 1.0,
    "IBAN_CODE": 1.0,
    "IP_ADDRESS": 1.0,
    "SG_PHONE": 1.0,
}


def test_checks_of_the_built_in_recognizers() -> None:
    rng = random.Random(3)
    for _ in range(50):
        assert luhn_ok(luhn_card(rng).replace(" ", ""))
        assert iban_ok(iban(rng))
    assert not luhn_ok("4111111111111112")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("GB82 WEST 1234 5698 7654 3")  # a GB IBAN has 22 characters
    assert iban_ok("GB82 WEST 1234 5698 7654 32")  # the example IBAN of ISO 13616


def test_every_valid_nric_is_found_and_every_invalid_one_rejected() -> None:
    rng = random.Random(11)
    for _ in range(300):
        good, bad = valid_nric(rng), invalid_nric(rng)
        assert [f.entity for f in find_own(f"NRIC {good} on file")] == ["SG_NRIC_FIN"], good
        assert find_own(f"NRIC {bad} on file") == [], bad


def test_recall_per_entity_type_on_a_planted_corpus(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path / "planted.jsonl")
    detector = Detector()
    rows = [json.loads(line) for line in corpus.path.read_text().splitlines()]
    for entity, values in corpus.planted.items():
        found = 0
        for value in values:
            text = next(
                r.get("text") or r.get("note") for r in rows if value in (r.get("text") or r.get("note"))
            )
            start = text.index(value)
            if any(f.entity == entity and f.start <= start < f.end for f in detector.find(text)):
                found += 1
        recall = found / len(values)
        assert recall >= MIN_RECALL[entity], f"{entity}: recall {recall:.2f}"


def test_scan_counts_each_planted_value_once_per_type_and_column(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path / "planted.jsonl", per_type=30, clean_rows=100)
    card = scan_path(corpus.path, options=ScanOptions(workers=1))
    for entity, values in corpus.planted.items():
        assert card.personal_data.get(entity) == len(values), (entity, card.personal_data)
        by_col = card.personal_data_detail.by_column
        assert by_col["text"][entity] + by_col["note"][entity] == len(values)
    # the invalid NRIC/FIN rows add nothing
    assert card.personal_data["SG_NRIC_FIN"] == len(corpus.planted["SG_NRIC_FIN"])


@pytest.mark.parametrize("workers", [1, 2])
def test_no_planted_value_reaches_the_card_or_the_output(tmp_path: Path, workers: int) -> None:
    """The card (JSON and HTML) and everything the CLI prints hold counts and redacted snippets only."""
    from typer.testing import CliRunner

    from assay.cli.main import app

    corpus = build_corpus(tmp_path / "planted.jsonl", per_type=10, clean_rows=20)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "data",
            "scan",
            str(corpus.path),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--home",
            str(tmp_path / ".assay"),
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads((out / "data-card-planted.json").read_text())
    assert card["personal_data_detail"]["examples"], "redacted examples are expected"
    texts = [
        (out / "data-card-planted.json").read_text(),
        (out / "data-card-planted.html").read_text(),
        result.output,
    ]
    # the evidence copy of the card too
    texts += [
        p.read_text(errors="replace")
        for p in (tmp_path / ".assay").rglob("*")
        if p.is_file() and p.stat().st_size < 1 << 20 and p.suffix != ".db"
    ]
    values = [v for vs in corpus.planted.values() for v in vs] + corpus.invalid_nric
    for text in texts:
        for v in values:
            assert v not in text
            assert v.replace(" ", "") not in text


def test_redaction_masks_the_neighbours_too() -> None:
    text = "Ring 9123 4567 or mail a.b@example.com, ref 77881234 and S1234567A"
    found = Detector(use_presidio=False).find(text)
    snippet = redact(text, found, 0)
    assert "a.b@example.com" not in snippet and "77881234" not in snippet and "1234567" not in snippet


def test_presidio_runs_offline_without_torch(tmp_path: Path) -> None:
    """In a fresh interpreter where every socket call fails, a gated row reaches presidio (an
    international phone number) and neither torch nor a spaCy model is loaded."""
    import subprocess
    import sys

    data = tmp_path / "d.jsonl"
    data.write_text(
        json.dumps({"text": "Our London office answers on +44 20 7946 0958 every weekday."}) + "\n"
    )
    code = f"""
import socket, sys
def refuse(*a, **k):
    raise OSError("network blocked in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from assay.data import ScanOptions, scan_path
card = scan_path({str(data)!r}, options=ScanOptions(workers=1))
assert card.personal_data == {{"PHONE_NUMBER": 1}}, card.personal_data
assert card.personal_data_detail.presidio_rows == 1
assert "torch" not in sys.modules and "transformers" not in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
