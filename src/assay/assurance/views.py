"""The conformance report's views: one assessment read by dimension, by NIST AI RMF subcategory, as an
ISO/IEC 42001 Annex A Statement of Applicability, and by EU AI Act article.

The assessment (`conformance.py`) gives each Assay control a status. The other frameworks' items get
theirs only through the catalog's crosswalk, so a view row is a roll-up of the Assay controls linked to
that item: all of them met → met; some met or partly met → partly met; all stale → stale; otherwise not
met; all declared not applicable → not applicable. An item whose only links are `related` (same topic,
not the same intent) is at most partly met, because evidence for a neighbouring control cannot show
the item itself is in place. An item no Assay control links to is reported as such — never as met.

The templates only lay these models out; every decision is made here so the HTML, the PDF, the CLI
and the JSON agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from assay.assurance.conformance import STATUS_TEXT, ConformanceReport, ControlAssessment
from assay.catalog.models import Catalog, Framework

RowStatus = Literal["met", "partly_met", "not_met", "stale", "not_applicable", "unmapped"]
ROW_STATUS_TEXT: dict[str, str] = {**STATUS_TEXT, "unmapped": "no Assay control maps here"}
VIEWS: tuple[str, ...] = ("dimensions", "nist", "iso42001", "euaia")
"""The report's sections, in order; `assay conformance --view` takes one of the last three."""
VIEW_FRAMEWORK = {"nist": "nist-ai-rmf", "iso42001": "iso-42001", "euaia": "eu-ai-act"}


def control_anchor(control_id: str) -> str:
    """The HTML id of a control's row in the by-dimension section."""
    return "c-" + re.sub(r"[^a-z0-9]+", "-", control_id.lower()).strip("-")


def evidence_anchor(evidence_id: str) -> str:
    return f"ev-{evidence_id}"


class EvidenceRef(BaseModel):
    """One evidence record or attestation a status rests on, as the report's appendix lists it."""

    evidence_id: str
    anchor: str
    kind: str
    name: str = ""
    sha256: str = ""
    created_at: dt.datetime | None = None
    href: str = Field("", description="the output file with this content, relative to the report")
    note: str = Field("", description="for an attestation: who answered what; for the label: its role")
    controls: list[str] = Field(default_factory=list, description="controls whose status it helped set")


class ControlRow(BaseModel):
    """One Assay control as the report shows it, with the link to what set its status."""

    id: str
    anchor: str
    dimension: str
    title: str
    status: str
    status_text: str
    reason: str
    status_href: str = Field("", description="the evidence or attestation that set the status")
    evidence: list[tuple[str, str, str]] = Field(
        default_factory=list, description="(kind, state, href) for each evidence kind the control names"
    )
    grades: list[str] = Field(default_factory=list)
    crosswalk: list[str] = Field(default_factory=list)


class DimensionCoverage(BaseModel):
    """A dimension's controls counted by status; `score` weighs partly met as half."""

    dimension: str
    number: int
    title: str
    counts: dict[str, int]
    applicable: int
    score: float


class MappedControl(BaseModel):
    id: str
    title: str
    strength: str
    status: str
    status_text: str
    href: str = Field(description="the control's row in the by-dimension section")
    status_href: str = Field("", description="the evidence or attestation that set its status")


class FrameworkRow(BaseModel):
    """One item of another framework (a NIST subcategory, an EU article) and the Assay controls
    crosswalked to it."""

    target: str
    title: str
    group: str
    category: str = ""
    status: RowStatus
    status_text: str
    controls: list[MappedControl]


class FrameworkGroup(BaseModel):
    name: str
    rows: list[FrameworkRow]
    counts: dict[str, int]


class FrameworkView(BaseModel):
    view: str
    framework: str
    title: str
    version: str
    groups: list[FrameworkGroup]
    counts: dict[str, int]

    def row(self, target: str) -> FrameworkRow | None:
        return next((r for g in self.groups for r in g.rows if r.target == target), None)


class SoARow(BaseModel):
    """One Annex A control in the Statement of Applicability."""

    control: str
    title: str
    group: str
    applicable: Literal["yes", "no", "not determined"]
    implemented: Literal["yes", "partly", "no", "not assessed"]
    justification: str
    status: RowStatus
    controls: list[MappedControl]


class StatementOfApplicability(BaseModel):
    framework: str
    title: str
    version: str
    rows: list[SoARow]
    counts: dict[str, int] = Field(description="rows by implemented value")

    def row(self, control: str) -> SoARow | None:
        return next((r for r in self.rows if r.control == control), None)


class ConformanceViews(BaseModel):
    """Everything the report shows, built once from one assessment."""

    system: str
    system_name: str
    version: str
    generated_at: dt.datetime
    pack: str
    counts: dict[str, int]
    coverage: list[DimensionCoverage]
    controls: list[ControlRow]
    nist: FrameworkView
    iso42001: StatementOfApplicability
    euaia: FrameworkView
    evidence: list[EvidenceRef]


def _count(values: Iterable[str], keys: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(keys, 0)
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def dimension_coverage(report: ConformanceReport, catalog: Catalog) -> list[DimensionCoverage]:
    """Per dimension: counts by status, how many apply, and (met + ½ partly met) / applicable."""
    out = []
    for d in report.dimensions:
        dim = catalog.dimension(d.dimension)
        applicable = sum(d.counts.values()) - d.counts.get("not_applicable", 0)
        score = (d.counts["met"] + 0.5 * d.counts["partly_met"]) / applicable if applicable else 0.0
        out.append(
            DimensionCoverage(
                dimension=d.dimension,
                number=dim.number if dim else 0,
                title=d.title,
                counts=dict(d.counts),
                applicable=applicable,
                score=round(score, 4),
            )
        )
    return out


def rollup(mapped: list[MappedControl]) -> RowStatus:
    """The status of another framework's item from the Assay controls linked to it (module docstring)."""
    if not mapped:
        return "unmapped"
    live = [m for m in mapped if m.status != "not_applicable"]
    if not live:
        return "not_applicable"
    statuses = {m.status for m in live}
    if statuses == {"met"}:
        return "met" if any(m.strength != "related" for m in live) else "partly_met"
    if statuses & {"met", "partly_met"}:
        return "partly_met"
    if statuses == {"stale"}:
        return "stale"
    return "not_met"


def _mapped(
    report: ConformanceReport, catalog: Catalog, framework: Framework, grades_href: str
) -> dict[str, list[MappedControl]]:
    by_target: dict[str, list[MappedControl]] = {e.id: [] for e in framework.entries}
    for control in catalog.controls:
        assessed = report.control(control.id)
        if assessed is None:
            continue
        for link in control.links(framework.id):
            by_target.setdefault(link.target, []).append(
                MappedControl(
                    id=control.id,
                    title=control.title,
                    strength=link.strength,
                    status=assessed.status,
                    status_text=STATUS_TEXT[assessed.status],
                    href="#" + control_anchor(control.id),
                    status_href=_status_href(assessed, grades_href),
                )
            )
    return by_target


def _framework_view(
    view: str, report: ConformanceReport, catalog: Catalog, grades_href: str
) -> FrameworkView:
    framework = catalog.framework(VIEW_FRAMEWORK[view])
    mapped = _mapped(report, catalog, framework, grades_href)
    groups: dict[str, list[FrameworkRow]] = {}
    for entry in framework.entries:
        controls = mapped[entry.id]
        status = rollup(controls)
        category = ""
        if view == "nist":  # "GOVERN 1.2" belongs to category "GOVERN 1"
            category = entry.id.split(".", 1)[0]
        groups.setdefault(entry.group or framework.title, []).append(
            FrameworkRow(
                target=entry.id,
                title=entry.title,
                group=entry.group or "",
                category=category,
                status=status,
                status_text=ROW_STATUS_TEXT[status],
                controls=controls,
            )
        )
    out = [
        FrameworkGroup(name=name, rows=rows, counts=_count((r.status for r in rows), ROW_STATUS_TEXT))
        for name, rows in groups.items()
    ]
    return FrameworkView(
        view=view,
        framework=framework.id,
        title=framework.title,
        version=framework.version,
        groups=out,
        counts=_count((r.status for g in out for r in g.rows), ROW_STATUS_TEXT),
    )


def nist_view(report: ConformanceReport, catalog: Catalog, grades_href: str = "") -> FrameworkView:
    """NIST AI RMF 1.0 by function (Govern, Map, Measure, Manage) and subcategory."""
    return _framework_view("nist", report, catalog, grades_href)


def euaia_view(report: ConformanceReport, catalog: Catalog, grades_href: str = "") -> FrameworkView:
    """The EU AI Act by the articles the catalog links to."""
    return _framework_view("euaia", report, catalog, grades_href)


_IMPLEMENTED = {"met": "yes", "partly_met": "partly", "not_met": "no", "stale": "no"}


def _describe(controls: list[MappedControl]) -> str:
    return "; ".join(f"{m.title} ({m.strength}): {m.status_text}" for m in controls)


def iso42001_soa(
    report: ConformanceReport, catalog: Catalog, grades_href: str = ""
) -> StatementOfApplicability:
    """ISO/IEC 42001 Annex A as a Statement of Applicability: for each reference control, whether it
    applies, whether it is implemented, and why — from the Assay controls crosswalked to it."""
    framework = catalog.framework("iso-42001")
    mapped = _mapped(report, catalog, framework, grades_href)
    by_id = {c.id: c for c in report.controls}
    rows = []
    for entry in framework.entries:
        controls = mapped[entry.id]
        status = rollup(controls)
        if status == "unmapped":
            rows.append(
                SoARow(
                    control=entry.id,
                    title=entry.title,
                    group=entry.group or "",
                    applicable="not determined",
                    implemented="not assessed",
                    justification=(
                        f"No Assay control is crosswalked to {entry.id}, so Assay holds no evidence for "
                        "it: its applicability and implementation must be decided outside Assay."
                    ),
                    status=status,
                    controls=[],
                )
            )
            continue
        if status == "not_applicable":
            reasons = [
                by_id[m.id].attestation.reason  # type: ignore[union-attr]
                for m in controls
                if by_id[m.id].attestation is not None
            ]
            why = "Every Assay control mapped here was declared not applicable: " + "; ".join(
                r for r in reasons if r
            )
            rows.append(
                SoARow(
                    control=entry.id,
                    title=entry.title,
                    group=entry.group or "",
                    applicable="no",
                    implemented="not assessed",
                    justification=why.rstrip(": "),
                    status=status,
                    controls=controls,
                )
            )
            continue
        live = [m for m in controls if m.status != "not_applicable"]
        why = f"Applies: assessed through {len(live)} Assay control(s) — {_describe(live)}."
        if status == "partly_met" and {m.status for m in live} == {"met"}:
            why += " Only related controls map here, so it counts as partly implemented at most."
        rows.append(
            SoARow(
                control=entry.id,
                title=entry.title,
                group=entry.group or "",
                applicable="yes",
                implemented=_IMPLEMENTED[status],  # type: ignore[arg-type]
                justification=why,
                status=status,
                controls=controls,
            )
        )
    return StatementOfApplicability(
        framework=framework.id,
        title=framework.title,
        version=framework.version,
        rows=rows,
        counts=_count((r.implemented for r in rows), ("yes", "partly", "no", "not assessed")),
    )


def _status_href(c: ControlAssessment, grades_href: str) -> str:
    """What set the status: the attestation when a person's answer decided it, the label's grades when
    a red grade did, else the first current (or, for stale, the old) evidence record."""
    att = c.attestation
    if att is not None and att.evidence_id and (c.status == "not_applicable" or att.answer == "no"):
        return "#" + evidence_anchor(att.evidence_id)
    if c.status == "not_met" and any(g.status == "red" for g in c.grades) and grades_href:
        return grades_href
    wanted = "stale" if c.status == "stale" else "fresh"
    for b in c.evidence:
        if b.state == wanted and b.evidence_id:
            return "#" + evidence_anchor(b.evidence_id)
    return ""


def _control_rows(report: ConformanceReport, catalog: Catalog, grades_href: str) -> list[ControlRow]:
    frameworks = ("nist-ai-rmf", "iso-42001", "eu-ai-act")
    rows = []
    for c in report.controls:
        control = catalog.get(c.id)
        links = [f"{link.framework} {link.target}" for link in (control.crosswalk if control else ())
                 if link.framework in frameworks]  # fmt: skip
        rows.append(
            ControlRow(
                id=c.id,
                anchor=control_anchor(c.id),
                dimension=c.dimension,
                title=c.title,
                status=c.status,
                status_text=STATUS_TEXT[c.status],
                reason=c.reason,
                status_href=_status_href(c, grades_href),
                evidence=[
                    (b.kind, b.state, "#" + evidence_anchor(b.evidence_id) if b.evidence_id else "")
                    for b in c.evidence
                ],
                grades=[f"{g.pack} {g.rule_id}: {g.status}" for g in c.grades],
                crosswalk=links,
            )
        )
    return rows


def _evidence(
    report: ConformanceReport, files: Mapping[str, str], grades: EvidenceRef | None
) -> list[EvidenceRef]:
    found: dict[str, EvidenceRef] = {}
    for c in report.controls:
        for b in c.evidence:
            if not b.evidence_id:
                continue
            ref = found.get(b.evidence_id)
            if ref is None:
                note = ""
                if b.kind == "attestation" and c.attestation is not None:
                    a = c.attestation
                    note = f"{a.by} ({a.role}) answered '{a.answer}'" + (
                        f": {a.statement}" if a.statement else ""
                    )
                    if a.document_sha256:
                        note += f" — document {a.document_name} sha256:{a.document_sha256}"
                ref = found[b.evidence_id] = EvidenceRef(
                    evidence_id=b.evidence_id,
                    anchor=evidence_anchor(b.evidence_id),
                    kind=b.kind,
                    name=b.name,
                    sha256=b.sha256,
                    created_at=b.created_at,
                    href=files.get(b.sha256, "") if b.sha256 else "",
                    note=note,
                )
            if c.id not in ref.controls:
                ref.controls.append(c.id)
        att = c.attestation
        if (
            att is not None
            and att.evidence_id
            and att.evidence_id not in found
            and (c.status == "not_applicable" or att.answer == "no")
        ):
            found[att.evidence_id] = EvidenceRef(
                evidence_id=att.evidence_id,
                anchor=evidence_anchor(att.evidence_id),
                kind="attestation",
                name=f"{att.by} ({att.role})",
                sha256=att.evidence_sha256,
                created_at=att.at,
                note=f"answered '{att.answer}'"
                + (f": {att.reason or att.statement}" if att.reason or att.statement else ""),
                controls=[c.id],
            )
    if grades is not None:
        graded = [c.id for c in report.controls if c.grades]
        if graded:
            found.setdefault(grades.evidence_id, grades.model_copy(update={"controls": graded}))
    return sorted(
        found.values(), key=lambda r: (r.kind, r.created_at or dt.datetime.min.replace(tzinfo=dt.UTC))
    )


def build_views(
    report: ConformanceReport,
    *,
    system_name: str = "",
    version: str = "",
    files: Mapping[str, str] | None = None,
    grades: EvidenceRef | None = None,
    catalog: Catalog | None = None,
) -> ConformanceViews:
    """All views of one assessment. `files` maps a sha256 to the output file holding that content (a
    link relative to where the report is written); `grades` is the label record the grades came from."""
    if catalog is None:
        from assay.catalog import load_catalog

        catalog = load_catalog()
    files = files or {}
    grades_ref = None
    if grades is not None:
        grades_ref = grades.model_copy(update={"href": grades.href or files.get(grades.sha256, "")})
    grades_href = "#" + grades_ref.anchor if grades_ref is not None else ""
    return ConformanceViews(
        system=report.system,
        system_name=system_name or report.system,
        version=version,
        generated_at=report.generated_at,
        pack=report.pack,
        counts=report.counts,
        coverage=dimension_coverage(report, catalog),
        controls=_control_rows(report, catalog, grades_href),
        nist=nist_view(report, catalog, grades_href),
        iso42001=iso42001_soa(report, catalog, grades_href),
        euaia=euaia_view(report, catalog, grades_href),
        evidence=_evidence(report, files, grades_ref),
    )
