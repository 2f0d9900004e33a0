"""Responsibility allocated by level of control (MGF GenAI 2024, p.7).

Each party's score in a risk area is the sum, over the control points it holds, of how much of the area
the point governs (its weight), how firmly the party holds it (full or shared), and, for the upstream
points of a released foundation model, how much of that hold survives the release. The scores then decide
who is Accountable, Responsible, Consulted and Informed. docs/registry.md states the rule in full.
"""

from __future__ import annotations

from assay.manifest.schema import AllocationOverride, ComponentKind, Manifest
from assay.registry.flags import EPSILON, area_flags, holding_flags, override_flags
from assay.registry.models import (
    HoldingBasis,
    PartyRef,
    RaciMatrix,
    RegistryFlag,
    ResponsibilityAllocation,
)
from assay.registry.risk_areas import RiskArea, RiskAreaCatalog, risk_area_catalog


def score_area(
    manifest: Manifest, area: RiskArea, catalog: RiskAreaCatalog
) -> tuple[dict[str, float], list[HoldingBasis]]:
    """Every party's score in one risk area, with the holdings that produced it.

    A party that holds the same point on several components is counted once, at its strongest hold:
    holding the same lever twice does not make a party twice as responsible.
    """
    rule = catalog.model_types[manifest.system.model_type]
    candidates: list[HoldingBasis] = []
    for holding in manifest.control_points:
        weight = area.control_points.get(holding.point)
        if weight is None:
            continue
        component = manifest.component(holding.component)
        upstream = holding.point in catalog.upstream_points
        on_foundation = component is not None and component.kind is ComponentKind.foundation_model
        level_factor = catalog.control_levels[holding.level]
        model_type_factor = rule.upstream_factor if upstream and on_foundation else 1.0
        candidates.append(
            HoldingBasis(
                party=holding.holder,
                component=holding.component,
                point=holding.point,
                level=holding.level,
                weight=weight,
                level_factor=level_factor,
                model_type_factor=model_type_factor,
                contribution=round(weight * level_factor * model_type_factor, 9),
            )
        )

    strongest: dict[tuple[str, str], int] = {}
    for i, b in enumerate(candidates):
        key = (b.party, b.point)
        if key not in strongest or b.contribution > candidates[strongest[key]].contribution:
            strongest[key] = i
    counted = set(strongest.values())
    basis = [b if i in counted else b.model_copy(update={"counted": False}) for i, b in enumerate(candidates)]

    scores = {p.id: 0.0 for p in manifest.parties}
    for b in basis:
        if b.counted:
            scores[b.party] = round(scores.get(b.party, 0.0) + b.contribution, 9)
    return scores, basis


def derive_roles(
    scores: dict[str, float], share: float
) -> tuple[str | None, list[str], list[str], list[str]]:
    """Accountable, Responsible, Consulted, Informed from scores (in the order of `scores`).

    Accountable is the single top scorer, or nobody when the top is shared or nobody scores at all.
    """
    top = max(scores.values(), default=0.0)
    if top <= EPSILON:
        return None, [], [], list(scores)
    leaders = [p for p, s in scores.items() if s >= top - EPSILON]
    accountable = leaders[0] if len(leaders) == 1 else None
    responsible = [p for p, s in scores.items() if s > EPSILON and s >= share * top - EPSILON]
    consulted = [p for p, s in scores.items() if s > EPSILON and p not in responsible]
    informed = [p for p, s in scores.items() if s <= EPSILON]
    return accountable, responsible, consulted, informed


def _apply_override(
    derived: ResponsibilityAllocation, override: AllocationOverride
) -> ResponsibilityAllocation:
    """The human decision replaces the roles; the derived allocation is kept beside it for comparison."""
    responsible = list(dict.fromkeys(override.responsible))
    named = {override.accountable, *responsible}
    consulted = [p for p, s in derived.scores.items() if s > EPSILON and p not in named]
    informed = [p for p in derived.scores if p not in named and p not in consulted]
    return derived.model_copy(
        update={
            "accountable": override.accountable,
            "responsible": responsible,
            "consulted": consulted,
            "informed": informed,
            "source": "override",
            "rationale": override.rationale,
            "decided_by": override.decided_by or None,
            "decided_on": override.decided_on,
            "derived": derived,
        }
    )


def allocate(manifest: Manifest, catalog: RiskAreaCatalog | None = None) -> RaciMatrix:
    """The RACI matrix of a manifest: one allocation per risk area, overrides applied, flags raised."""
    catalog = catalog or risk_area_catalog()
    not_applicable = set(manifest.responsibility.risk_areas_not_applicable)
    overrides: dict[str, AllocationOverride] = {}
    flags: list[RegistryFlag] = list(holding_flags(manifest, catalog))
    for override in manifest.responsibility.overrides:
        overrides[override.risk_area] = override  # the last one wins; override_flags says so

    allocations: list[ResponsibilityAllocation] = []
    for area in catalog.risk_areas:
        scores, basis = score_area(manifest, area, catalog)
        if area.id in not_applicable:
            derived = ResponsibilityAllocation(
                risk_area=area.id,
                title=area.title,
                accountable=None,
                responsible=[],
                consulted=[],
                informed=[],
                scores=scores,
                basis=basis,
                not_applicable=True,
            )
        else:
            a, r, c, i = derive_roles(scores, catalog.responsible_share)
            derived = ResponsibilityAllocation(
                risk_area=area.id,
                title=area.title,
                accountable=a,
                responsible=r,
                consulted=c,
                informed=i,
                scores=scores,
                basis=basis,
            )
        override = overrides.get(area.id)
        allocation = (
            _apply_override(derived, override) if override and not derived.not_applicable else derived
        )
        allocations.append(allocation)
        flags.extend(area_flags(manifest, area, allocation))

    flags.extend(override_flags(manifest, not_applicable))
    return RaciMatrix(
        system=manifest.system.id,
        system_name=manifest.system.name,
        model_type=manifest.system.model_type,
        catalog_version=catalog.version,
        parties=[PartyRef(id=p.id, name=p.name, roles=list(p.roles)) for p in manifest.parties],
        allocations=allocations,
        flags=flags,
    )
