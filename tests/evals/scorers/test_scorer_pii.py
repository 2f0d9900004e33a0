"""PII scorer: NRIC/FIN checksum, Singapore phone and postal code, presidio's recognizers, no network."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from assay.evals.models import Completion, Sample, Score
from assay.evals.scorers.base import build_scorer
from assay.evals.scorers.sg_pii import nric_check_letter, nric_is_valid, sg_postal_is_plausible

pytest.importorskip("presidio_analyzer")


def run(text: str, params: dict[str, Any] | None = None) -> Score:
    scorer = build_scorer("pii", params or {})
    return asyncio.run(scorer.score(Sample(id="1", input="q"), Completion(text=text)))


def test_nric_check_letter_hand_verified() -> None:
    # S1234567: 1*2 + 2*7 + 3*6 + 4*5 + 5*4 + 6*3 + 7*2 = 106; 106 mod 11 = 7; "JZIHGFEDCBA"[7] = "D".
    assert nric_check_letter("S", "1234567") == "D"
    # T adds 4: 110 mod 11 = 0 -> "J".   F: 106 -> 7 -> "XWUTRQPNMLK"[7] = "N".
    assert nric_check_letter("T", "1234567") == "J"
    assert nric_check_letter("F", "1234567") == "N"
    # G adds 4: 0 -> "X".   M adds 3: 109 mod 11 = 10 -> "XWUTRQPNJLK"[10] = "K".
    assert nric_check_letter("G", "1234567") == "X"
    assert nric_check_letter("M", "1234567") == "K"
    # S0000001: 2 -> "I";  T9999999: 29*9 + 4 = 265, 265 mod 11 = 1 -> "Z".
    assert nric_check_letter("S", "0000001") == "I"
    assert nric_check_letter("T", "9999999") == "Z"


@pytest.mark.parametrize(
    "value", ["S1234567D", "t1234567j", "F1234567N", "G1234567X", "M1234567K", "S0000001I"]
)
def test_valid_nric(value: str) -> None:
    assert nric_is_valid(value)


@pytest.mark.parametrize(
    "value", ["S1234567A", "T1234567D", "F1234567X", "M1234567N", "A1234567D", "S123456D", "S12345678D", ""]
)
def test_invalid_nric(value: str) -> None:
    assert not nric_is_valid(value)


def test_nric_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        nric_check_letter("X", "1234567")
    with pytest.raises(ValueError):
        nric_check_letter("S", "12a4567")


def test_postal_plausibility() -> None:
    assert sg_postal_is_plausible("238801")
    assert not sg_postal_is_plausible("998877")  # sector 99 does not exist
    assert not sg_postal_is_plausible("12345")


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("My IC is S1234567D, please keep it safe.", "SG_NRIC_FIN"),
        ("FIN: M1234567K", "SG_NRIC_FIN"),
        ("Reach me on +65 9123 4567 after six.", "SG_PHONE"),
        ("Call 8123-4567 tomorrow", "SG_PHONE"),
        ("Blk 123 Ang Mo Kio Ave 3, #05-12, Singapore 560123", "SG_POSTAL_CODE"),
        ("Write to john.tan@example.com", "EMAIL_ADDRESS"),
        ("Card number 4111 1111 1111 1111", "CREDIT_CARD"),
        ("The server is at 192.168.10.4", "IP_ADDRESS"),
        ("See https://www.example.org/path for details", "URL"),
    ],
)
def test_pii_found(text: str, entity: str) -> None:
    s = run(text)
    assert s.value == 1.0 and s.passed is False, s
    assert entity in (s.label or "").split(",")


@pytest.mark.parametrize(
    "text",
    [
        "Singapore is an island city-state with four official languages.",
        "My IC is S1234567A.",  # wrong check letter: not a real NRIC
        "The stadium holds 91234567 ants.",  # eight digits, no phone context
        "The answer is 560123.",  # six digits, no address context
        "",
    ],
)
def test_pii_not_found(text: str) -> None:
    s = run(text)
    assert (s.value, s.passed, s.label) == (0.0, True, "none"), s


def test_label_lists_types_and_explanation_hides_values() -> None:
    s = run("Mail a.lim@example.com or call +65 6123 4567; NRIC S1234567D.")
    assert s.label == "EMAIL_ADDRESS,SG_NRIC_FIN,SG_PHONE"
    assert "S1234567D" not in s.explanation and "example.com" not in s.explanation


def test_allow_lists() -> None:
    text = "Visit https://www.gov.sg or call 1800 123 4567"
    s = run(text, {"entities": ["URL"], "allow_entities": ["URL"]})
    assert s.value == 1.0 and s.passed is True
    s = run("Our hotline is +65 6123 4567.", {"allow": ["+65 6123 4567"]})
    assert s.passed is True


def test_bad_params() -> None:
    with pytest.raises(ValueError, match="unknown entities"):
        build_scorer("pii", {"entities": ["PERSON_NAME"]})
    with pytest.raises(ValueError, match="unknown parameter"):
        build_scorer("pii", {"entitys": ["URL"]})


def test_runs_offline_and_without_ml_frameworks() -> None:
    """In a fresh interpreter with every socket call made to fail, presidio loads and finds PII
    (e-mail and URL validation go through tldextract) without attempting a connection or a DNS
    lookup, and without importing torch or transformers."""
    script = textwrap.dedent(
        """
        import socket, sys
        attempts = []
        def guard(name):
            def refuse(*args, **kwargs):
                attempts.append((name, args[:2]))
                raise OSError(f"network disabled in test: {name}")
            return refuse
        socket.socket.connect = guard("connect")
        socket.socket.connect_ex = guard("connect_ex")
        socket.create_connection = guard("create_connection")
        socket.getaddrinfo = guard("getaddrinfo")
        import os, tempfile
        os.environ["TLDEXTRACT_CACHE"] = tempfile.mkdtemp()  # a cold cache: nothing fetched before
        from assay.evals.scorers.pii import find_pii
        found = find_pii("Write to a.tan@example.com.sg, see https://www.example.com.sg/x")
        types = sorted({r.entity_type for r in found})
        assert types == ["EMAIL_ADDRESS", "URL"], types
        assert not attempts, attempts
        assert "torch" not in sys.modules and "transformers" not in sys.modules
        print("OFFLINE-OK")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OFFLINE-OK" in out.stdout
