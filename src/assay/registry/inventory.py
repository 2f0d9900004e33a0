"""The component inventory: each component with its origin, licence and the hash of its artifact."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from pydantic import BaseModel

from assay.manifest.schema import Artifact, Manifest
from assay.store.blobs import sha256_file


class InventoryItem(BaseModel):
    id: str
    name: str
    kind: str
    provider: str
    version: str
    licence: str
    based_on: str | None
    artifact_path: str | None = None
    artifact_sha256: str | None = None
    artifact_size: int | None = None
    distribution: str | None = None
    distribution_version: str | None = None
    problem: str = ""


class Inventory(BaseModel):
    system: str
    components: list[InventoryItem]


def locate_artifact(artifact: Artifact, base: Path) -> tuple[Path | None, str | None, str]:
    """Find the artifact file: inside an installed distribution, or relative to the manifest."""
    assert artifact.path is not None
    if artifact.python_package:
        try:
            dist = metadata.distribution(artifact.python_package)
        except metadata.PackageNotFoundError:
            return None, None, f"Python package '{artifact.python_package}' is not installed"
        return Path(str(dist.locate_file(artifact.path))), dist.version, ""
    return (base / artifact.path), None, ""


def build_inventory(manifest: Manifest, base: Path) -> Inventory:
    items: list[InventoryItem] = []
    for c in manifest.components:
        item = InventoryItem(
            id=c.id,
            name=c.name,
            kind=c.kind.value,
            provider=c.provider,
            version=c.version,
            licence=c.licence,
            based_on=c.based_on,
        )
        if c.artifact is not None:
            path, dist_version, problem = locate_artifact(c.artifact, base)
            item.distribution = c.artifact.python_package
            item.distribution_version = dist_version
            if path is not None and path.is_file():
                item.artifact_path = str(path)
                item.artifact_sha256 = sha256_file(path)
                item.artifact_size = path.stat().st_size
                if c.artifact.sha256 and c.artifact.sha256 != item.artifact_sha256:
                    problem = (
                        f"artifact hash {item.artifact_sha256} differs from the declared {c.artifact.sha256}"
                    )
            elif not problem:
                problem = f"artifact file not found: {path}"
            item.problem = problem
        items.append(item)
    return Inventory(system=manifest.system.id, components=items)
