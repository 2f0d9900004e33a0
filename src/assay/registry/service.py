"""Registering systems and changing their registry through the store; shared by the CLI and the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, field_validator

from assay.manifest import Manifest, parse_manifest_data
from assay.manifest.loader import MAX_MANIFEST_BYTES
from assay.manifest.schema import (
    AllocationDecision,
    AllocationOverride,
    Component,
    ControlPointHolding,
    Party,
)
from assay.registry.overrides import decide
from assay.store import systems as store
from assay.workspace import Workspace


class SystemNotFound(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no system with id '{slug}' is registered")
        self.slug = slug


class RegistryConflict(ValueError):
    """A change the current state of the system refuses: the thing exists already, or it would not fit."""


def _check_size(slug: str, data: Any) -> None:
    """A stored manifest stays within the size `assay validate` accepts for a file (2 MiB)."""
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_MANIFEST_BYTES:
        raise RegistryConflict(
            f"system '{slug}' would grow to {size:,} bytes, past the "
            f"{MAX_MANIFEST_BYTES // (1024 * 1024)} MiB a manifest may have; nothing was changed"
        )


class SystemRecord(BaseModel):
    id: str
    name: str
    version: str
    model_type: str
    sector: str
    manifest_sha256: str
    created_at: dt.datetime
    updated_at: dt.datetime
    parties: int
    components: int

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        """SQLite hands back naive times; they are UTC, and say so."""
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def manifest_json(manifest: Manifest) -> dict[str, Any]:
    return manifest.model_dump(mode="json", by_alias=True)


def manifest_digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def register_system(ws: Workspace, manifest: Manifest) -> SystemRecord:
    """Store (or replace) the system a manifest describes, in one transaction."""
    data = manifest_json(manifest)
    _check_size(manifest.system.id, data)
    with ws.db.write_session() as s:
        row = store.upsert_system(s, data, manifest_digest(data))
        return SystemRecord.model_validate(store.system_summary(row))


def list_systems(ws: Workspace) -> list[SystemRecord]:
    with ws.db.session() as s:
        return [SystemRecord.model_validate(store.system_summary(r)) for r in store.list_system_rows(s)]


def get_system(ws: Workspace, slug: str) -> SystemRecord:
    with ws.db.session() as s:
        row = store.get_system_row(s, slug)
        if row is None:
            raise SystemNotFound(slug)
        return SystemRecord.model_validate(store.system_summary(row))


def get_manifest(ws: Workspace, slug: str) -> Manifest:
    """The stored manifest with every kept override (API-made ones included) in `responsibility`."""
    with ws.db.session() as s:
        row = store.get_system_row(s, slug)
        if row is None:
            raise SystemNotFound(slug)
        return manifest_of_row(row)


def manifest_of_row(row: Any) -> Manifest:
    """A stored system's manifest with its kept overrides, from a row read in the caller's session."""
    data = json.loads(json.dumps(row.manifest))
    overrides = [{k: v for k, v in o.items() if k != "source"} for o in store.override_dicts(row)]
    data.setdefault("responsibility", {})["overrides"] = overrides
    return parse_manifest_data(data, f"<stored system {row.slug}>")


def delete_system(ws: Workspace, slug: str) -> None:
    with ws.db.write_session() as s:
        if not store.delete_system_row(s, slug):
            raise SystemNotFound(slug)


def _change(ws: Workspace, slug: str, mutate: Callable[[dict[str, Any]], None]) -> Manifest:
    """Apply a change to the stored manifest; it is saved only if the result still validates."""
    with ws.db.write_session() as s:
        row = store.get_system_row(s, slug)
        if row is None:
            raise SystemNotFound(slug)
        data = json.loads(json.dumps(row.manifest))
        mutate(data)
        manifest = parse_manifest_data(data, f"<system {slug}>")  # raises ManifestInvalid
        clean = manifest_json(manifest)
        _check_size(slug, [clean, store.override_dicts(row)])
        store.upsert_system(s, clean, manifest_digest(clean))
        return manifest


def _append_new(section: str, item: dict[str, Any], same: Callable[[dict[str, Any]], bool], what: str):
    """A mutation that appends `item` to `section`, refusing (409) one the system already has."""

    def mutate(data: dict[str, Any]) -> None:
        entries = data.setdefault(section, [])
        if any(same(e) for e in entries):
            raise RegistryConflict(what)
        entries.append(item)

    return mutate


def add_party(ws: Workspace, slug: str, party: Party) -> Manifest:
    item = party.model_dump(mode="json", by_alias=True)
    already = f"system '{slug}' already has a party with id '{party.id}'"
    return _change(ws, slug, _append_new("parties", item, lambda e: e.get("id") == party.id, already))


def add_component(ws: Workspace, slug: str, component: Component) -> Manifest:
    item = component.model_dump(mode="json")
    already = f"system '{slug}' already has a component with id '{component.id}'"
    return _change(ws, slug, _append_new("components", item, lambda e: e.get("id") == component.id, already))


def add_control_point(ws: Workspace, slug: str, holding: ControlPointHolding) -> Manifest:
    """A holding is stated once: the same point, component and holder again is a conflict (409)."""
    item = holding.model_dump(mode="json")
    key = (item["point"], item["component"], item["holder"])
    already = (
        f"'{holding.holder}' already holds '{item['point']}' on '{holding.component}' in system '{slug}'"
    )
    return _change(
        ws,
        slug,
        _append_new(
            "control_points",
            item,
            lambda e: (e.get("point"), e.get("component"), e.get("holder")) == key,
            already,
        ),
    )


def add_override(
    ws: Workspace,
    slug: str,
    decision: AllocationDecision,
    decided_by: str | None = None,
    on: dt.date | None = None,
) -> Manifest:
    """Keep a person's override, with its rationale, signed off by `decided_by` on the server's date.

    `decided_by` defaults to the name an `AllocationOverride` carries (domain callers such as the CLI);
    the API always passes the token's name. The date is the server's unless `on` is given by code.
    Checked against the system's parties and risk areas first; an earlier API override of the same
    area is replaced."""
    if decided_by is None:
        decided_by = decision.decided_by if isinstance(decision, AllocationOverride) else ""
    data = decide(decision, decided_by, on).model_dump(mode="json")
    with ws.db.write_session() as s:
        row = store.get_system_row(s, slug)
        if row is None:
            raise SystemNotFound(slug)
        trial = json.loads(json.dumps(row.manifest))
        trial.setdefault("responsibility", {}).setdefault("overrides", []).append(data)
        parse_manifest_data(trial, f"<system {slug}>")  # unknown party or risk area -> ManifestInvalid
        _check_size(slug, [row.manifest, store.override_dicts(row), data])
        store.add_override_row(s, row, data, source="api")
    return get_manifest(ws, slug)
