"""The evidence chain's plain-`sqlite3` path (`assay.store.chain_sqlite`) against its SQLAlchemy path:
the same rows byte for byte, one lock between them (appenders on both paths at once stay linear), the
same verdicts on a tampered chain, and a fall back to SQLAlchemy wherever the fast path does not apply."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.assurance.chain import GENESIS
from assay.assurance.chain_check import checkpoint, current_head, verify_chains
from assay.assurance.evidence import Evidence, append_to_chain, record_evidence, verify_evidence
from assay.store.chain_sqlite import SqliteChainTx, chain_transaction, sqlite_file
from assay.store.evidence_index import SessionChainTx
from assay.workspace import Workspace

from .conftest import REPO

DB_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")  # SQLAlchemy's SQLite DateTime text


def _ready(home: Path, name: str) -> Workspace:
    """A workspace on its own SQLite file, migrated (so the fast path applies), sharing `home`'s key."""
    ws = Workspace(home, f"sqlite:///{home / name}")
    ws.db  # noqa: B018 - create and migrate the file
    return ws


def _rows(path: Path, table: str, order: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def _record(i: int, system: str | None = "helpdesk") -> Evidence:
    """A record with every field fixed, so both paths get identical input."""
    return Evidence(
        id=f"00000000-0000-4000-8000-{i:06d}{'system' if system else 'nosys_'}",
        sha256=f"{i:064x}",
        kind="manifest",
        system=system,
        name=f"item-{i}.txt",
        media_type="text/plain",
        size=i,
        summary=f"item {i} – ünïcode",
        created_at=dt.datetime(2026, 12, 4, 19, 0, i, tzinfo=dt.UTC),
    )


def test_both_paths_write_identical_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same records appended through each path give the same evidence rows (formats included), the
    same heads, and checkpoints in the same format; both chains verify."""
    monkeypatch.setattr("assay.assurance.evidence.CHECKPOINT_EVERY", 2)
    fast, slow = _ready(tmp_path, "fast.db"), _ready(tmp_path, "slow.db")
    key = fast.signing_key
    for i in range(1, 6):
        for system in ("helpdesk", None):  # a system's chain and the chain of evidence with no system
            with fast.chain_transaction() as tx:
                assert isinstance(tx, SqliteChainTx)
                append_to_chain(tx, key, _record(i, system))
            with slow.db.write_session() as s:
                append_to_chain(SessionChainTx(s), key, _record(i, system))
    fast_db, slow_db = tmp_path / "fast.db", tmp_path / "slow.db"
    evidence = _rows(fast_db, "evidence", "system_slug, seq")
    assert len(evidence) == 10 and evidence == _rows(slow_db, "evidence", "system_slug, seq")
    with sqlite3.connect(fast_db) as conn:
        types = conn.execute(
            "SELECT DISTINCT typeof(created_at), typeof(link_signed) FROM evidence"
        ).fetchall()
    assert types == [("text", "integer")]
    assert all(DB_TIME.match(r[9]) for r in evidence)

    heads = {db: _rows(db, "evidence_chains", "chain") for db in (fast_db, slow_db)}
    assert [h[:5] for h in heads[fast_db]] == [h[:5] for h in heads[slow_db]]  # all but started_at
    assert [h[1] for h in heads[fast_db]] == [5, 5]
    assert all(DB_TIME.match(h[5]) for rows in heads.values() for h in rows)

    cps = {db: _rows(db, "evidence_checkpoints", "chain, length") for db in (fast_db, slow_db)}
    assert [c[1:4] for c in cps[fast_db]] == [c[1:4] for c in cps[slow_db]]  # chain, length, head hash
    assert [c[2] for c in cps[fast_db]] == [2, 4, 2, 4]
    assert all(DB_TIME.match(c[4]) for rows in cps.values() for c in rows)

    for ws in (fast, slow):
        checks = verify_chains(ws)
        assert [c.chain for c in checks] == ["", "helpdesk"]
        assert all(c.ok and c.intact == 5 and c.checkpoints == 2 for c in checks), checks
        assert current_head(ws, "helpdesk") == checks[1].head
        ws.close()


def test_record_evidence_takes_the_fast_path_once_the_schema_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new database is made (and migrated) through SQLAlchemy; later appends, heads and checkpoints go
    through `sqlite3`, and what they wrote verifies record by record and as a chain."""
    used: list[str] = []
    original = SqliteChainTx.add_evidence

    def spy(self: SqliteChainTx, fields: dict[str, object]) -> None:
        used.append(str(fields["name"]))
        original(self, fields)

    monkeypatch.setattr(SqliteChainTx, "add_evidence", spy)
    ws = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'assay.db'}")
    evs = [
        record_evidence(ws, f"{i}".encode(), kind="manifest", system="helpdesk", name=f"{i}.txt")
        for i in range(4)
    ]
    assert used == ["1.txt", "2.txt", "3.txt"]  # the first created the file
    head = checkpoint(ws, "helpdesk")
    assert head.length == 4 and current_head(ws, "helpdesk") == head
    assert [e.seq for e in evs] == [1, 2, 3, 4]
    assert all(c.ok for c in verify_evidence(ws))
    (chain,) = verify_chains(ws, system="helpdesk", expect=[head])
    assert chain.ok and chain.intact == 4 and chain.checkpoints == 1
    ws.close()


@pytest.mark.parametrize("tamper", ["delete", "prev_hash", "summary"])
def test_a_tampered_fast_path_chain_is_caught(tmp_path: Path, tamper: str) -> None:
    ws = _ready(tmp_path / ".assay", "assay.db")
    evs = [
        record_evidence(ws, f"{i}".encode(), kind="manifest", system="helpdesk", name=f"{i}.txt")
        for i in range(5)
    ]
    with sqlite3.connect(tmp_path / ".assay" / "assay.db") as conn:
        if tamper == "delete":
            conn.execute("DELETE FROM evidence WHERE id = ?", (evs[2].id,))
        elif tamper == "prev_hash":
            conn.execute("UPDATE evidence SET prev_hash = ? WHERE id = ?", ("ab" * 32, evs[2].id))
        else:
            conn.execute("UPDATE evidence SET summary = 'edited' WHERE id = ?", (evs[2].id,))
    (chain,) = verify_chains(ws, system="helpdesk")
    assert not chain.ok and chain.break_seq == 3, chain.problems
    ws.close()


# One appender process: `fast` appends through `sqlite3`, `slow` through a SQLAlchemy session; all start at
# the same instant and append to one chain.
APPENDER = """
import datetime as dt, sys, time, uuid
from pathlib import Path
from assay.workspace import Workspace
from assay.assurance.evidence import Evidence, append_to_chain, record_evidence
from assay.store.chain_sqlite import SqliteChainTx
from assay.store.evidence_index import SessionChainTx

home, url, start_at, tag, count, how = sys.argv[1:]
ws = Workspace(Path(home), url)
key = ws.signing_key
if how == "fast":
    with ws.chain_transaction() as tx:
        assert isinstance(tx, SqliteChainTx), tx
else:
    ws.db  # connect before the start, as the fast path needs no connecting


def through_sqlalchemy(data, name):  # record_evidence as it was before the fast path
    ev = Evidence(id=str(uuid.uuid4()), sha256=ws.blobs.put(data), kind="manifest", system="helpdesk",
                  name=name, size=len(data), created_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
    with ws.db.write_session() as s:
        append_to_chain(SessionChainTx(s), key, ev)


while time.time() < float(start_at):
    time.sleep(0.001)
for i in range(int(count)):
    data, name = f"{tag}-{i}".encode(), f"{tag}-{i}.txt"
    if how == "fast":
        record_evidence(ws, data, kind="manifest", system="helpdesk", name=name)
    else:
        through_sqlalchemy(data, name)
ws.close()
print("done", tag)
"""


def test_appenders_on_both_paths_at_once_keep_the_chain_linear(tmp_path: Path) -> None:
    """Two processes append through `sqlite3` and two through SQLAlchemy, at the same instant: they take
    turns on SQLite's write lock, so every record gets its own position and the chain never forks."""
    home = tmp_path / ".assay"
    url = f"sqlite:///{home / 'assay.db'}"
    ws = Workspace(home, url)
    ws.db, ws.signing_key  # noqa: B018 - the schema and the key exist before the race
    ws.close()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    start_at = time.time() + 4.0  # every process has imported Assay by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(home), url, str(start_at), f"{how}{i}", "6", how],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i, how in enumerate(["fast", "slow", "fast", "slow"])
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.startswith("done"), err[-3000:]
    ws = Workspace(home, url)
    rows = _rows(home / "assay.db", "evidence", "seq")
    assert [r[13] for r in rows] == list(range(1, 25))
    assert {r[4].split("-")[0] for r in rows} == {"fast0", "slow1", "fast2", "slow3"}
    (chain,) = verify_chains(ws, system="helpdesk")
    assert chain.ok and chain.intact == 24, chain.problems
    ws.close()


def test_the_fast_path_applies_only_to_a_current_sqlite_file(tmp_path: Path) -> None:
    assert sqlite_file(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    for url in (
        "postgresql://u:p@127.0.0.1/db",
        "sqlite://",
        "sqlite:///:memory:",
        f"sqlite:///{tmp_path}/a.db?mode=ro",
        f"sqlite+pysqlite:///{tmp_path}/a.db",
        f"sqlite:///{tmp_path}/a%20b.db",
    ):
        assert sqlite_file(url) is None, url
    assert chain_transaction(tmp_path / "missing.db", write=True) is None
    other = tmp_path / "other.db"  # a SQLite file that is not an Assay database
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert chain_transaction(other, write=True) is None
    ws = _ready(tmp_path, "old.db")
    ws.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    assert chain_transaction(tmp_path / "old.db", write=True) is None  # SQLAlchemy migrates it instead


def test_a_failed_append_leaves_nothing_behind(tmp_path: Path) -> None:
    """An error inside the fast path's transaction rolls back the head, the record and the new chain."""
    ws = _ready(tmp_path, "assay.db")
    with pytest.raises(RuntimeError), ws.chain_transaction() as tx:
        append_to_chain(tx, ws.signing_key, _record(1))
        raise RuntimeError("stop")
    assert _rows(tmp_path / "assay.db", "evidence", "seq") == []
    assert _rows(tmp_path / "assay.db", "evidence_chains", "chain") == []
    assert current_head(ws, "helpdesk").head_hash == GENESIS
    ws.close()
