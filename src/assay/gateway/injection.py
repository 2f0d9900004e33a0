"""Prompt-injection and jailbreak detection for the gateway's input check.

Built from what Assay already knows about attacks: the phrase families in
`data/injection-phrases.yaml` mirror the red-team library's families, and the wording of every
single-turn attack template in the library (`assay/redteam/attacks`) is compared with the input by
word-trigram overlap, so an attack the red team uses is recognised when it comes through the door.
Before matching, the text is normalised the way the red team's obfuscations are undone (homoglyphs,
zero-width characters) and encoded payloads (base64, ROT13) are decoded and checked too.

Cheap by design (regular expressions and set lookups, no model): it runs on every request.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from assay.gateway.prefilter import Prefilter
from assay.redteam.transforms import ZERO_WIDTH, normalise_text

_WORD = re.compile(r"[a-z0-9']+")
_B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_TURN = re.compile(r"^\s*(user|human|q|question|assistant|ai|a|answer)\s*:", re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TEMPLATE_MIN_SHINGLES = 4
TEMPLATE_COVER = 0.5
MANY_SHOT_TURNS = 6


@dataclass(frozen=True)
class Signal:
    """One reason to think the input is an attack, with the evidence it gives (0-1)."""

    family: str
    weight: float
    detail: str


@dataclass(frozen=True)
class _Family:
    name: str
    weight: float
    patterns: tuple[int, ...]  # positions in _Phrases.patterns, in the file's order


@dataclass(frozen=True)
class _Phrases:
    families: tuple[_Family, ...]
    patterns: tuple[re.Pattern[str], ...]
    prefilter: Prefilter  # which patterns can match a text at all (most cannot: they are skipped)


@cache
def _phrases() -> _Phrases:
    from assay.yamlio import safe_load

    text = resources.files("assay.gateway").joinpath("data/injection-phrases.yaml").read_text("utf-8")
    data = safe_load(text, file="injection-phrases.yaml")
    sources: list[str] = []
    families = []
    for f in data["phrases"]:
        first = len(sources)
        sources.extend(f["patterns"])
        families.append(_Family(f["family"], float(f["weight"]), tuple(range(first, len(sources)))))
    return _Phrases(
        families=tuple(families),
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in sources),
        prefilter=Prefilter(sources),
    )


def _family_match(family: _Family, text: str, candidates: set[int]) -> re.Match[str] | None:
    """The match the family's patterns joined as one alternation would give: the leftmost, and at
    the same place the pattern listed first (patterns that cannot match are not run)."""
    phrases = _phrases()
    best: re.Match[str] | None = None
    for i in family.patterns:
        if i not in candidates:
            continue
        m = phrases.patterns[i].search(text)
        if m is not None and (best is None or m.start() < best.start()):
            best = m
    return best


def _shingles(text: str) -> set[tuple[str, str, str]]:
    words = _WORD.findall(text.lower())
    return {(words[i], words[i + 1], words[i + 2]) for i in range(len(words) - 2)}


@cache
def _template_signatures() -> tuple[tuple[str, frozenset[tuple[str, str, str]]], ...]:
    """Word trigrams of the fixed wording of each single-turn attack template in the red-team library."""
    from assay.redteam.library import load_attacks

    out = []
    for attack in load_attacks(plugins=False, check_ids=False).values():
        spec = attack.spec
        for template in spec.templates:
            fixed = _PLACEHOLDER.sub(" ", template)
            sh = _shingles(fixed)
            if len(sh) >= TEMPLATE_MIN_SHINGLES:
                out.append((spec.id, frozenset(sh)))
    return tuple(out)


def _decoded_payloads(text: str) -> list[tuple[str, str]]:
    """Base64 runs that decode to readable text, and the ROT13 reading when the text mentions it."""
    found = []
    for m in _B64.finditer(text):
        try:
            raw = base64.b64decode(m.group(0), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
        if decoded and printable / len(decoded) > 0.95 and len(_WORD.findall(decoded.lower())) >= 3:
            found.append(("base64", decoded))
    if re.search(r"\brot[\s-]?13\b", text, re.IGNORECASE):
        found.append(("rot13", codecs.encode(text, "rot_13")))
    return found


def _scan(text: str, signals: list[Signal], where: str) -> None:
    phrases = _phrases()
    candidates = set(phrases.prefilter.candidates(text))
    for fam in phrases.families:
        m = _family_match(fam, text, candidates)
        if m:
            signals.append(Signal(fam.name, fam.weight, f"{where}'{m.group(0)[:60]}'"))
    sh = _shingles(text)
    if sh:
        for attack_id, sig in _template_signatures():
            cover = len(sig & sh) / len(sig)
            if cover >= TEMPLATE_COVER:
                signals.append(
                    Signal("attack-template", 0.6, f"{where}wording of red-team attack '{attack_id}'")
                )
                break


def detect_injection(text: str) -> list[Signal]:
    """Every signal found in one input text (empty: nothing suspicious)."""
    signals: list[Signal] = []
    normal = normalise_text(text)
    if normal != text:
        hidden = sum(ch in ZERO_WIDTH for ch in text)
        what = f"{hidden} zero-width character(s)" if hidden else "look-alike letters"
        signals.append(Signal("obfuscation", 0.3, f"{what} hide the wording"))
    _scan(normal, signals, "")
    for scheme, decoded in _decoded_payloads(normal):
        before = len(signals)
        _scan(normalise_text(decoded), signals, f"in {scheme}-decoded text: ")
        if len(signals) > before or scheme == "base64":
            signals.append(Signal("encoded-payload", 0.35, f"a {scheme} payload is decoded and read"))
    turns = len(_TURN.findall(normal))
    if turns >= MANY_SHOT_TURNS:
        signals.append(Signal("many-shot", 0.5, f"{turns} dialogue turns written into one message"))
    return signals


def injection_score(signals: list[Signal]) -> float:
    """Evidence from distinct families adds up (each family counts once), capped at 1."""
    best: dict[str, float] = {}
    for s in signals:
        best[s.family] = max(best.get(s.family, 0.0), s.weight)
    return min(1.0, sum(best.values()))
