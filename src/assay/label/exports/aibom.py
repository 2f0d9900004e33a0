"""The whole system's AI bill of materials (CycloneDX 1.6 JSON), built from the manifest and the
registry's inventory: every component with its supplier, licence, declared and computed SHA-256, the
datasets as `data` components, hosting as services, and the `based_on` lineage as dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.label.exports.cdx_common import (
    MEDIA_TYPE,
    bom_skeleton,
    licence_choice,
    organisation,
    prop,
    serial_number,
    sha256_hash,
    to_json_bytes,
    utc_time,
    validate_cyclonedx,
)
from assay.label.exports.mlbom import (
    CDX_TYPE,
    MODEL_DATA_PURPOSES,
    MODEL_KINDS,
    SERVICE_KINDS,
    component_ref,
    dataset_component,
    dataset_ref,
    system_ref,
)
from assay.label.models import DatasetEntry
from assay.manifest.files import inside
from assay.manifest.schema import Component, Dataset, Manifest, PartyRole
from assay.registry.inventory import Inventory, InventoryItem, build_inventory
from assay.store.blobs import sha256_file

AIBOM_NAME = "aibom.cdx.json"
# A dataset folder is summarised by one digest over its files' digests; past this many files it is not.
MAX_TREE_FILES = 100_000


def tree_sha256(folder: Path) -> str | None:
    """SHA-256 over the sorted lines 'relative/path<TAB>sha256' of every regular file in `folder` that
    stays inside it (links leaving it are skipped), so a folder dataset has one reproducible digest."""
    import hashlib

    lines = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not inside(folder, path):
            continue
        lines.append(f"{path.relative_to(folder).as_posix()}\t{sha256_file(path)}\n")
        if len(lines) > MAX_TREE_FILES:
            return None
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _dataset_digest(ds: Dataset, base: Path) -> tuple[str | None, list[dict[str, str]]]:
    """The dataset's computed hash (a file) or tree digest (a folder), and what was found, as properties."""
    if not ds.path:
        return None, [prop("dataset.sha256.status", "no path in the manifest")]
    path = Path(ds.path).expanduser()
    full = path if path.is_absolute() else base / path
    if not ds.allow_outside and not inside(base, full):
        return None, [prop("dataset.sha256.status", "path leaves the manifest's folder; not read")]
    try:
        return _read_digest(ds, full)
    except OSError as exc:  # a file that cannot be read is stated, not fatal: the rest of the BOM stands
        where = exc.filename or full
        return None, [prop("dataset.sha256.status", f"could not be read: {where}: {exc.strerror or exc}")]


def _read_digest(ds: Dataset, full: Path) -> tuple[str | None, list[dict[str, str]]]:
    if full.is_file():
        return sha256_file(full), [prop("dataset.sha256.status", "computed")]
    if full.is_dir():
        tree = tree_sha256(full)
        if tree is None:
            return None, [prop("dataset.sha256.status", f"folder of more than {MAX_TREE_FILES} files")]
        return None, [prop("dataset.sha256_tree", tree), prop("dataset.sha256.status", "folder: tree digest")]
    if full.exists():
        return None, [prop("dataset.sha256.status", "not a regular file or folder")]
    return None, [prop("dataset.sha256.status", f"not found: {ds.path}")]


def _hashes(c: Component, item: InventoryItem | None) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """`hashes` holds the computed SHA-256 when the artifact was read, else the declared one; the
    properties say which, and a mismatch is stated rather than hidden."""
    declared = c.artifact.sha256 if c.artifact else None
    computed = item.artifact_sha256 if item else None
    props: list[dict[str, str]] = []
    if declared:
        props.append(prop("artifact.sha256.declared", declared))
    if computed:
        props.append(prop("artifact.sha256.computed", computed))
    if c.artifact is None:
        status = "no artifact in the manifest"
    elif computed and declared:
        status = "match" if computed == declared else "mismatch"
    elif computed:
        status = "computed; none declared"
    else:
        status = "declared; not computed" if declared else "not computed"
    props.append(prop("artifact.sha256.status", status))
    if item is not None and item.problem:
        props.append(prop("artifact.problem", item.problem))
    digest = computed or declared
    return ([sha256_hash(digest)] if digest else []), props


def _purl(c: Component, item: InventoryItem | None) -> str | None:
    """A Package URL for an artifact shipped in a Python distribution (the file as its subpath)."""
    if c.artifact is None or not c.artifact.python_package:
        return None
    from packageurl import PackageURL

    version = item.distribution_version if item else None
    return PackageURL(
        type="pypi", name=c.artifact.python_package.lower(), version=version or None, subpath=c.artifact.path
    ).to_string()


def _supplier(m: Manifest, party_id: str) -> dict[str, Any]:
    party = m.party(party_id)
    return organisation(party.name, party.contact) if party else {"name": party_id}


def _component(m: Manifest, c: Component, item: InventoryItem | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": CDX_TYPE.get(c.kind.value, "application"),
        "bom-ref": component_ref(c.id),
        "supplier": _supplier(m, c.provider),
        "name": c.name,
    }
    if c.version:
        out["version"] = c.version
    if c.description:
        out["description"] = c.description
    hashes, hash_props = _hashes(c, item)
    if hashes:
        out["hashes"] = hashes
    licences = licence_choice(c.licence)
    if licences:
        out["licenses"] = licences
    purl = _purl(c, item)
    if purl:
        out["purl"] = purl
    if c.kind.value in MODEL_KINDS:
        out["modelCard"] = _declared_model_card(m, c)
    props = [prop("component.id", c.id), prop("component.kind", c.kind.value)]
    if c.artifact is not None:
        props.append(prop("artifact.path", c.artifact.path))
    out["properties"] = props + hash_props
    return out


def _declared_model_card(m: Manifest, c: Component) -> dict[str, Any]:
    """What the manifest declares about a model (no measurements: those are the label's ML-BOM)."""
    params: dict[str, Any] = {
        "task": "text-generation",
        "inputs": [{"format": "text"}],
        "outputs": [{"format": "text"}],
    }
    data = [{"ref": dataset_ref(ds.id)} for ds in m.datasets if ds.purpose in MODEL_DATA_PURPOSES]
    if data:
        params["datasets"] = data
    considerations: dict[str, Any] = {"useCases": [m.system.intended_use]}
    if m.system.users:
        considerations["users"] = [m.system.users]
    if m.system.out_of_scope_uses:
        considerations["technicalLimitations"] = [f"out of scope: {u}" for u in m.system.out_of_scope_uses]
    return {"bom-ref": f"model-card:{c.id}", "modelParameters": params, "considerations": considerations}


def _service(m: Manifest, c: Component, item: InventoryItem | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bom-ref": component_ref(c.id),
        "provider": _supplier(m, c.provider),
        "name": c.name,
    }
    if c.version:
        out["version"] = c.version
    if c.description:
        out["description"] = c.description
    licences = licence_choice(c.licence)
    if licences:
        out["licenses"] = licences
    _, hash_props = _hashes(c, item)  # services carry no hashes in CycloneDX; keep what is known
    out["properties"] = [prop("component.id", c.id), prop("component.kind", c.kind.value), *hash_props]
    return out


def ai_bom(
    manifest: Manifest, base_dir: Path, inventory: Inventory | None = None, *, timestamp: str | None = None
) -> dict[str, Any]:
    """The system's AI-BOM as CycloneDX 1.6 JSON, validated against the official schema.

    `inventory` (from `build_inventory`) is computed when not given; artifact paths and dataset paths are
    read relative to `base_dir`, the manifest's folder. `timestamp` (ISO 8601 UTC, default now) also
    seeds the serial number, so an assessment that passes its own time gets the same bytes again.
    """
    m = manifest
    inv = inventory if inventory is not None else build_inventory(m, base_dir)
    items = {i.id: i for i in inv.components}
    timestamp = utc_time(timestamp, "timestamp") if timestamp else _now()
    bom = bom_skeleton(serial_number("aibom", m.system.id, m.system.version, timestamp), timestamp)
    deployer = next((p for p in m.parties if PartyRole.application_deployer in p.roles), None)
    system: dict[str, Any] = {
        "type": "application",
        "bom-ref": system_ref(m.system.id),
        "name": m.system.name,
        "version": m.system.version,
    }
    if deployer is not None:
        system["supplier"] = organisation(deployer.name, deployer.contact)
        bom["metadata"]["supplier"] = organisation(deployer.name, deployer.contact)
    if m.system.description:
        system["description"] = m.system.description
    bom["metadata"]["component"] = system
    bom["metadata"]["properties"] = [
        prop("system.id", m.system.id),
        prop("system.sector", m.system.sector),
        prop("system.model_type", m.system.model_type.value),
        *[prop(f"party.{p.id}", f"{p.name} ({', '.join(r.value for r in p.roles)})") for p in m.parties],
    ]

    components: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for c in m.components:
        if c.kind.value in SERVICE_KINDS:
            services.append(_service(m, c, items.get(c.id)))
        else:
            components.append(_component(m, c, items.get(c.id)))
    for ds in m.datasets:
        digest, ds_props = _dataset_digest(ds, base_dir)
        entry = DatasetEntry(
            id=ds.id,
            name=ds.name,
            provider=ds.provider,
            purpose=ds.purpose,
            licence=ds.licence,
            contains_personal_data=ds.contains_personal_data,
        )
        party = m.party(ds.provider)
        comp = dataset_component(entry, party.name if party else ds.provider, digest)
        if ds.description:
            comp["description"] = ds.description
        comp["properties"] += ds_props
        components.append(comp)
    if components:
        bom["components"] = components
    if services:
        bom["services"] = services

    refs = [x["bom-ref"] for x in components + services]
    deps: list[dict[str, Any]] = [{"ref": system_ref(m.system.id), "dependsOn": refs}] if refs else []
    known = {c.id for c in m.components}
    for c in m.components:
        dep: dict[str, Any] = {"ref": component_ref(c.id)}
        if c.based_on and c.based_on in known:
            dep["dependsOn"] = [component_ref(c.based_on)]
        deps.append(dep)
    deps += [{"ref": f"dataset:{ds.id}"} for ds in m.datasets]
    if deps:
        bom["dependencies"] = deps
    return validate_cyclonedx(bom, "the system's CycloneDX 1.6 AI-BOM")


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_ai_bom(
    manifest: Manifest, base_dir: Path, inventory: Inventory | None = None, *, timestamp: str | None = None
) -> tuple[str, bytes, str]:
    """(`aibom.cdx.json`, its bytes, its media type), for `assay assess`, `assay bom` and the API."""
    bom = ai_bom(manifest, base_dir, inventory, timestamp=timestamp)
    return AIBOM_NAME, to_json_bytes(bom), MEDIA_TYPE
