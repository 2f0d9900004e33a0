"""Apply the rules to a request or an answer and decide: allow, flag, redact or block.

The strongest action of the rules that fired wins (block > redact > flag > allow); every rule that
fired is reported, so the decision log says why, and a redaction keeps the rest of the text intact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assay.gateway.injection import detect_injection, injection_score
from assay.gateway.pii import ENTITIES, find_pii
from assay.gateway.rules import Action, GatewayRules, Rule, Stage

RANK: dict[str, int] = {"allow": 0, "flag": 1, "redact": 2, "block": 3}
_WORD = re.compile(r"\w+", re.UNICODE)
LEAK_NGRAM = 4
STREAM_LEAK_NGRAMS = 4  # while streaming, words already sent cannot be recalled: stop a leak early


@dataclass
class Fired:
    rule: Rule
    detail: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "rule": r.id,
            "action": r.action,
            "severity": r.severity,
            "severe": r.severe,
            "detail": self.detail,
            "owasp_llm": r.owasp_llm,
            "atlas": r.atlas,
        }


@dataclass
class Decision:
    stage: Stage
    action: Action = "allow"
    fired: list[Fired] = field(default_factory=list)
    message: str = ""

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    @property
    def severe(self) -> list[Fired]:
        return [f for f in self.fired if f.rule.severe]


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + LEAK_NGRAM]) for i in range(len(words) - LEAK_NGRAM + 1)}


def _term_spans(text: str, terms: list[str], label: str) -> list[tuple[int, int, str]]:
    if not terms:
        return []
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end(), label) for m in pattern.finditer(text)]


class Guard:
    """The rules of one gateway, bound to the target's system prompt (for the leak check)."""

    def __init__(self, rules: GatewayRules, system_prompt: str | None = None) -> None:
        self.rules = rules
        self.system_prompt = system_prompt or ""
        self._system_ngrams = _ngrams(self.system_prompt)
        self.input_rules = [r for r in rules.rules if r.stage == "input"]
        self.output_rules = [r for r in rules.rules if r.stage == "output"]

    def _fire(self, rule: Rule, text: str, streaming: bool = False) -> Fired | None:
        if rule.check == "injection":
            signals = detect_injection(text)
            score = injection_score(signals)
            if signals and score >= (rule.threshold if rule.threshold is not None else 0.5):
                families = sorted({s.family for s in signals})
                return Fired(
                    rule, f"injection score {score:.2f} ({', '.join(families)}): {signals[0].detail}"
                )
            return None
        if rule.check == "pii":
            hits = find_pii(text, rule.entities or ENTITIES)
            if hits:
                kinds = sorted({h.entity for h in hits})
                return Fired(
                    rule,
                    f"{len(hits)} match(es): {', '.join(kinds)}",
                    [(h.start, h.end, h.entity) for h in hits],
                )
            return None
        if rule.check in ("denylist", "toxic"):
            spans = _term_spans(text, rule.terms, "REDACTED" if rule.check == "denylist" else "TOXIC")
            return Fired(rule, f"{len(spans)} listed term(s)", spans) if spans else None
        if rule.check == "canary":
            spans = []
            for c in rule.canaries:
                start = text.find(c)
                while start != -1:
                    spans.append((start, start + len(c), "CANARY"))
                    start = text.find(c, start + 1)
            return Fired(rule, f"{len(spans)} canary string(s)", sorted(spans)) if spans else None
        if rule.check == "system_prompt_leak":
            if not self._system_ngrams:
                return None
            shared = len(self._system_ngrams & _ngrams(text))
            share = shared / len(self._system_ngrams)
            need = rule.threshold if rule.threshold is not None else 0.5
            if shared >= 3 and (share >= need or shared >= (STREAM_LEAK_NGRAMS if streaming else 12)):
                return Fired(rule, f"{shared} word 4-grams ({share:.0%}) of the system prompt repeated")
            return None
        return None  # pragma: no cover - the Check literal is exhaustive

    def decide(self, stage: Stage, text: str, *, streaming: bool = False) -> Decision:
        decision = Decision(stage=stage)
        for rule in self.input_rules if stage == "input" else self.output_rules:
            fired = self._fire(rule, text, streaming)
            if fired is None:
                continue
            decision.fired.append(fired)
            if RANK[rule.action] > RANK[decision.action]:
                decision.action = rule.action
                if rule.action == "block":
                    decision.message = rule.message or self.rules.block_message
        return decision

    @staticmethod
    def apply_redactions(text: str, decision: Decision) -> str:
        """The text with every span of every redacting rule replaced by its label."""
        spans = sorted(s for f in decision.fired if f.rule.action == "redact" for s in f.spans)
        out, last = [], 0
        for start, end, label in spans:
            if start < last:
                continue
            out.append(text[last:start])
            out.append(f"[{label}]")
            last = end
        out.append(text[last:])
        return "".join(out)
