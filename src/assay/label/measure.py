"""The measurements a label grades: read from the newest signed evaluation and red-team runs of a system.

A run counts when its summary was recorded as evidence for the system (`eval.run` / `redteam.run`), so
the label only ever reads results that are signed and can be checked; the summary is read back from the
blob store by its hash, not from the run folder, which anyone could have edited since. Of several runs of
the same suite on the same target the newest complete one wins; interrupted runs are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from assay.assurance.evidence import Evidence, list_evidence
from assay.policy.models import Measurement
from assay.workspace import Workspace

EVAL_KIND = "eval.run"
REDTEAM_KIND = "redteam.run"
SUMMARY = "summary.json"
ASR = "redteam.json"  # assay.redteam.service.ASR_FILE
NO_CATEGORY = "(none)"  # what the metrics call samples without a category or language


@dataclass
class StoredRun:
    """One recorded run: its summary (and, for a red team, its attack success rates) and their evidence."""

    kind: str
    run_id: str
    summary: dict[str, Any]
    summary_evidence: Evidence
    asr: dict[str, Any] | None = None
    asr_evidence: Evidence | None = None

    @property
    def suite_id(self) -> str:
        return str(self.summary.get("suite_id", ""))

    @property
    def target_id(self) -> str:
        return str(self.summary.get("target_id", ""))

    @property
    def evidence_sha256(self) -> str:
        """The hash a grade points at: the ASR file for a red team, the summary for an evaluation."""
        return (self.asr_evidence or self.summary_evidence).sha256


def _run_of(name: str) -> tuple[str, str] | None:
    """`runs/ID/FILE` → (ID, FILE)."""
    parts = name.split("/")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "runs" else None


def _read_json(ws: Workspace, ev: Evidence) -> dict[str, Any] | None:
    try:
        data = json.loads(ws.blobs.get(ev.sha256))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def newest_runs(ws: Workspace, system_id: str) -> list[StoredRun]:
    """The newest complete run of each (kind, suite, target) recorded for the system, sorted."""
    best: dict[tuple[str, str, str], StoredRun] = {}
    for kind in (EVAL_KIND, REDTEAM_KIND):
        by_run: dict[str, dict[str, Evidence]] = {}
        for ev in list_evidence(ws, system=system_id, kind=kind, limit=1_000_000):
            where = _run_of(ev.name)
            if where is not None:
                by_run.setdefault(where[0], {})[where[1]] = ev  # a re-recorded file: the later record
        for run_id, files in by_run.items():
            summary_ev = files.get(SUMMARY)
            summary = _read_json(ws, summary_ev) if summary_ev else None
            if summary_ev is None or summary is None or summary.get("status") != "complete":
                continue
            run = StoredRun(
                kind=kind,
                run_id=run_id,
                summary=summary,
                summary_evidence=summary_ev,
            )
            if kind == REDTEAM_KIND and ASR in files:
                run.asr, run.asr_evidence = _read_json(ws, files[ASR]), files[ASR]
            key = (kind, run.suite_id, run.target_id)
            old = best.get(key)
            if old is None or str(summary.get("finished_at", "")) > str(old.summary.get("finished_at", "")):
                best[key] = run
    return [best[k] for k in sorted(best)]


def _eval_measurements(run: StoredRun) -> list[Measurement]:
    metrics = run.summary.get("metrics") or {}
    primary = metrics.get("primary_scorer")
    base = {
        "source": "eval",
        "suite": run.suite_id,
        "target": run.target_id,
        "run_id": run.run_id,
        "evidence_sha256": run.evidence_sha256,
    }
    out: list[Measurement] = []
    for row in metrics.get("rows") or []:
        group, key = row.get("group"), row.get("key")
        value = {
            "value": row.get("rate"),
            "ci_low": row.get("ci_low"),
            "ci_high": row.get("ci_high"),
            "n": int(row.get("n") or 0),
        }
        where: dict[str, Any]
        if group == "overall":
            where = {"category": None, "language": None}
        elif group == "category":
            where = {"category": key, "language": None}
        elif group == "language" and key != NO_CATEGORY:
            where = {"category": None, "language": key}
        else:
            continue
        names = [f"scorer:{row.get('scorer')}"] + (["score"] if row.get("scorer") == primary else [])
        out.extend(Measurement(**base, **where, **value, metric=name) for name in names)  # type: ignore[arg-type]
    return out


def _redteam_measurements(run: StoredRun) -> list[Measurement]:
    if not run.asr:
        return []
    base = {
        "source": "redteam",
        "suite": run.suite_id,
        "metric": "asr",
        "target": run.target_id,
        "run_id": run.run_id,
        "evidence_sha256": run.evidence_sha256,
    }
    rows = [(None, run.asr.get("overall") or {})] + [
        (r.get("key"), r) for r in run.asr.get("by_category") or []
    ]
    return [
        Measurement(
            **base,  # type: ignore[arg-type]
            category=category,
            value=row.get("rate"),
            ci_low=row.get("ci_low"),
            ci_high=row.get("ci_high"),
            n=int(row.get("judged") or 0),
        )
        for category, row in rows
        if row
    ]


def measurements_from(runs: list[StoredRun]) -> list[Measurement]:
    out: list[Measurement] = []
    for run in runs:
        out += _eval_measurements(run) if run.kind == EVAL_KIND else _redteam_measurements(run)
    return out


def measurements_for(ws: Workspace, system_id: str) -> list[Measurement]:
    """Every value a pack can grade, from the newest signed runs of the system.

    Evaluations: `score` (the primary scorer's pass rate) and `scorer:NAME` for every scorer, overall and
    per category; per language too, with `language` set (a rule grades only rows without a language).
    Red teams: `asr` overall and per category. Each carries n, the Wilson interval and the evidence hash."""
    return measurements_from(newest_runs(ws, system_id))
