"""The evidence chain: deletions, insertions, reorders and edited links are detected and the first break
named; concurrent writers to a new system all succeed and the chain stays linear. Every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO, example_text

# One writer, started as its own process: register the example system (first time for all of them),
# then record evidence for it. All writers start at the same instant to make the races likely.
WRITER = """
import sys, time
from pathlib import Path
from assay.workspace import Workspace
from assay.manifest import load_manifest
from assay.registry.service import register_system
from assay.assurance.evidence import record_evidence

home, url, manifest, start_at, tag, count = sys.argv[1:]
ws = Workspace(Path(home), url)
while time.time() < float(start_at):
    time.sleep(0.001)
register_system(ws, load_manifest(Path(manifest)))
for i in range(int(count)):
    record_evidence(ws, f"{tag}-{i}".encode(), kind="manifest", system="helpdesk", name=f"{tag}-{i}.txt")
ws.close()
print("done", tag)
"""


def _writers(tmp_path: Path, url: str, n: int = 3, count: int = 8) -> list[subprocess.CompletedProcess[str]]:
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    start_at = time.time() + 4.0  # every process has imported Assay by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(tmp_path / ".assay"),
                url,
                str(manifest),
                str(start_at),
                f"w{i}",
                str(count),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


@pytest.mark.parametrize("prepared", [False, True], ids=["fresh", "migrated"])
def test_concurrent_first_writers_all_succeed_and_the_chain_stays_linear(
    tmp_path: Path, database_url: str, prepared: bool
) -> None:
    """Fresh: nothing exists yet (the processes race on the schema and the signing key too). Migrated:
    the database and key exist, so the race is on creating the system row and appending to its chain."""
    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import list_evidence, verify_evidence
    from assay.workspace import Workspace

    if prepared:
        ws = Workspace(tmp_path / ".assay", database_url)
        ws.db, ws.signing_key  # noqa: B018 - migrate and create the key now
        ws.close()
    results = _writers(tmp_path, database_url)
    for r in results:
        assert r.returncode == 0, r.stderr[-3000:]
    ws = Workspace(tmp_path / ".assay", database_url)
    try:
        records = list_evidence(ws, system="helpdesk", limit=100)
        assert len(records) == 24
        assert sorted(r.seq for r in records) == list(range(1, 25))
        assert [c for c in verify_evidence(ws) if not c.ok] == []
        (chain,) = verify_chains(ws, system="helpdesk")
        assert chain.ok, chain.problems
        assert chain.intact == 24 and chain.head is not None and chain.head.length == 24
    finally:
        ws.close()


def _six(ws) -> list:  # type: ignore[no-untyped-def]
    from assay.assurance.evidence import record_evidence

    return [
        record_evidence(ws, f"item {i}".encode(), kind="manifest", system="helpdesk", name=f"item-{i}.txt")
        for i in range(1, 7)
    ]


def _set_seq(ws, evidence_id: str, seq: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from assay.store.tables import EvidenceRow

    with ws.db.session() as s:
        s.execute(update(EvidenceRow).where(EvidenceRow.id == evidence_id).values(seq=seq))


def _check(ws):  # type: ignore[no-untyped-def]
    from assay.assurance.chain_check import verify_chains

    (chain,) = verify_chains(ws, system="helpdesk")
    return chain


def test_an_untouched_chain_verifies(workspace) -> None:  # type: ignore[no-untyped-def]
    from assay.assurance.chain import GENESIS, link_hash

    evs = _six(workspace)
    assert [e.seq for e in evs] == [1, 2, 3, 4, 5, 6]
    assert evs[0].prev_hash == GENESIS
    assert evs[1].prev_hash == link_hash(evs[0].model_dump())
    chain = _check(workspace)
    assert chain.ok and chain.intact == 6 and chain.origin == "genesis"
    assert chain.head is not None and chain.head.head_hash == link_hash(evs[-1].model_dump())


def test_a_deleted_record_is_named(workspace) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from assay.assurance.evidence import verify_evidence
    from assay.store.tables import EvidenceRow

    evs = _six(workspace)
    with workspace.db.session() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == evs[2].id))
    assert all(c.ok for c in verify_evidence(workspace))  # each remaining record is fine on its own…
    chain = _check(workspace)  # …but the chain shows the hole
    assert not chain.ok and chain.break_seq == 3 and chain.intact == 2
    assert "record #3 missing" in chain.problems[0] and evs[3].id in chain.problems[0]


def test_an_inserted_forged_record_is_named(workspace) -> None:  # type: ignore[no-untyped-def]
    """The forger renumbers the later records to make room and links the forgery correctly; without the
    key the forgery cannot be signed, and the break is named at its position."""
    from assay.assurance.chain import link_hash
    from assay.assurance.keys import SigningKey
    from assay.store.evidence_index import add_evidence_row

    evs = _six(workspace)
    for e in reversed(evs[3:]):
        _set_seq(workspace, e.id, e.seq + 1)
    forged = evs[3].model_copy(
        update={"id": "00000000-0000-4000-8000-000000000000", "summary": "forged", "seq": 4}
    )
    forged.prev_hash = link_hash(evs[2].model_dump())
    other = SigningKey.load_or_create(workspace.home / "other-keys")
    forged.key_id = workspace.signing_key.key_id  # claims the workspace's key
    forged.signature = other.sign(forged.signed_payload())
    with workspace.db.session() as s:
        add_evidence_row(s, forged.model_dump())
    chain = _check(workspace)
    assert not chain.ok and chain.break_seq == 4
    assert chain.break_evidence_id == forged.id
    assert "not validly signed" in chain.problems[0]


def test_a_reordered_record_is_named(workspace) -> None:  # type: ignore[no-untyped-def]
    evs = _six(workspace)
    _set_seq(workspace, evs[2].id, 100)
    _set_seq(workspace, evs[3].id, 3)
    _set_seq(workspace, evs[2].id, 4)
    chain = _check(workspace)
    assert not chain.ok and chain.break_seq == 3 and chain.break_evidence_id == evs[3].id


def test_a_modified_prev_hash_is_named(workspace) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from assay.store.tables import EvidenceRow

    evs = _six(workspace)
    with workspace.db.session() as s:
        s.execute(update(EvidenceRow).where(EvidenceRow.id == evs[4].id).values(prev_hash="ab" * 32))
    chain = _check(workspace)
    assert not chain.ok and chain.break_seq == 5 and chain.break_evidence_id == evs[4].id


def test_tail_deletion_is_bounded_by_checkpoints_and_held_heads(workspace) -> None:  # type: ignore[no-untyped-def]
    """Removing the last records: the head row shows it; rewriting the head too, a signed checkpoint
    shows it; removing the checkpoint as well, only a head held outside the store (an index, a report)
    shows it. This is the limit docs/evidence.md states."""
    from sqlalchemy import delete, update

    from assay.assurance.chain import link_hash
    from assay.assurance.chain_check import checkpoint, verify_chains
    from assay.store.tables import EvidenceChainRow, EvidenceCheckpointRow, EvidenceRow

    evs = _six(workspace)
    held = checkpoint(workspace, "helpdesk")
    assert held.length == 6
    with workspace.db.session() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == evs[5].id))
    chain = _check(workspace)
    assert not chain.ok and "#6–#6 were removed from the end" in " ".join(chain.problems)

    with workspace.db.session() as s:
        s.execute(
            update(EvidenceChainRow)
            .where(EvidenceChainRow.chain == "helpdesk")
            .values(length=5, head_hash=link_hash(evs[4].model_dump()))
        )
    chain = _check(workspace)
    assert not chain.ok and "checkpoint" in chain.problems[0] and "covers 6 records" in chain.problems[0]

    with workspace.db.session() as s:
        s.execute(delete(EvidenceCheckpointRow))
    assert _check(workspace).ok  # nothing left in the store shows the loss…
    (chain,) = verify_chains(workspace, system="helpdesk", expect=[held])  # …the held head does
    assert not chain.ok and "records were removed" in chain.problems[0]


def test_checkpoints_are_signed_periodically(workspace) -> None:  # type: ignore[no-untyped-def]
    from assay.assurance.chain import CHECKPOINT_EVERY
    from assay.assurance.evidence import record_evidence

    for i in range(CHECKPOINT_EVERY + 1):
        record_evidence(workspace, f"{i}".encode(), kind="manifest", system="helpdesk", name=f"{i}.txt")
    chain = _check(workspace)
    assert chain.ok and chain.checkpoints == 1 and chain.last_checkpoint_length == CHECKPOINT_EVERY


def test_cli_verify_names_the_first_break(workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete
    from typer.testing import CliRunner

    from assay.cli.main import app
    from assay.store.tables import EvidenceRow

    monkeypatch.setenv("ASSAY_DATABASE_URL", workspace.database_url)
    runner = CliRunner()
    evs = _six(workspace)
    ok = runner.invoke(app, ["evidence", "verify", "--home", str(workspace.home)])
    assert ok.exit_code == 0, ok.output
    assert "chain helpdesk: 6 records linked" in ok.stdout
    with workspace.db.session() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == evs[1].id))
    bad = runner.invoke(app, ["evidence", "verify", "--home", str(workspace.home)])
    assert bad.exit_code == 1
    assert "chain helpdesk BROKEN at #2" in bad.stderr and "record #2 missing" in bad.stderr
    assert "5 of 5 evidence records verified" in bad.stdout
    held = f"helpdesk:6:{evs[5].model_dump()['id']}"  # a malformed head is bad input
    r = runner.invoke(app, ["evidence", "verify", "--home", str(workspace.home), "--head", held])
    assert r.exit_code == 2 and "--head" in r.stderr


def test_migration_chains_existing_records_and_says_so(
    tmp_path: Path, database_url: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A store written before the chain (revision 0003) is chained from its first record in stored order;
    the old signatures still verify, `verify` states where the chain starts, and the links the migration
    made are checked like any other."""
    import datetime as dt
    import uuid
    from importlib import resources

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text, update
    from typer.testing import CliRunner

    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import Evidence, record_evidence, verify_evidence
    from assay.cli.main import app
    from assay.store.db import make_engine
    from assay.store.tables import EvidenceRow
    from assay.workspace import Workspace

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("assay.store").joinpath("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    ws = Workspace(tmp_path / ".assay", database_url)
    key = ws.signing_key
    base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    old = []
    for i, system in enumerate(["helpdesk", "helpdesk", None, "helpdesk"]):
        content = f"old {i}".encode()
        ev = Evidence(
            id=str(uuid.uuid4()),
            sha256=ws.blobs.put(content),
            kind="manifest",
            system=system,
            name=f"old-{i}.txt",
            size=len(content),
            created_at=base + dt.timedelta(minutes=i),
            link_signed=False,  # signed as before the chain: the chain fields are not in the payload
        )
        ev.key_id = key.key_id
        ev.signature = key.sign(ev.signed_payload())
        old.append(ev)
        names = "id sha256 kind name media_type size tool tool_version created_at summary key_id signature"
        cols = ", ".join(["system_slug", *names.split()])
        values = ", ".join(f":{n}" for n in ["system", *names.split()])
        with engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO evidence ({cols}) VALUES ({values})"),
                ev.model_dump(exclude={"seq", "prev_hash", "link_signed"}),
            )
    engine.dispose()

    assert ws.db  # opening migrates to the head revision
    assert [c for c in verify_evidence(ws) if not c.ok] == []
    chains = {c.chain: c for c in verify_chains(ws)}
    assert set(chains) == {"", "helpdesk"}
    assert (
        chains["helpdesk"].ok and chains["helpdesk"].intact == 3 and chains["helpdesk"].origin == "migration"
    )
    assert "chained by migration 0004" in chains["helpdesk"].origin_note
    new = record_evidence(ws, b"after", kind="manifest", system="helpdesk", name="new.txt")
    assert new.seq == 4 and new.link_signed
    assert verify_chains(ws, system="helpdesk")[0].intact == 4

    monkeypatch.setenv("ASSAY_DATABASE_URL", database_url)
    r = CliRunner().invoke(app, ["evidence", "verify", "--home", str(ws.home)])
    assert r.exit_code == 0, r.output
    assert "chain helpdesk starts at migration: chained by migration 0004" in r.stdout

    # a link the migration made is checked: moving the second old record's pointer breaks the chain
    with ws.db.session() as s:
        s.execute(update(EvidenceRow).where(EvidenceRow.id == old[1].id).values(prev_hash="cd" * 32))
    (chain,) = verify_chains(ws, system="helpdesk")
    assert not chain.ok and chain.break_seq == 2 and chain.break_evidence_id == old[1].id
    ws.close()


def test_the_assessment_index_carries_the_head_a_third_party_can_check(tmp_path: Path) -> None:
    """The index prints the chain head it was built at; `verify --head` with it passes, and still fails
    after someone deletes an earlier record and covers their tracks in the store (head row rewritten,
    checkpoints deleted)."""
    import re

    from sqlalchemy import delete, func, select, update
    from typer.testing import CliRunner

    from assay.assurance.evidence import list_evidence
    from assay.cli.main import app
    from assay.store.tables import EvidenceChainRow, EvidenceCheckpointRow, EvidenceRow
    from assay.workspace import Workspace

    runner = CliRunner()
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    result = runner.invoke(app, ["assess", str(manifest)])
    assert result.exit_code == 0, result.output
    index = (tmp_path / "out" / "index.html").read_text()
    found = re.search(r"Built at evidence chain head <code>(helpdesk:(\d+):[0-9a-f]{64})</code>", index)
    assert found, "the index names no chain head"
    held, length = found[1], int(found[2])
    home = str(tmp_path / ".assay")
    ws = Workspace(tmp_path / ".assay")
    records = list_evidence(ws, system="helpdesk")
    assert length == len(records) - 1  # built just before the index itself was recorded
    ok = runner.invoke(app, ["evidence", "verify", "--home", home, "--head", held])
    assert ok.exit_code == 0, ok.output

    # remove the first record and renumber/relink everything after it, as far as one can without the key
    victim = min(records, key=lambda e: e.seq)
    with ws.db.session() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == victim.id))
        s.execute(
            update(EvidenceRow)
            .where(EvidenceRow.system_slug == "helpdesk")
            .values(seq=EvidenceRow.seq + 1000)
        )
        s.execute(
            update(EvidenceRow)
            .where(EvidenceRow.system_slug == "helpdesk")
            .values(seq=EvidenceRow.seq - 1001)
        )
        n = s.scalar(
            select(func.count()).select_from(EvidenceRow).where(EvidenceRow.system_slug == "helpdesk")
        )
        s.execute(delete(EvidenceCheckpointRow))
        s.execute(update(EvidenceChainRow).values(length=n))
    ws.close()
    bad = runner.invoke(app, ["evidence", "verify", "--home", home, "--head", held])
    assert bad.exit_code == 1
    assert "chain helpdesk BROKEN at #1" in bad.stderr
    assert "does not hash to the head you hold" in bad.stderr or "records were removed" in bad.stderr


def test_three_concurrent_first_time_assesses_all_succeed(tmp_path: Path, database_url: str) -> None:
    """The reported failure: three `assay assess` of one new system at once, as separate processes."""
    from assay.assurance.chain_check import verify_chains
    from assay.assurance.evidence import verify_evidence
    from assay.workspace import Workspace

    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text())
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "ASSAY_DATABASE_URL": database_url}
    env.pop("ASSAY_HOME", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "assay", "assess", str(manifest), "--out", str(tmp_path / f"out{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, (out + err)[-3000:]
    ws = Workspace(tmp_path / ".assay", database_url)
    try:
        assert [c for c in verify_evidence(ws) if not c.ok] == []
        (chain,) = verify_chains(ws, system="helpdesk")
        assert chain.ok, chain.problems
        heads = {
            f.read_text().count("Built at evidence chain head") for f in tmp_path.glob("out*/index.html")
        }
        assert heads == {1}
    finally:
        ws.close()
