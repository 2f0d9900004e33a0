"""Grades, risk tier and completeness of a label under a policy pack.

`assay.policy.verdict.judge` decides these when it is installed (the policy pack engine); until then, and
as its stand-in, this module grades with `assay.policy.grading.grade_all`, applies the pack's first
matching risk-tier rule and scores completeness over the pack's required areas. Either way the label
gets the same three things: grades, a policy summary and a completeness score.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, get_args

from assay.label.models import AreaStatus, Completeness, PolicySummary
from assay.policy.grading import grade_all
from assay.policy.models import DisclosureArea, Grade, Measurement, PolicyPack

ALL_AREAS: list[DisclosureArea] = list(get_args(DisclosureArea))


def gradable(measurements: list[Measurement]) -> list[Measurement]:
    """Rules grade whole-suite and per-category values; per-language rows are shown, not graded."""
    return [m for m in measurements if m.language is None]


def completeness(required: list[DisclosureArea], status: dict[str, AreaStatus]) -> Completeness:
    """Disclosed required areas over required areas (1.0 when nothing is required)."""
    missing = [a for a in required if status.get(a) != "disclosed"]
    score = (len(required) - len(missing)) / len(required) if required else 1.0
    return Completeness(score=round(score, 4), required=list(required), missing=missing)


def _tier(pack: PolicyPack, grades: list[Grade], sector: str, model_type: str) -> tuple[Any, ...]:
    red = {g.rule_id for g in grades if g.status == "red"}
    for rule in pack.risk_tiers:
        why = []
        if sector in rule.sectors:
            why.append(f"sector '{sector}'")
        if model_type in rule.model_types:
            why.append(f"model type '{model_type}'")
        if rule.any_red and red:
            why.append(f"red grade(s): {', '.join(sorted(red))}")
        hit = red & set(rule.red_rules)
        if hit:
            why.append(f"red rule(s): {', '.join(sorted(hit))}")
        if why:
            return rule.tier, rule.id, "; ".join(why), rule.oversight
    return None, None, "", ""


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
        return [], None, completeness(ALL_AREAS, status)
    try:
        from assay.policy.verdict import judge  # type: ignore[import-not-found]
    except ImportError:
        judge = None
    if judge is not None:  # the policy engine decides
        v = judge(pack, gradable(measurements), status, sector=sector, model_type=model_type)
        return list(v.grades), v.summary(), v.completeness_block()
    grades = grade_all(pack, gradable(measurements))
    tier, rule, reason, oversight = _tier(pack, grades, sector, model_type)
    summary = PolicySummary(
        pack_id=pack.id,
        pack_version=pack.version,
        lineage=list(pack.lineage) or [f"{pack.id}@{pack.version}"],
        illustrative=pack.illustrative,
        risk_tier=tier,
        risk_tier_rule=rule,
        risk_tier_reason=reason,
        oversight=oversight,
        counts=dict(sorted(Counter(g.status for g in grades).items())),
    )
    return grades, summary, completeness(list(pack.required_areas), status)


def resolve_pack(ref: Any, base_dir: Path | None = None) -> PolicyPack | None:
    """The pack a manifest or command line names, through the policy engine's loader
    (`assay.policy.loader`). Without that engine only a pack file can be read (None otherwise: the
    label is built ungraded); its problems raise ValueError naming the file."""
    try:
        from assay.policy.loader import resolve_pack as resolve  # type: ignore[import-not-found]
    except ImportError:
        return _read_pack_file(ref, base_dir)
    return resolve(ref, base_dir)  # type: ignore[no-any-return]


def _read_pack_file(ref: Any, base_dir: Path | None) -> PolicyPack | None:
    import yaml
    from pydantic import ValidationError

    from assay.yamlio import read_yaml_text, safe_load

    text = getattr(ref, "path", None) or (str(ref) if isinstance(ref, str | Path) else None)
    if not text or not str(text).endswith((".yaml", ".yml")):
        return None
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return PolicyPack.model_validate(safe_load(read_yaml_text(path), file=str(path)))
    except (OSError, ValueError, ValidationError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not a readable policy pack: {str(exc).splitlines()[0]}") from None
