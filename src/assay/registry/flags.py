"""Checks on who holds what: the findings a reviewer must see before trusting the RACI matrix."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from assay.manifest.schema import ComponentKind, ControlLevel, ControlPoint, Manifest
from assay.registry.models import FlagKind, RegistryFlag, ResponsibilityAllocation, Severity
from assay.registry.risk_areas import RiskArea, RiskAreaCatalog

EPSILON = 1e-9
"""Scores closer than this are equal: weights are decimals, and 0.1 + 0.2 is not 0.3 in floating point."""


def party_names(manifest: Manifest, ids: Iterable[str]) -> str:
    """'A, B and C' with each party's display name, for messages a person reads."""
    names = [(p.name if (p := manifest.party(i)) else i) for i in ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def holding_flags(manifest: Manifest, catalog: RiskAreaCatalog) -> Iterator[RegistryFlag]:
    """Claims that cannot all be true: two full holders of one lever, or a closed model held downstream."""
    full_holders: dict[tuple[str, ControlPoint], list[str]] = {}
    for h in manifest.control_points:
        if h.level is ControlLevel.full:
            holders = full_holders.setdefault((h.component, h.point), [])
            if h.holder not in holders:
                holders.append(h.holder)
    for (component, point), holders in full_holders.items():
        if len(holders) > 1:
            yield RegistryFlag(
                kind=FlagKind.conflicting_claim,
                severity=Severity.error,
                parties=holders,
                component=component,
                points=[point],
                message=(
                    f"{party_names(manifest, holders)} each claim full control of {point.value} on "
                    f"'{component}'; only one party can hold it fully. Mark the holdings 'shared' "
                    "or remove the wrong claim."
                ),
            )

    rule = catalog.model_types[manifest.system.model_type]
    if rule.downstream_may_hold_upstream:
        return
    for h in manifest.control_points:
        component = manifest.component(h.component)
        if (
            component is not None
            and component.kind is ComponentKind.foundation_model
            and h.point in catalog.upstream_points
            and h.holder != component.provider
        ):
            yield RegistryFlag(
                kind=FlagKind.closed_model_violation,
                severity=Severity.error,
                parties=[h.holder],
                component=component.id,
                points=[h.point],
                message=(
                    f"The model is closed, yet {party_names(manifest, [h.holder])} claims {h.point.value} "
                    f"on '{component.id}', which only its provider "
                    f"{party_names(manifest, [component.provider])} can change. Either the model type "
                    "is wrong or the claim belongs on a fine-tune component."
                ),
            )


def area_flags(
    manifest: Manifest, area: RiskArea, allocation: ResponsibilityAllocation
) -> Iterator[RegistryFlag]:
    """Gaps, unheld levers, ties and overrides without control, for one risk area."""
    if allocation.not_applicable:
        return
    total = sum(allocation.scores.values())
    if total <= EPSILON:
        yield RegistryFlag(
            kind=FlagKind.gap,
            severity=Severity.error,
            risk_area=area.id,
            points=list(area.control_points),
            message=(
                f"Nobody holds any control point of '{area.title}' "
                f"({', '.join(p.value for p in area.control_points)}), so nobody can be responsible for it. "
                "Assign the control points, or list the area under "
                "responsibility.risk_areas_not_applicable with a reason in review."
            ),
        )
    else:
        held = {b.point for b in allocation.basis}
        unheld = [p for p, w in area.control_points.items() if w > 0 and p not in held]
        if unheld:
            yield RegistryFlag(
                kind=FlagKind.uncovered_points,
                severity=Severity.warning,
                risk_area=area.id,
                points=unheld,
                message=(
                    f"In '{area.title}', nobody holds {', '.join(p.value for p in unheld)} "
                    f"({sum(area.control_points[p] for p in unheld):.0%} of the area)."
                ),
            )

    if allocation.source == "derived" and allocation.accountable is None and total > EPSILON:
        top = max(allocation.scores.values())
        leaders = [p for p, s in allocation.scores.items() if s >= top - EPSILON]
        yield RegistryFlag(
            kind=FlagKind.ambiguous_accountability,
            severity=Severity.warning,
            risk_area=area.id,
            parties=leaders,
            message=(
                f"{party_names(manifest, leaders)} have equal control of '{area.title}' "
                f"(score {top:g} each), so no single party is accountable. "
                "Decide with an entry in responsibility.overrides."
            ),
        )

    accountable = allocation.accountable
    if allocation.source == "override" and accountable and allocation.scores.get(accountable, 0.0) <= EPSILON:
        yield RegistryFlag(
            kind=FlagKind.override_without_control,
            severity=Severity.warning,
            risk_area=area.id,
            parties=[accountable],
            message=(
                f"The override makes {party_names(manifest, [accountable])} accountable for "
                f"'{area.title}', but that party holds none of its control points. Accountability "
                "without a lever to pull needs a contract or process that gives it one."
            ),
        )


def override_flags(manifest: Manifest, not_applicable: set[str]) -> Iterator[RegistryFlag]:
    """Overrides that were not applied as written: repeated, or aimed at an area marked not applicable."""
    seen: set[str] = set()
    for o in manifest.responsibility.overrides:
        if o.risk_area in seen:
            yield RegistryFlag(
                kind=FlagKind.duplicate_override,
                severity=Severity.warning,
                risk_area=o.risk_area,
                message=f"More than one override names '{o.risk_area}'; the last one is used.",
            )
        seen.add(o.risk_area)
        if o.risk_area in not_applicable:
            yield RegistryFlag(
                kind=FlagKind.override_ignored,
                severity=Severity.warning,
                risk_area=o.risk_area,
                parties=[o.accountable],
                message=(
                    f"'{o.risk_area}' is listed as not applicable, so its override is ignored. "
                    "Remove one of the two."
                ),
            )
