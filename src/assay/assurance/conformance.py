"""Control assessment: for each catalog control, is it met — and on what evidence, by whose word?

`coverage.py` says which controls have *some* evidence. This goes further, control by control:

- every evidence kind the control names must be present for it to be **met**; some of them present
  makes it **partly met**, none **not met**;
- evidence older than the policy pack allows for its kind (`freshness_days`) does not count: a
  control held up only by old evidence is **stale** (shown as "not met — stale");
- a policy grade linked to the control (the rule lists the control id) that is red makes it not met,
  and one that is amber, inconclusive or not measured caps it at partly met;
- the `attestation` kind is satisfied by a person's attestation for that control (answer yes; partly
  caps the status; no makes it not met), and an attestation answering not applicable, with its
  reason, makes the control **not applicable**.

Every status names the evidence records, grades or attestation that set it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from assay.assurance.attestation import Attestation, list_attestations
from assay.policy.models import Grade, PolicyPack
from assay.workspace import Workspace

ControlStatus = Literal["met", "partly_met", "not_met", "stale", "not_applicable"]
STATUS_TEXT: dict[str, str] = {
    "met": "met",
    "partly_met": "partly met",
    "not_met": "not met",
    "stale": "not met — stale",
    "not_applicable": "not applicable",
}


class EvidenceBasis(BaseModel):
    kind: str
    evidence_id: str = ""
    sha256: str = ""
    name: str = ""
    created_at: dt.datetime | None = None
    age_days: float | None = None
    max_age_days: int | None = None
    state: Literal["fresh", "stale", "missing"]


class GradeBasis(BaseModel):
    rule_id: str
    pack: str
    status: str
    reason: str


class ControlAssessment(BaseModel):
    id: str
    dimension: str
    title: str
    status: ControlStatus
    reason: str = Field(description="one sentence: why this status")
    evidence: list[EvidenceBasis] = Field(default_factory=list)
    grades: list[GradeBasis] = Field(default_factory=list)
    attestation: Attestation | None = None


class DimensionSummary(BaseModel):
    dimension: str
    title: str
    counts: dict[str, int]


class ConformanceReport(BaseModel):
    system: str
    generated_at: dt.datetime
    pack: str = Field("", description="id@version of the pack whose freshness and grades were used")
    controls: list[ControlAssessment]
    dimensions: list[DimensionSummary]
    counts: dict[str, int]

    def control(self, control_id: str) -> ControlAssessment | None:
        return next((c for c in self.controls if c.id == control_id), None)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def grades_from_label(ws: Workspace, system: str) -> list[Grade]:
    """The grades on the system's newest stored label (label.json: its exports share the evidence
    kind, so the newest record of that kind is not necessarily the label), if a label was built."""
    from assay.label.service import current_label

    found = current_label(ws, system)
    return list(found[0].grades) if found is not None else []


def assess_controls(
    ws: Workspace,
    system: str,
    *,
    pack: PolicyPack | None = None,
    grades: Iterable[Grade] | None = None,
    now: dt.datetime | None = None,
) -> ConformanceReport:
    """Assess every catalog control for one system from its stored evidence, grades and attestations."""
    from assay.catalog import load_catalog
    from assay.store.evidence_index import newest_by_kind

    now = _aware(now or dt.datetime.now(dt.UTC))
    catalog = load_catalog()
    with ws.db.session() as s:
        newest = newest_by_kind(s, system)
    graded = list(grades) if grades is not None else grades_from_label(ws, system)
    latest: dict[str, Attestation] = {}
    for a in list_attestations(ws, system):
        latest[a.control] = a  # oldest first: the newest answer wins
    freshness = pack.freshness_days if pack else {}
    controls = [_assess_one(c, newest, graded, latest.get(c.id), freshness, now) for c in catalog.controls]
    dims = [
        DimensionSummary(
            dimension=d.id,
            title=d.title,
            counts=_count(c.status for c in controls if c.dimension == d.id),
        )
        for d in catalog.dimensions
    ]
    return ConformanceReport(
        system=system,
        generated_at=now,
        pack=f"{pack.id}@{pack.version}" if pack else "",
        controls=controls,
        dimensions=dims,
        counts=_count(c.status for c in controls),
    )


def _count(statuses: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(STATUS_TEXT, 0)
    for s in statuses:
        out[s] += 1
    return out


def _assess_one(
    control: Any,
    newest: dict[str, dict[str, Any]],
    grades: list[Grade],
    att: Attestation | None,
    freshness: dict[str, int],
    now: dt.datetime,
) -> ControlAssessment:
    base = {"id": control.id, "dimension": control.dimension, "title": control.title, "attestation": att}
    if att is not None and att.answer == "not_applicable":
        why = f"declared not applicable by {att.by} ({att.role}) on {att.at:%Y-%m-%d}: {att.reason}"
        return ControlAssessment(**base, status="not_applicable", reason=why)
    basis: list[EvidenceBasis] = []
    for kind in control.evidence:
        limit = freshness.get(kind)
        if kind == "attestation":
            if att is None or att.answer == "no":
                basis.append(EvidenceBasis(kind=kind, state="missing", max_age_days=limit))
                continue
            created, ev_id, sha, name = att.at, att.evidence_id, att.evidence_sha256, f"{att.by} ({att.role})"
        else:
            row = newest.get(kind)
            if row is None:
                basis.append(EvidenceBasis(kind=kind, state="missing", max_age_days=limit))
                continue
            created, ev_id, sha, name = _aware(row["created_at"]), row["id"], row["sha256"], row["name"]
        age = (now - _aware(created)).total_seconds() / 86400
        state: Literal["fresh", "stale"] = "stale" if limit is not None and age > limit else "fresh"
        basis.append(
            EvidenceBasis(
                kind=kind,
                evidence_id=ev_id,
                sha256=sha,
                name=name,
                created_at=created,
                age_days=round(age, 2),
                max_age_days=limit,
                state=state,
            )
        )
    linked = [
        GradeBasis(rule_id=g.rule_id, pack=f"{g.pack_id}@{g.pack_version}", status=g.status, reason=g.reason)
        for g in grades
        if control.id in g.controls
    ]
    fresh = [b.kind for b in basis if b.state == "fresh"]
    stale = [b for b in basis if b.state == "stale"]
    missing = [b.kind for b in basis if b.state == "missing"]
    red = [g for g in linked if g.status == "red"]
    weak = [g for g in linked if g.status in ("amber", "inconclusive", "not_measured")]
    out = {**base, "evidence": basis, "grades": linked}
    if att is not None and att.answer == "no":
        why = f"{att.by} ({att.role}) attested on {att.at:%Y-%m-%d} that it is not in place"
        return ControlAssessment(**out, status="not_met", reason=why)
    if red:
        return ControlAssessment(
            **out,
            status="not_met",
            reason=f"graded red by {red[0].pack} rule {red[0].rule_id}: {red[0].reason}",
        )
    if not fresh and stale:
        s = stale[0]
        why = (
            f"the newest {s.kind} evidence is {s.age_days:.0f} days old; the pack allows {s.max_age_days} "
            "days, so nothing current shows the control is met"
        )
        return ControlAssessment(**out, status="stale", reason=why)
    if not fresh:
        return ControlAssessment(**out, status="not_met", reason=f"no evidence of kind {', '.join(missing)}")
    gaps = []
    if missing:
        gaps.append(f"missing {', '.join(missing)}")
    if stale:
        gaps.append(f"stale {', '.join(b.kind for b in stale)}")
    if weak:
        gaps.append(f"{weak[0].pack} rule {weak[0].rule_id} is {weak[0].status}")
    if att is not None and att.answer == "partly":
        gaps.append(f"{att.by} ({att.role}) attested it is partly in place")
    if gaps:
        return ControlAssessment(
            **out, status="partly_met", reason=f"evidenced by {', '.join(fresh)}, but {'; '.join(gaps)}"
        )
    return ControlAssessment(**out, status="met", reason=f"current evidence: {', '.join(fresh)}")


def render_conformance_html(
    report: ConformanceReport,
    system_name: str,
    version: str,
    *,
    files: dict[str, str] | None = None,
    grades: Any = None,
) -> str:
    """One page per system and version: coverage per dimension, every control with its status and the
    evidence it rests on, and the NIST AI RMF, ISO/IEC 42001 and EU AI Act views (`views.py`).
    `files` maps a sha256 to the output file with that content; `grades` is the label's EvidenceRef."""
    from assay.assurance.report import render_report_html
    from assay.assurance.views import build_views

    views = build_views(report, system_name=system_name, version=version, files=files, grades=grades)
    return render_report_html(views)
