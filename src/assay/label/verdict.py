"""Grades, risk tier and completeness of a label under a policy pack, decided by the policy engine
(`assay.policy.verdict.judge`) from the label's own measurements and area statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from assay.label.models import AreaStatus, Completeness, PolicySummary
from assay.policy.models import DisclosureArea, Grade, Measurement, PolicyPack

ALL_AREAS: list[DisclosureArea] = list(get_args(DisclosureArea))


def gradable(measurements: list[Measurement]) -> list[Measurement]:
    """Rules grade whole-suite and per-category values; per-language rows are shown, not graded (a rule
    names no language, so a per-language row would otherwise be graded as if it were the whole suite)."""
    return [m for m in measurements if m.language is None]


def no_pack_completeness(status: dict[str, AreaStatus]) -> Completeness:
    """Without a pack every area counts as required."""
    missing = [a for a in ALL_AREAS if status.get(a) != "disclosed"]
    score = (len(ALL_AREAS) - len(missing)) / len(ALL_AREAS)
    return Completeness(score=score, required=list(ALL_AREAS), missing=missing)


def decide(
    pack: PolicyPack | None,
    measurements: list[Measurement],
    status: dict[str, AreaStatus],
    *,
    sector: str,
    model_type: str,
) -> tuple[list[Grade], PolicySummary | None, Completeness]:
    """(grades, policy summary, completeness) of a label. No pack: no grades, every area required."""
    if pack is None:
        return [], None, no_pack_completeness(status)
    from assay.policy.verdict import judge

    v = judge(pack, gradable(measurements), status, sector=sector, model_type=model_type)
    return list(v.grades), v.summary(), v.completeness_block()


def resolve_pack(ref: Any, base_dir: Path | None = None) -> PolicyPack:
    """The pack a manifest or command line names (None: the built-in baseline); raises PackInvalid."""
    from assay.policy.loader import resolve_pack as resolve

    return resolve(ref, base_dir)
