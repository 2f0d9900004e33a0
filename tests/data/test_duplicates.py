"""Exact and near duplicates within a set."""

from __future__ import annotations

import json
import random
from pathlib import Path

from assay.data import ScanOptions, scan_path

BASE = [
    "Switch the router off at the power socket, wait thirty seconds and switch it on again.",
    "Bills are issued on the first working day of each month and cover the month ahead of it.",
    "The Service Status page lists planned maintenance and any fault reported in your area.",
    "Cancellation needs one month's notice through the portal, and the router must be returned.",
]


def _write(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))


def test_exact_and_near_duplicates_are_told_apart(tmp_path: Path) -> None:
    rng = random.Random(5)
    unrelated = [
        f"Article {i}: " + " ".join(rng.sample(BASE[0].split(), 8)) + f" code {i * 7919}" for i in range(30)
    ]
    texts = [
        *BASE,
        BASE[0],  # exact copy (row 5)
        BASE[1].upper(),  # the same once normalised: exact (row 6)
        BASE[2].replace("any fault", "any faults"),  # near (row 7)
        BASE[3] + " Thank you.",  # near (row 8)
        *unrelated,
    ]
    path = tmp_path / "d.jsonl"
    _write(path, texts)
    card = scan_path(path, options=ScanOptions(workers=1))
    d = card.duplicates
    assert d.exact_rows == 2
    assert {(p.first.row, p.duplicate.row) for p in d.exact_examples} == {(1, 5), (2, 6)}
    assert d.near_pairs == 2, d.near_examples
    assert {(p.first.row, p.duplicate.row) for p in d.near_examples} == {(3, 7), (4, 8)}
    assert all(0.8 <= p.similarity < 1.0 for p in d.near_examples)
    assert d.near_rows_examined == len(texts)


def test_only_the_first_rows_are_compared_for_near_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    _write(path, [*BASE, *(b + " Thanks." for b in BASE)])
    card = scan_path(path, options=ScanOptions(workers=1, near_dup_rows=4))
    assert card.duplicates.near_rows_examined == 4 and card.duplicates.near_pairs == 0
    card = scan_path(path, options=ScanOptions(workers=1))
    assert card.duplicates.near_pairs == 4


def test_one_template_repeated_stays_cheap(tmp_path: Path) -> None:
    """Thousands of rows that all resemble each other: every row after the first is a near or exact
    duplicate, found without comparing every pair."""
    path = tmp_path / "d.jsonl"
    _write(path, [f"{BASE[0]} Ticket {i % 200}." for i in range(2000)])
    card = scan_path(path, options=ScanOptions(workers=1))
    d = card.duplicates
    assert d.exact_rows == 1800
    assert d.near_pairs == 199


def test_length_distribution_counts_text_only(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": "", "b": ""}\n{"a": "x" , "b": "yz"}\n' + json.dumps({"a": "w" * 300}) + "\n")
    q = scan_path(path).quality
    assert q.length_chars == {"0": 1, "1-64": 1, "257-1024": 1} and q.max_length_chars == 300
    assert q.mean_length_chars == round(303 / 3, 1)
