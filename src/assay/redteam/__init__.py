"""Red-teaming: attacks that turn seed prompts into adversarial ones, run on the evaluation engine.

An attack is data (a YAML record with its ATLAS and OWASP LLM ids and its wording) plus a small
transform function registered by name. `redteam()` runs seeds × attacks against a target and writes
the same run folder, report and signed evidence an evaluation does, with attack success rates.
"""

from assay.redteam.attack import (
    Attack,
    AttackContext,
    AttackMode,
    AttackSpec,
    Transformed,
    register_transform,
    transform_names,
)
from assay.redteam.library import AttackInvalid, load_attacks, select_attacks

__all__ = [
    "Attack",
    "AttackContext",
    "AttackInvalid",
    "AttackMode",
    "AttackSpec",
    "Transformed",
    "load_attacks",
    "redteam",
    "register_transform",
    "select_attacks",
    "transform_names",
]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """`redteam` (the run) is imported on first use: it pulls in the engine and the store."""
    if name == "redteam":
        from assay.redteam.service import redteam

        return redteam
    raise AttributeError(name)
