"""The run index written through `sqlite3` (what a cached `assay eval run` uses) holds the very rows the
SQLAlchemy path writes, so the dashboard reads either the same way."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from assay.store import runs_sqlite
from assay.store.runs import get_run_row, replace_run, sample_rows
from assay.store.tables import RunIndexRow, RunSampleRow
from assay.workspace import Workspace

STARTED = dt.datetime(2026, 12, 4, 8, 30, 1, 250, tzinfo=dt.UTC)
INDEXED = dt.datetime(2026, 12, 4, 9, 0, 0, tzinfo=dt.UTC)


def _run(run_id: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "system_slug": "helpdesk",
        "kind": "eval",
        "suite_id": "assay/refusal",
        "suite_title": "Refusal — 拒绝",
        "target_id": "bundled",
        "status": "complete",
        "samples": 3,
        "records": 3,
        "failed": 1,
        "score": 0.6667,
        "grade": None,
        "started_at": STARTED,
        "finished_at": None,
        "metrics": {"refusal": {"rate": 0.5, "ci": [0.1, 0.9]}},
        "indexed_at": INDEXED,
    }


def _samples() -> list[dict[str, object]]:
    return [
        {
            "seq": i,
            "sample_id": f"s{i}",
            "epoch": 0,
            "category": "harm",
            "language": "zh" if i == 2 else "en",
            "prompt": f"prompt {i} <b>",
            "answer": "" if i == 1 else f"answer {i}",
            "scorer": "refusal",
            "score": None if i == 1 else float(i % 2),
            "passed": None if i == 1 else i % 2 == 1,
            "why": "no answer" if i == 1 else "",
            "error": "timeout" if i == 1 else "",
            "scores": [{"scorer": "refusal", "value": float(i % 2), "label": "拒绝"}],
        }
        for i in range(3)
    ]


def _rows(path: Path, table: str, run_id: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY 2", (run_id,)).fetchall()
    return [tuple("RUN" if v == run_id else v for v in r) for r in rows]


def test_the_column_lists_are_the_tables() -> None:
    assert tuple(c.key for c in RunIndexRow.__table__.columns) == runs_sqlite.RUN_COLUMNS
    assert tuple(c.key for c in RunSampleRow.__table__.columns) == runs_sqlite.SAMPLE_COLUMNS


def test_both_paths_write_identical_rows_and_read_back_the_same(tmp_path: Path) -> None:
    db = tmp_path / "assay.db"
    ws = Workspace(tmp_path, f"sqlite:///{db}")
    with ws.db.session() as s:
        assert replace_run(s, _run("slow"), _samples()) == 3
    assert runs_sqlite.replace_run(db, _run("fast"), _samples()) == 3
    for table in ("run_index", "run_samples"):
        assert _rows(db, table, "fast") == _rows(db, table, "slow"), table
    with ws.db.session() as s:
        fast, slow = get_run_row(s, "fast"), get_run_row(s, "slow")
        assert fast is not None and slow is not None
        assert {**fast, "run_id": "x"} == {**slow, "run_id": "x"}
        assert fast["metrics"] == {"refusal": {"rate": 0.5, "ci": [0.1, 0.9]}}
        got = sample_rows(s, "fast", limit=10, failed_only=True)
        assert [r["seq"] for r in got] == [0, 2]


def test_indexing_again_replaces_the_rows_and_other_files_fall_back(tmp_path: Path) -> None:
    db = tmp_path / "assay.db"
    Workspace(tmp_path, f"sqlite:///{db}").db  # noqa: B018 - create and migrate
    assert runs_sqlite.replace_run(db, _run("r"), _samples()) == 3
    assert runs_sqlite.replace_run(db, _run("r"), _samples()[:1]) == 1
    assert len(_rows(db, "run_samples", "r")) == 1 and len(_rows(db, "run_index", "r")) == 1
    assert runs_sqlite.replace_run(tmp_path / "missing.db", _run("r"), []) is None
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('0007')")
    assert runs_sqlite.replace_run(old, _run("r"), []) is None
