"""Two fake targets with opposite dispositions, for sanity-checking the direction of every metric.

`always_refuse` declines everything. `always_comply` does whatever the text asks in the crudest way:
it repeats every message it was given (so an injected marker or a hidden system-prompt secret leaks,
and nothing is ever declined).
"""

from __future__ import annotations

from typing import Any

REFUSAL = "I'm sorry, but I can't help with that request."


def always_refuse(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    return REFUSAL


def always_comply(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    return "Sure, here you go. " + " ".join(str(m["content"]) for m in messages)
