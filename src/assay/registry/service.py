"""Registering systems and changing their registry through the store; shared by the CLI and the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, field_validator

from assay.manifest import Manifest, parse_manifest_data
from assay.manifest.schema import AllocationOverride, Component, ControlPointHolding, Party
from assay.store import systems as store
from assay.workspace import Workspace


class SystemNotFound(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no system with id '{slug}' is registered")
        self.slug = slug


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
        data = json.loads(json.dumps(row.manifest))
        overrides = [{k: v for k, v in o.items() if k != "source"} for o in store.override_dicts(row)]
    data.setdefault("responsibility", {})["overrides"] = overrides
    return parse_manifest_data(data, f"<stored system {slug}>")


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
        store.upsert_system(s, clean, manifest_digest(clean))
        return manifest


def add_party(ws: Workspace, slug: str, party: Party) -> Manifest:
    return _change(ws, slug, lambda d: d["parties"].append(party.model_dump(mode="json", by_alias=True)))


def add_component(ws: Workspace, slug: str, component: Component) -> Manifest:
    return _change(
        ws, slug, lambda d: d.setdefault("components", []).append(component.model_dump(mode="json"))
    )


def add_control_point(ws: Workspace, slug: str, holding: ControlPointHolding) -> Manifest:
    return _change(
        ws, slug, lambda d: d.setdefault("control_points", []).append(holding.model_dump(mode="json"))
    )


def add_override(ws: Workspace, slug: str, override: AllocationOverride) -> Manifest:
    """Keep a person's override, with its rationale; checked against the system's parties first."""
    data = override.model_dump(mode="json")
    if data.get("decided_on") is None:
        data["decided_on"] = dt.date.today().isoformat()
    with ws.db.write_session() as s:
        row = store.get_system_row(s, slug)
        if row is None:
            raise SystemNotFound(slug)
        trial = json.loads(json.dumps(row.manifest))
        trial.setdefault("responsibility", {}).setdefault("overrides", []).append(data)
        parse_manifest_data(trial, f"<system {slug}>")  # unknown party or risk area -> ManifestInvalid
        store.add_override_row(s, row, data, source="api")
    return get_manifest(ws, slug)
