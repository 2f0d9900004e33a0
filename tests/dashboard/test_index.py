"""The run index: a run indexed again replaces its rows, a torn last log line is left out, and runs of
other systems or without a folder are not picked up by the backfill."""

from __future__ import annotations

import shutil

from sqlalchemy import func, select, text

from assay.evals.run_index import backfill, index_run
from assay.evals.service import runs_dir
from assay.store.runs import get_run_row, sample_rows
from assay.store.tables import RunSampleRow
from assay.workspace import Workspace
from tests.dashboard.conftest import SAMPLES, SYSTEM, populate


def _count(ws: Workspace, run_id: str) -> int:
    with ws.db.session() as s:
        q = select(func.count()).select_from(RunSampleRow).where(RunSampleRow.run_id == run_id)
        return int(s.scalar(q) or 0)


def test_indexing_again_replaces_and_a_torn_line_is_left_out(workspace: Workspace) -> None:
    ids = populate(workspace)
    run_id = ids["run_id"]
    assert _count(workspace, run_id) == SAMPLES
    folder = runs_dir(workspace) / run_id
    assert index_run(workspace, folder, SYSTEM, "eval") == SAMPLES  # again: replaced, not doubled
    assert _count(workspace, run_id) == SAMPLES
    log = folder / "log.jsonl"
    log.write_bytes(log.read_bytes() + b'{"run_id": "torn')  # a writer killed mid-line
    assert index_run(workspace, folder, SYSTEM, "eval") == SAMPLES
    with workspace.db.session() as s:
        row = get_run_row(s, run_id)
        assert row is not None and row["failed"] == SAMPLES // 2 and row["score"] == 0.5
        page = sample_rows(s, run_id, after=SAMPLES - 3, limit=10)
    assert [r["seq"] for r in page] == [SAMPLES - 2, SAMPLES - 1]
    assert page[-1]["passed"] is False and "never" in page[-1]["why"]


def _forget(ws: Workspace) -> None:
    with ws.db.session() as s:
        s.execute(text("DELETE FROM run_samples"))
        s.execute(text("DELETE FROM run_index"))


def test_backfill_indexes_recorded_runs_once_and_skips_missing_folders(workspace: Workspace) -> None:
    ids = populate(workspace)
    assert backfill(workspace) == []  # everything recorded is indexed already
    _forget(workspace)
    # only the run recorded as evidence comes back; the two copies were indexed but never recorded
    assert backfill(workspace) == [ids["run_id"]]
    assert _count(workspace, ids["run_id"]) == SAMPLES
    assert backfill(workspace) == []
    _forget(workspace)
    shutil.rmtree(runs_dir(workspace) / ids["run_id"])
    assert backfill(workspace) == []  # its folder is gone: nothing to index from
