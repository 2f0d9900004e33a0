"""What the dashboard pages show, gathered from the domain services; no HTTP here.

Public views (the systems, a system's label, conformance and run summaries) and internal ones (the
RACI matrix and safety net, a run's samples, incidents, provenance) are separate functions, so the
router can put the internal ones behind `read_access` and leave the public ones open.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.assurance.conformance import ConformanceReport
from assay.incidents.models import Incident
from assay.provenance.ledger import LedgerEntry
from assay.registry.models import RaciMatrix
from assay.registry.safety_net import SafetyNetReport
from assay.registry.service import SystemRecord
from assay.workspace import Workspace

RUNS_ON_PAGE = 200
MAX_PAGE = 200
DEFAULT_PAGE = 50


class LabelSummary(BaseModel):
    """Enough of a system's current label to point at it: when it was built, its grades, completeness."""

    generated_at: str
    sha256: str
    pack: str = ""
    risk_tier: str | None = None
    grades: dict[str, int] = Field(default_factory=dict, description="grades by status")
    completeness: float


class RunItem(BaseModel):
    run_id: str
    kind: Literal["eval", "redteam"]
    suite_id: str
    suite_title: str
    target_id: str
    status: str
    samples: int
    records: int
    failed: int
    score: float | None
    grade: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


class SystemCard(BaseModel):
    record: SystemRecord
    runs: int
    label: LabelSummary | None


class SystemOverview(BaseModel):
    """The public system page."""

    record: SystemRecord
    label: LabelSummary | None
    conformance: ConformanceReport
    pack_note: str = Field("", description="why freshness limits were not applied, if they were not")
    runs: list[RunItem]
    runs_total: int


class SampleRow(BaseModel):
    seq: int
    sample_id: str
    epoch: int
    category: str
    language: str
    prompt: str
    answer: str
    scorer: str
    score: float | None
    passed: bool | None
    why: str
    error: str
    scores: list[dict[str, Any]] = Field(default_factory=list)


class SamplePage(BaseModel):
    """One page of a run's samples, with the keys of the pages around it (keyset pagination)."""

    run: RunItem
    samples: list[SampleRow]
    limit: int
    failed_only: bool
    next_after: int | None = Field(None, description="`after=` for the next page; None on the last")
    prev_before: int | None = Field(None, description="`before=` for the page before; None on the first")
    has_report: bool = Field(False, description="the run's HTML report exists (`/api/v1/evals/{id}/report`)")


class IncidentLine(BaseModel):
    incident: Incident
    deadline_state: Literal["overdue", "due_soon", "reported", "open", "none"]
    days_left: int | None = None


class Accountability(BaseModel):
    record: SystemRecord
    matrix: RaciMatrix
    safety_net: SafetyNetReport
    party_names: dict[str, str]


class KeptVerification(BaseModel):
    evidence_id: str
    created_at: dt.datetime
    verdict: str
    headline: str
    filename: str | None
    sha256: str
    ledger_ids: list[int]


class Provenance(BaseModel):
    record: SystemRecord
    marks: list[LedgerEntry]
    verifications: list[KeptVerification]


def overview_record(ws: Workspace, slug: str) -> SystemRecord:
    """The system's registry record. Raises SystemNotFound."""
    from assay.registry import service

    return service.get_system(ws, slug)


def label_summary(ws: Workspace, slug: str) -> LabelSummary | None:
    from assay.label.service import current_label

    found = current_label(ws, slug)
    if found is None:
        return None
    label, ev = found
    grades: dict[str, int] = {}
    for g in label.grades:
        grades[g.status] = grades.get(g.status, 0) + 1
    pol = label.policy
    return LabelSummary(
        generated_at=label.generated_at,
        sha256=ev.sha256,
        pack=f"{pol.pack_id}@{pol.pack_version}" if pol else "",
        risk_tier=pol.risk_tier if pol else None,
        grades=grades,
        completeness=label.completeness.score,
    )


def list_systems(ws: Workspace) -> list[SystemCard]:
    from assay.registry import service
    from assay.store.runs import count_run_rows

    records = service.list_systems(ws)
    with ws.db.session() as s:
        counts = {r.id: count_run_rows(s, r.id) for r in records}
    return [SystemCard(record=r, runs=counts[r.id], label=label_summary(ws, r.id)) for r in records]


def _conformance(ws: Workspace, slug: str) -> tuple[ConformanceReport, str]:
    """The control assessment under the manifest's policy pack (its freshness limits), if it loads here."""
    from assay.assurance.conformance import assess_controls
    from assay.registry import service

    manifest = service.get_manifest(ws, slug)
    pack, note = None, ""
    if manifest.policy_pack is not None:
        from assay.policy.loader import resolve_pack

        try:
            pack = resolve_pack(manifest.policy_pack)
        except Exception:  # a pack file beside the manifest the server cannot see: say so, not where
            note = "the manifest's policy pack could not be loaded here: no freshness limits applied"
    return assess_controls(ws, slug, pack=pack), note


def conformance_report_html(ws: Workspace, slug: str) -> str:
    """The whole conformance report (the page `assay conformance --html` writes), assessed now. Evidence is
    named by kind and hash, not linked: the server does not publish the assessment's output files.
    Raises SystemNotFound."""
    from assay.assurance.report import report_page

    record = overview_record(ws, slug)
    report, _ = _conformance(ws, slug)
    return report_page(ws, report, system_name=record.name, version=record.version)


def overview(ws: Workspace, slug: str) -> SystemOverview:
    """The public page of one system. Raises SystemNotFound."""
    from assay.store.runs import count_run_rows, list_run_rows

    record = overview_record(ws, slug)
    conformance, note = _conformance(ws, slug)
    with ws.db.session() as s:
        runs = [RunItem.model_validate(r) for r in list_run_rows(s, slug, RUNS_ON_PAGE)]
        total = count_run_rows(s, slug)
    return SystemOverview(
        record=record,
        label=label_summary(ws, slug),
        conformance=conformance,
        pack_note=note,
        runs=runs,
        runs_total=total,
    )


def run_item(ws: Workspace, slug: str, run_id: str) -> RunItem | None:
    from assay.store.runs import get_run_row

    with ws.db.session() as s:
        row = get_run_row(s, run_id)
    if row is None or row["system_slug"] != slug:
        return None
    return RunItem.model_validate(row)


def sample_page(
    ws: Workspace,
    slug: str,
    run_id: str,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = DEFAULT_PAGE,
    failed_only: bool = False,
) -> SamplePage | None:
    """A page of a run's samples, or None when the system has no such run. Raises SystemNotFound."""
    from assay.evals.service import runs_dir
    from assay.store.runs import get_run_row, sample_rows

    overview_record(ws, slug)
    limit = max(1, min(limit, MAX_PAGE))
    with ws.db.session() as s:
        row = get_run_row(s, run_id)
        if row is None or row["system_slug"] != slug:
            return None
        # one row more than shown says whether a page follows in that direction, without counting;
        # one row looked up the other way says whether one comes before (or after) it
        rows = sample_rows(s, run_id, after=after, before=before, limit=limit + 1, failed_only=failed_only)
        if before is not None:
            more_before = len(rows) > limit
            rows = rows[-limit:]
            more_after = bool(rows) and bool(
                sample_rows(s, run_id, after=rows[-1]["seq"], limit=1, failed_only=failed_only)
            )
        else:
            more_after = len(rows) > limit
            rows = rows[:limit]
            more_before = bool(rows) and bool(
                sample_rows(s, run_id, before=rows[0]["seq"], limit=1, failed_only=failed_only)
            )
    samples = [SampleRow.model_validate(r) for r in rows]
    return SamplePage(
        run=RunItem.model_validate(row),
        samples=samples,
        limit=limit,
        failed_only=failed_only,
        next_after=samples[-1].seq if samples and more_after else None,
        prev_before=samples[0].seq if samples and more_before else None,
        has_report=(runs_dir(ws) / run_id / "report.html").is_file(),
    )


def sample(ws: Workspace, slug: str, run_id: str, seq: int) -> tuple[RunItem, SampleRow] | None:
    from assay.store.runs import get_sample_row

    run = run_item(ws, slug, run_id)
    if run is None:
        return None
    with ws.db.session() as s:
        row = get_sample_row(s, run_id, seq)
    return (run, SampleRow.model_validate(row)) if row else None


def accountability(ws: Workspace, slug: str, today: dt.date) -> Accountability:
    from assay.registry import service
    from assay.registry.allocation import allocate
    from assay.registry.safety_net import assess_safety_net

    record = overview_record(ws, slug)
    manifest = service.get_manifest(ws, slug)
    return Accountability(
        record=record,
        matrix=allocate(manifest),
        safety_net=assess_safety_net(manifest, today),
        party_names={p.id: p.name for p in manifest.parties},
    )


def incidents(ws: Workspace, slug: str, today: dt.date) -> tuple[SystemRecord, list[IncidentLine]]:
    """A system's incidents, newest first, each with where its reporting deadline stands (the rules
    of `incidents.service.due`: overdue, due soon, reported to the authority, or still open)."""
    from assay.incidents.service import due, list_incidents

    record = overview_record(ws, slug)
    pending = {d.incident_id: d for d in due(ws, today) if d.system == slug}
    lines = []
    for inc in reversed(list_incidents(ws, system=slug)):
        if inc.id in pending:
            d = pending[inc.id]
            lines.append(IncidentLine(incident=inc, deadline_state=d.state, days_left=d.days_left))
        elif inc.deadline is None or not inc.severe:
            lines.append(IncidentLine(incident=inc, deadline_state="none"))
        elif inc.authority_reported_at is not None:
            lines.append(IncidentLine(incident=inc, deadline_state="reported"))
        else:
            days = (inc.deadline - today).days
            lines.append(IncidentLine(incident=inc, deadline_state="open", days_left=days))
    return record, lines


def provenance(ws: Workspace, slug: str, limit: int = 100) -> Provenance:
    """The system's marked outputs in the ledger, and kept verifications that matched one of them."""
    from assay.assurance.evidence import list_evidence
    from assay.provenance.ledger import list_entries

    record = overview_record(ws, slug)
    marks = list_entries(ws, system=slug, limit=limit)
    kept = []
    for ev in reversed(list_evidence(ws, kind="provenance.verify", limit=100_000)[-1000:]):
        try:
            doc = json.loads(ws.blobs.get(ev.sha256))
        except (OSError, ValueError):
            continue
        hits = [h for h in doc.get("ledger") or [] if h.get("system") == slug]
        if not hits:
            continue
        kept.append(
            KeptVerification(
                evidence_id=ev.id,
                created_at=ev.created_at,
                verdict=str(doc.get("verdict", "")),
                headline=str(doc.get("headline", "")),
                filename=doc.get("filename"),
                sha256=str(doc.get("sha256", "")),
                ledger_ids=[int(h.get("ledger_id", 0)) for h in hits],
            )
        )
        if len(kept) >= limit:
            break
    return Provenance(record=record, marks=marks, verifications=kept)
