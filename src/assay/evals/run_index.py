"""Copying a recorded run into the store's run index, so the dashboard can page through its samples.

The JSONL log stays the record; the index is rebuilt from it whenever a run is recorded (a resumed or
re-scored run replaces its rows), and runs recorded before the index existed are indexed on the
server's first start (`backfill`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assay.evals.models import SampleRecord, Score, Suite
from assay.workspace import Workspace

if TYPE_CHECKING:
    from assay.evals.runner import RunFiles

RunKind = Literal["eval", "redteam"]
EVIDENCE_KINDS: dict[str, RunKind] = {"eval.run": "eval", "redteam.run": "redteam"}


def primary_scorer(suite: Suite) -> str | None:
    """The scorer whose pass rate is the suite's score: the suite's choice, else its first."""
    return suite.primary_scorer or (suite.scorers[0].name if suite.scorers else None)


def _primary(record: SampleRecord, scorer: str | None) -> Score | None:
    return next((s for s in record.scores if s.scorer == scorer), record.scores[0] if record.scores else None)


def sample_fields(seq: int, record: SampleRecord, scorer: str | None) -> dict[str, Any]:
    """One log line as an index row: the last user turn, the answer, the primary score and its reason."""
    users = [m.content for m in record.input if m.role == "user"]
    score = _primary(record, scorer)
    return {
        "seq": seq,
        "sample_id": record.sample_id[:200],
        "epoch": record.epoch,
        "category": (record.category or "")[:200],
        "language": record.language[:16],
        "prompt": users[-1] if users else "",
        "answer": record.output or "",
        "scorer": score.scorer[:100] if score else "",
        "score": score.value if score else None,
        "passed": score.passed if score else None,
        "why": (score.error or score.explanation) if score else "",
        "error": record.error or "",
        "scores": [s.model_dump(mode="json") for s in record.scores],
    }


def index_run(
    ws: Workspace, folder: Path, system: str | None, kind: RunKind, files: RunFiles | None = None
) -> int:
    """Index the run in `folder` (replacing any earlier index of it); returns how many samples.

    `files`: the run's contents as the caller already holds them (else read with `load_run`)."""
    from assay.evals.runner import load_run

    spec, suite, records, summary = files if files is not None else load_run(folder)
    scorer = primary_scorer(suite)
    rows = [sample_fields(i, r, scorer) for i, r in enumerate(records)]
    run = {
        "run_id": spec.run_id,
        "system_slug": system,
        "kind": kind,
        "suite_id": spec.suite_id[:200],
        "suite_title": (spec.suite_title or suite.title or "")[:300],
        "target_id": spec.target_id[:100],
        "status": summary.status if summary else "interrupted",
        "samples": summary.samples if summary else len(spec.sample_ids),
        "records": len(rows),
        "failed": sum(1 for r in rows if r["passed"] is False),
        "score": summary.score if summary else None,
        "grade": summary.grade if summary else None,
        "started_at": summary.started_at if summary else spec.created_at,
        "finished_at": summary.finished_at if summary else None,
        "metrics": summary.metrics if summary else {},
    }
    from assay.store.chain_sqlite import sqlite_file

    path = sqlite_file(ws.database_url)
    if path is not None:
        from assay.store import runs_sqlite

        added = runs_sqlite.replace_run(path, run, rows)
        if added is not None:
            return added
    from assay.store.runs import replace_run

    with ws.db.session() as s:
        return replace_run(s, run, rows)


def _recorded_runs(ws: Workspace) -> Iterator[tuple[str, str | None, RunKind]]:
    """(run id, system, kind) of every run recorded as evidence, from its `runs/<id>/summary.json`."""
    from assay.assurance.evidence import list_evidence

    for ev_kind, kind in EVIDENCE_KINDS.items():
        for ev in list_evidence(ws, kind=ev_kind, limit=1_000_000):
            parts = ev.name.split("/")
            if len(parts) == 3 and parts[0] == "runs" and parts[2] == "summary.json":
                yield parts[1], ev.system, kind


def backfill(ws: Workspace) -> list[str]:
    """Index every recorded run that is not indexed yet and whose folder is still there."""
    from sqlalchemy.exc import IntegrityError

    from assay.evals.service import runs_dir
    from assay.store.runs import indexed_run_ids

    with ws.db.session() as s:
        done = indexed_run_ids(s)
    added = []
    for run_id, system, kind in _recorded_runs(ws):
        folder = runs_dir(ws) / run_id
        if run_id in done or not (folder / "spec.json").is_file():
            continue
        try:
            index_run(ws, folder, system, kind)
        except IntegrityError:
            continue  # another server process starting beside this one indexed it first
        except (OSError, ValueError):
            continue  # an unreadable folder: the runs API reports it; the dashboard lists the rest
        done.add(run_id)
        added.append(run_id)
    return added
