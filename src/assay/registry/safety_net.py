"""The ex post safety net (MGF GenAI 2024, p.8): indemnities, liability, insurance, no-fault cover.

Allocation says who should prevent harm; the safety net says who pays when harm happens anyway. This
module lists, per risk area, what would respond, and flags cover that has lapsed or is missing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from assay.manifest.schema import Commitment, CommitmentKind, InsurancePolicy, Manifest, Money
from assay.registry.flags import party_names
from assay.registry.models import FlagKind, Frozen, RegistryFlag, Severity
from assay.registry.risk_areas import RiskAreaCatalog, risk_area_catalog

EXPIRING_SOON_DAYS = 60


class CoverStatus(StrEnum):
    valid = "valid"
    expired = "expired"
    not_started = "not_started"


class CoverEntry(Frozen):
    """One insurance policy or commitment, as it stands on the day of the report."""

    kind: Literal["insurance", "commitment"]
    id: str
    type: str
    party: str
    beneficiary: str | None = None
    insurer: str | None = None
    scope: str = ""
    limit: str | None = None
    starts: dt.date | None = None
    expires: dt.date | None = None
    status: CoverStatus
    no_fault: bool = False


class LiabilityEntry(Frozen):
    party: str
    note: str


class RiskAreaCover(Frozen):
    """What would respond if harm arose in one risk area."""

    risk_area: str
    title: str
    not_applicable: bool = False
    commitments: list[CoverEntry]
    insurance: list[CoverEntry]
    liability: list[LiabilityEntry]
    covered: bool


class SafetyNetReport(Frozen):
    system: str
    today: dt.date
    areas: list[RiskAreaCover]
    flags: list[RegistryFlag]

    def area(self, risk_area: str) -> RiskAreaCover | None:
        return next((a for a in self.areas if a.risk_area == risk_area), None)


def _status(starts: dt.date | None, expires: dt.date | None, today: dt.date) -> CoverStatus:
    if expires is not None and expires < today:
        return CoverStatus.expired
    if starts is not None and starts > today:
        return CoverStatus.not_started
    return CoverStatus.valid


def _money(limit: Money | None) -> str | None:
    return f"{limit.currency} {limit.amount:,.0f}" if limit else None


def _policy_entry(p: InsurancePolicy, today: dt.date) -> CoverEntry:
    return CoverEntry(
        kind="insurance",
        id=p.id,
        type="no-fault insurance" if p.no_fault else "insurance",
        party=p.holder,
        insurer=p.insurer,
        limit=_money(p.limit),
        starts=p.starts,
        expires=p.expires,
        status=_status(p.starts, p.expires, today),
        no_fault=p.no_fault,
    )


def _commitment_entry(c: Commitment, today: dt.date) -> CoverEntry:
    return CoverEntry(
        kind="commitment",
        id=c.id,
        type=c.kind.value,
        party=c.by,
        beneficiary=c.to,
        scope=c.scope.strip(),
        limit=_money(c.limit),
        starts=c.starts,
        expires=c.expires,
        status=_status(c.starts, c.expires, today),
    )


def _lapse_flags(
    manifest: Manifest, entry: CoverEntry, areas: list[str], today: dt.date
) -> list[RegistryFlag]:
    """Expired, expiring within EXPIRING_SOON_DAYS, or not yet started."""
    what = f"{entry.type} '{entry.id}' of {party_names(manifest, [entry.party])}"
    covering = f"covering {', '.join(areas)}"
    if entry.status is CoverStatus.expired:
        return [
            RegistryFlag(
                kind=FlagKind.expired_cover,
                severity=Severity.warning,
                parties=[entry.party],
                message=f"The {what} expired on {entry.expires}; it no longer responds ({covering}).",
            )
        ]
    if entry.status is CoverStatus.not_started:
        return [
            RegistryFlag(
                kind=FlagKind.not_yet_in_force,
                severity=Severity.info,
                parties=[entry.party],
                message=f"The {what} starts on {entry.starts}; until then it does not respond ({covering}).",
            )
        ]
    if entry.expires is not None and (entry.expires - today).days <= EXPIRING_SOON_DAYS:
        return [
            RegistryFlag(
                kind=FlagKind.expiring_soon,
                severity=Severity.info,
                parties=[entry.party],
                message=(
                    f"The {what} expires on {entry.expires}, within {EXPIRING_SOON_DAYS} days ({covering})."
                ),
            )
        ]
    return []


def assess_safety_net(
    manifest: Manifest, today: dt.date, catalog: RiskAreaCatalog | None = None
) -> SafetyNetReport:
    """Per risk area, the commitments, insurance and liability notes that apply on `today`, with flags.

    An area counts as covered only by an insurance policy or an indemnity that is in force on `today`;
    warranties, service levels and liability notes are listed but do not pay for harm to others.
    """
    catalog = catalog or risk_area_catalog()
    net = manifest.safety_net
    not_applicable = set(manifest.responsibility.risk_areas_not_applicable)
    policies = [(p, _policy_entry(p, today)) for p in net.insurance]
    commitments = [(c, _commitment_entry(c, today)) for c in net.commitments]

    flags: list[RegistryFlag] = []
    for p, entry in policies:
        flags.extend(_lapse_flags(manifest, entry, p.cover, today))
    for c, entry in commitments:
        flags.extend(_lapse_flags(manifest, entry, c.risk_areas, today))

    areas: list[RiskAreaCover] = []
    for area in catalog.risk_areas:
        area_policies = [e for p, e in policies if area.id in p.cover]
        area_commitments = [e for c, e in commitments if area.id in c.risk_areas]
        covered = any(e.status is CoverStatus.valid for e in area_policies) or any(
            e.status is CoverStatus.valid and e.type == CommitmentKind.indemnity.value
            for e in area_commitments
        )
        applicable = area.id not in not_applicable
        areas.append(
            RiskAreaCover(
                risk_area=area.id,
                title=area.title,
                not_applicable=not applicable,
                commitments=area_commitments,
                insurance=area_policies,
                liability=[
                    LiabilityEntry(party=n.party, note=n.note.strip())
                    for n in net.liability
                    if area.id in n.risk_areas
                ],
                covered=covered,
            )
        )
        if applicable and not covered:
            lapsed = [e.id for e in (*area_policies, *area_commitments) if e.status is not CoverStatus.valid]
            why = f" ({', '.join(lapsed)} not in force)" if lapsed else ""
            flags.append(
                RegistryFlag(
                    kind=FlagKind.no_cover,
                    severity=Severity.warning,
                    risk_area=area.id,
                    message=(
                        f"No insurance policy or indemnity in force on {today} covers '{area.title}'{why}."
                    ),
                )
            )

    no_fault = [e for _, e in policies if e.no_fault and e.status is CoverStatus.valid]
    if no_fault:
        message = (
            "No-fault insurance in force: "
            + "; ".join(f"'{e.id}' held by {party_names(manifest, [e.party])}" for e in no_fault)
            + ". It pays for residual harm without anyone having to prove fault."
        )
    else:
        message = (
            "No no-fault insurance is in force. The framework suggests it for residual harm "
            "that no party can fairly be blamed for."
        )
    flags.append(
        RegistryFlag(
            kind=FlagKind.no_fault,
            severity=Severity.info,
            parties=[e.party for e in no_fault],
            message=message,
        )
    )
    return SafetyNetReport(system=manifest.system.id, today=today, areas=areas, flags=flags)
