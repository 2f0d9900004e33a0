"""Systems as stored: the validated manifest as JSON, plus indexed parties, components and holdings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.tables import (
    AllocationOverrideRow,
    ComponentRow,
    ControlHoldingRow,
    PartyRow,
    SystemRow,
    utcnow,
)
from assay.store.upsert import insert_ignoring_conflict


def upsert_system(session: Session, manifest: dict[str, Any], manifest_sha256: str) -> SystemRow:
    """Create or replace a system from a validated manifest; API-made overrides are kept.

    Two processes registering the same new system at once both succeed: the row is created with
    INSERT … ON CONFLICT DO NOTHING and then locked (FOR UPDATE), so the second waits for the first and
    then replaces its contents instead of failing on the unique slug."""
    sysdata = manifest["system"]
    insert_ignoring_conflict(
        session,
        SystemRow,
        {
            "slug": sysdata["id"],
            "name": sysdata["name"],
            "version": sysdata["version"],
            "model_type": sysdata["model_type"],
            "sector": sysdata.get("sector", ""),
            "manifest": manifest,
            "manifest_sha256": manifest_sha256,
        },
        ["slug"],
    )
    row = session.scalars(
        select(SystemRow)
        .where(SystemRow.slug == sysdata["id"])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    row.name = sysdata["name"]
    row.version = sysdata["version"]
    row.model_type = sysdata["model_type"]
    row.sector = sysdata.get("sector", "")
    row.manifest = manifest
    row.manifest_sha256 = manifest_sha256
    row.updated_at = utcnow()
    # Remove the old children first: the unit of work would insert new rows before deleting orphans.
    kept = [o for o in row.overrides if o.source != "manifest"]
    row.parties, row.components, row.holdings = [], [], []
    row.overrides = list(kept)
    session.flush()
    row.parties = [PartyRow(key=p["id"], data=p) for p in manifest.get("parties", [])]
    row.components = [ComponentRow(key=c["id"], data=c) for c in manifest.get("components", [])]
    row.holdings = [ControlHoldingRow(data=h) for h in manifest.get("control_points", [])]
    row.overrides = kept + [
        AllocationOverrideRow(risk_area=o["risk_area"], source="manifest", data=o)
        for o in manifest.get("responsibility", {}).get("overrides", [])
    ]
    session.flush()
    return row


def system_summary(row: SystemRow) -> dict[str, Any]:
    return {
        "id": row.slug,
        "name": row.name,
        "version": row.version,
        "model_type": row.model_type,
        "sector": row.sector,
        "manifest_sha256": row.manifest_sha256,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "parties": len(row.parties),
        "components": len(row.components),
    }


def get_system_row(session: Session, slug: str) -> SystemRow | None:
    return session.scalars(select(SystemRow).where(SystemRow.slug == slug)).one_or_none()


def system_version(session: Session, slug: str) -> tuple[str, tuple[tuple[int, str, str], ...]] | None:
    """What identifies the stored state of a system's allocations — its manifest's digest and its kept
    overrides (id, risk area, source) — in one query, without loading or parsing the manifest: callers
    that derive something from both remember it under this key. None: no such system."""
    from assay.store.tables import AllocationOverrideRow

    q = (
        select(
            SystemRow.manifest_sha256,
            AllocationOverrideRow.id,
            AllocationOverrideRow.risk_area,
            AllocationOverrideRow.source,
        )
        .outerjoin(AllocationOverrideRow, AllocationOverrideRow.system_id == SystemRow.id)
        .where(SystemRow.slug == slug)
    )
    found = session.execute(q).all()
    if not found:
        return None
    overrides = sorted((o_id, area, src) for _, o_id, area, src in found if o_id is not None)
    return found[0][0], tuple(overrides)


def list_system_rows(session: Session) -> list[SystemRow]:
    return list(session.scalars(select(SystemRow).order_by(SystemRow.slug)))


def delete_system_row(session: Session, slug: str) -> bool:
    row = get_system_row(session, slug)
    if row is None:
        return False
    session.delete(row)
    return True


def add_override_row(session: Session, row: SystemRow, override: dict[str, Any], source: str) -> None:
    """Keep a new override; an earlier one for the same area from the same source is replaced."""
    row.overrides = [
        o for o in row.overrides if not (o.risk_area == override["risk_area"] and o.source == source)
    ]
    session.flush()
    row.overrides.append(AllocationOverrideRow(risk_area=override["risk_area"], source=source, data=override))
    session.flush()


def override_dicts(row: SystemRow) -> list[dict[str, Any]]:
    """All kept overrides; an API-made one for an area wins over the manifest's."""
    by_area: dict[str, dict[str, Any]] = {}
    for o in sorted(row.overrides, key=lambda o: (o.source == "api", o.id or 0)):
        by_area[o.risk_area] = {**o.data, "source": o.source}
    return list(by_area.values())
