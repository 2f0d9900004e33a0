"""Store, blobs, keys and evidence, on every database backend."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.assurance.evidence import list_evidence, record_evidence, verify_evidence
from assay.cli.main import app
from assay.manifest import ManifestInvalid, load_manifest
from assay.manifest.schema import AllocationOverride, Party
from assay.registry import service
from assay.store.blobs import BlobStore, sha256_bytes

from .conftest import EXAMPLE, example_text

runner = CliRunner()


def test_migrations_match_the_tables(database_url: str) -> None:
    """Alembic's schema and the SQLAlchemy models agree: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from assay.store.db import Database
    from assay.store.tables import Base

    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        Database(database_url).dispose()  # a second start migrates nothing and does not fail
    finally:
        db.dispose()


def test_head_revision_constant_matches_the_migrations() -> None:
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from assay.store.db import HEAD_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("assay.store").joinpath("migrations")))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    from sqlalchemy import text

    from assay.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_register_update_and_override(workspace) -> None:  # type: ignore[no-untyped-def]
    m = load_manifest(EXAMPLE)
    first = service.register_system(workspace, m)
    again = service.register_system(workspace, m)  # re-registering replaces, it does not duplicate
    assert first.id == again.id == "helpdesk"
    assert [s.id for s in service.list_systems(workspace)] == ["helpdesk"]
    assert again.parties == 4 and again.components == 5

    service.add_party(
        workspace, "helpdesk", Party(id="auditor", name="Independent Auditor", roles=["data_provider"])
    )
    assert service.get_system(workspace, "helpdesk").parties == 5

    override = AllocationOverride(
        risk_area="factuality",
        accountable="kb-writers",
        responsible=["kb-writers", "lion-city-broadband"],
        rationale="The help-article team signs off every article the assistant may quote.",
        decided_by="Head of Customer Care",
    )
    stored = service.add_override(workspace, "helpdesk", override)
    (kept,) = [o for o in stored.responsibility.overrides if o.risk_area == "factuality"]
    assert kept.rationale.startswith("The help-article team")
    assert kept.decided_on is not None
    # registering the file again keeps the override made through the API
    service.register_system(workspace, m)
    assert any(
        o.risk_area == "factuality"
        for o in service.get_manifest(workspace, "helpdesk").responsibility.overrides
    )


def test_invalid_change_is_rolled_back(workspace) -> None:  # type: ignore[no-untyped-def]
    service.register_system(workspace, load_manifest(EXAMPLE))
    bad = AllocationOverride(
        risk_area="factuality", accountable="nobody-here", responsible=["nobody-here"], rationale="x" * 25
    )
    with pytest.raises(ManifestInvalid) as info:
        service.add_override(workspace, "helpdesk", bad)
    assert "nobody-here" in str(info.value)
    dup = Party(id="kb-writers", name="Again", roles=["data_provider"])
    with pytest.raises(service.RegistryConflict, match="already has a party with id 'kb-writers'"):
        service.add_party(workspace, "helpdesk", dup)
    assert service.get_system(workspace, "helpdesk").parties == 4
    assert service.get_manifest(workspace, "helpdesk").responsibility.overrides == []
    with pytest.raises(service.SystemNotFound):
        service.get_manifest(workspace, "nope")


def test_blob_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    digest = store.put(b"evidence")
    assert digest == sha256_bytes(b"evidence")
    assert store.put(b"evidence") == digest
    assert store.get(digest) == b"evidence"
    assert not [p for p in (tmp_path / "blobs").rglob("*.tmp")]
    assert store.check(digest).ok
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_signing_key_is_private(tmp_path: Path) -> None:
    from assay.workspace import Workspace

    ws = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'x.db'}")
    key = ws.signing_key
    mode = stat.S_IMODE(os.stat(tmp_path / ".assay" / "keys" / "signing-ed25519.pem").st_mode)
    assert mode == 0o600
    assert Workspace(tmp_path / ".assay").signing_key.key_id == key.key_id  # loaded, not regenerated


def test_flipped_byte_fails_verification_naming_the_blob(workspace) -> None:  # type: ignore[no-untyped-def]
    a = record_evidence(workspace, b'{"a": 1}', kind="registry.raci", system="helpdesk", name="raci.json")
    b = record_evidence(workspace, b"second", kind="manifest", system="helpdesk", name="assay.yaml")
    assert all(c.ok for c in verify_evidence(workspace))

    blob = workspace.blobs.path(a.sha256)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[3] ^= 0x01
    blob.write_bytes(bytes(data))

    checks = {c.evidence_id: c for c in verify_evidence(workspace)}
    assert not checks[a.id].ok and checks[b.id].ok
    assert "content changed" in checks[a.id].problems[0]
    assert str(blob) in checks[a.id].problems[0]


def test_changed_record_fails_its_signature(workspace) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from assay.store.tables import EvidenceRow

    ev = record_evidence(workspace, b"x", kind="manifest", system="helpdesk", name="assay.yaml")
    with workspace.db.session() as s:
        s.execute(update(EvidenceRow).where(EvidenceRow.id == ev.id).values(summary="edited later"))
    (check,) = verify_evidence(workspace)
    assert not check.ok
    assert "signature" in check.problems[0]


def test_assess_then_cli_verify_detects_a_flipped_byte(tmp_path: Path) -> None:
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    result = runner.invoke(app, ["assess", str(manifest)])
    assert result.exit_code == 0, result.output
    home = tmp_path / ".assay"
    ok = runner.invoke(app, ["evidence", "verify", "--home", str(home)])
    assert ok.exit_code == 0, ok.output

    from assay.workspace import Workspace

    ws = Workspace(home)
    (raci,) = [e for e in list_evidence(ws) if e.name == "raci.json"]
    blob = ws.blobs.path(raci.sha256)
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[-2] ^= 0x20
    blob.write_bytes(bytes(data))
    ws.close()

    bad = runner.invoke(app, ["evidence", "verify", "--home", str(home)])
    assert bad.exit_code == 1
    assert raci.id in bad.stderr and "raci.json" in bad.stderr and raci.sha256 in bad.stderr
