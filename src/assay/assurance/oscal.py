"""OSCAL exchange: the Assay catalog as an OSCAL catalog, an assessment as OSCAL assessment-results.

OSCAL (NIST's Open Security Controls Assessment Language) is what GRC tools read, so a third party
can import Assay's controls and results without Assay. Both documents are built from
`compliance-trestle`'s pydantic models of OSCAL 1.2, so whatever is written has passed their
validation; it is parsed back once more from its JSON before it is returned.

Mapping, in brief (docs/conformance.md has the table):
- catalog: one group per dimension; one control per Assay control, its statement as the `statement`
  part; the full Assay id, evidence kinds and each crosswalk edge as props in the Assay namespace
  (name = framework, value = target id, class = strength), and a link per edge to a back-matter
  resource describing that framework.
- assessment-results: one result; one observation per evidence record or attestation, whose
  relevant-evidence points at a back-matter resource carrying the record's SHA-256; one finding per
  control, targeting the OSCAL control id, with the objective status (met → satisfied; partly met,
  not met, stale → not-satisfied) and the exact Assay status as the `assay-status` prop. A control
  declared not applicable is excluded from the reviewed controls and its finding carries no status.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.assurance.conformance import STATUS_TEXT, ConformanceReport
from assay.catalog.models import Catalog

if TYPE_CHECKING:
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.catalog import Catalog as OscalCatalog

NS = "urn:assay:oscal"
"""The namespace of every Assay-specific prop, so OSCAL tools do not mistake them for core props."""
BUILTIN_NAMESPACE = "mgf-genai:2024:"
_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, NS)
INSTALL_HINT = "OSCAL export needs compliance-trestle: pip install 'assay[oscal]'"


class OscalUnavailable(RuntimeError):
    """compliance-trestle is not installed; the rest of Assay works without it."""


def _trestle() -> None:
    try:
        import trestle.oscal  # noqa: F401
    except ImportError as exc:
        raise OscalUnavailable(INSTALL_HINT) from exc


def _uuid(*parts: str) -> str:
    """Stable ids: the same catalog or record gets the same uuid in every export (uuid5)."""
    return str(uuid.uuid5(_UUID_NS, "|".join(parts)))


def oscal_control_id(control_id: str) -> str:
    """An OSCAL token for an Assay control: the built-in `mgf-genai:2024:data.cards` becomes
    `data.cards`; a user's control from another namespace keeps it, with ':' as '_'."""
    if control_id.startswith(BUILTIN_NAMESPACE):
        return control_id[len(BUILTIN_NAMESPACE) :]
    return control_id.replace(":", "_")


def _prop(name: str, value: str, cls: str | None = None) -> Any:
    from trestle.oscal.common import Property

    return Property(name=name, value=value, ns=NS, class_=cls)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("assay")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0"


def _metadata(title: str, when: dt.datetime, doc_version: str) -> Any:
    from trestle.oscal import OSCAL_VERSION
    from trestle.oscal.common import Metadata

    return Metadata(
        title=title,
        last_modified=when.astimezone(dt.UTC).replace(microsecond=0),
        version=doc_version,
        oscal_version=OSCAL_VERSION,
        props=[_prop("generator", f"assay {_version()}")],
    )


def catalog_document(catalog: Catalog, *, now: dt.datetime | None = None) -> OscalCatalog:
    """The Assay catalog as an OSCAL catalog (groups = the nine dimensions)."""
    _trestle()
    from trestle.oscal.catalog import Catalog as OscalCatalog
    from trestle.oscal.catalog import Control, Group2
    from trestle.oscal.common import BackMatter, Link, Part, Resource

    when = now or dt.datetime.now(dt.UTC)
    resources = {
        f.id: Resource(
            uuid=_uuid("framework", f.id, f.version),
            title=f.title,
            description=f.source or f.title,
            props=[_prop("framework", f.id), _prop("framework-version", f.version)],
        )
        for f in catalog.frameworks
    }
    titles = {f.id: f.title for f in catalog.frameworks}
    groups = []
    for d in catalog.dimensions:
        controls = []
        for c in catalog.controls_for_dimension(d.id):
            cid = oscal_control_id(c.id)
            props = [_prop("assay-id", c.id)]
            props += [_prop("evidence-kind", k) for k in c.evidence]
            props += [_prop(link.framework, link.target, link.strength) for link in c.crosswalk]
            if c.pages:
                props.append(_prop("framework-pages", c.pages))
            links = [
                Link(
                    href=f"#{resources[link.framework].uuid}",
                    rel="reference",
                    text=f"{titles[link.framework]}: {link.target} ({link.strength})",
                )
                for link in c.crosswalk
                if link.framework in resources
            ]
            controls.append(
                Control(
                    id=cid,
                    title=c.title,
                    props=props,
                    links=links or None,
                    parts=[Part(id=f"{cid}_smt", name="statement", prose=c.statement)],
                )
            )
        groups.append(
            Group2(
                id=d.id,
                title=f"{d.number}. {d.title}",
                props=[_prop("dimension-number", str(d.number))],
                parts=[Part(id=f"{d.id}_ovw", name="overview", prose=d.summary)],
                controls=controls or None,
            )
        )
    doc = OscalCatalog(
        uuid=_uuid("catalog", _version(), *catalog.ids),
        metadata=_metadata(
            "Model AI Governance Framework for Generative AI (IMDA, 2024): the Assay control catalog",
            when,
            f"mgf-genai-2024/assay-{_version()}",
        ),
        groups=groups,
        back_matter=BackMatter(resources=list(resources.values())) if resources else None,
    )
    return _reparsed(doc)


_STATE = {"met": ("satisfied", "pass"), "partly_met": ("not-satisfied", "other"),
          "not_met": ("not-satisfied", "fail"), "stale": ("not-satisfied", "fail")}  # fmt: skip
_METHOD = {"attestation": "INTERVIEW", "eval.run": "TEST", "redteam.run": "TEST"}


def results_document(
    report: ConformanceReport,
    *,
    system_name: str = "",
    plan_href: str = "assay.yaml",
    catalog_href: str = "catalog.oscal.json",
    files: Mapping[str, str] | None = None,
    grades: Any = None,
) -> AssessmentResults:
    """One assessment as OSCAL assessment-results. `plan_href` is the manifest (Assay's plan: what is
    assessed and how), `catalog_href` the OSCAL catalog the control ids refer to, `files` maps a
    sha256 to the output file holding it, `grades` is the label record the grades came from."""
    _trestle()
    from trestle.oscal.assessment_results import AssessmentResults, ImportAp, Result
    from trestle.oscal.common import (
        BackMatter,
        ControlSelectionsAll,
        Finding,
        FindingTarget,
        Hash,
        IncludeAll,
        Link,
        ObjectiveStatus,
        Observation,
        RelatedObservation,
        RelevantEvidence,
        Resource,
        ReviewedControls,
        Rlink,
        SelectControlById,
    )

    from assay.assurance.views import build_views

    views = build_views(report, system_name=system_name, files=files, grades=grades)
    when = report.generated_at.astimezone(dt.UTC).replace(microsecond=0)
    resources: list[Any] = []
    observations: list[Any] = []
    by_evidence: dict[str, str] = {}
    for e in views.evidence:
        obs_uuid = _uuid("observation", e.evidence_id)
        by_evidence[e.evidence_id] = obs_uuid
        relevant = None
        if e.sha256:
            res_uuid = _uuid("evidence", e.sha256)
            href = e.href or f"urn:assay:evidence:{e.evidence_id}"
            if not any(r.uuid == res_uuid for r in resources):
                resources.append(
                    Resource(
                        uuid=res_uuid,
                        title=e.name or e.kind,
                        props=[_prop("evidence-kind", e.kind)],
                        rlinks=[Rlink(href=href, hashes=[Hash(algorithm="SHA-256", value=e.sha256)])],
                    )
                )
            relevant = [
                RelevantEvidence(
                    href=f"#{res_uuid}",
                    description=f"Signed Assay evidence record {e.evidence_id}, sha256 {e.sha256}",
                    props=[_prop("sha256", e.sha256), _prop("evidence-id", e.evidence_id)],
                )
            ]
        observations.append(
            Observation(
                uuid=obs_uuid,
                title=f"{e.kind}: {e.name or e.evidence_id}",
                description=e.note or f"Evidence of kind {e.kind} recorded by Assay for {report.system}.",
                props=[_prop("evidence-kind", e.kind)],
                methods=[_METHOD.get(e.kind, "EXAMINE")],
                collected=(e.created_at or when).astimezone(dt.UTC).replace(microsecond=0),
                relevant_evidence=relevant,
            )
        )
    findings = []
    excluded = []
    for c in report.controls:
        cid = oscal_control_id(c.id)
        ids = {b.evidence_id for b in c.evidence if b.evidence_id}
        if c.attestation is not None and c.attestation.evidence_id:
            ids.add(c.attestation.evidence_id)
        if c.grades and grades is not None:
            ids.add(grades.evidence_id)
        seen = [by_evidence[i] for i in sorted(ids) if i in by_evidence]
        related = [RelatedObservation(observation_uuid=u) for u in seen]
        status = None
        if c.status == "not_applicable":
            excluded.append(SelectControlById(control_id=cid))
        else:
            state, reason = _STATE[c.status]
            status = ObjectiveStatus(state=state, reason=reason, remarks=STATUS_TEXT[c.status])
        findings.append(
            Finding(
                uuid=_uuid("finding", report.system, c.id, when.isoformat()),
                title=f"{c.title}: {STATUS_TEXT[c.status]}",
                description=c.reason,
                props=[_prop("assay-status", c.status), _prop("assay-id", c.id)],
                target=FindingTarget(type="objective-id", target_id=cid, status=status),
                related_observations=related or None,
            )
        )
    counts = ", ".join(f"{n} {STATUS_TEXT[s]}" for s, n in report.counts.items() if n)
    result = Result(
        uuid=_uuid("result", report.system, when.isoformat()),
        title=f"Assay conformance assessment of {system_name or report.system}",
        description=f"Every control of the Assay catalog assessed from signed evidence: {counts}.",
        start=when,
        end=when,
        props=[_prop("system", report.system)] + ([_prop("policy-pack", report.pack)] if report.pack else []),
        links=[Link(href=catalog_href, rel="reference", text="The OSCAL catalog the control ids refer to")],
        reviewed_controls=ReviewedControls(
            control_selections=[
                ControlSelectionsAll(include_all=IncludeAll(), exclude_controls=excluded or None)
            ]
        ),
        observations=observations or None,
        findings=findings or None,
    )
    doc = AssessmentResults(
        uuid=_uuid("assessment-results", report.system, when.isoformat()),
        metadata=_metadata(
            f"Assay assessment results: {system_name or report.system}", when, when.strftime("%Y%m%dT%H%M%SZ")
        ),
        import_ap=ImportAp(
            href=plan_href,
            remarks="Assay keeps no separate assessment plan: the manifest names what is assessed and how.",
        ),
        results=[result],
        back_matter=BackMatter(resources=resources) if resources else None,
    )
    return _reparsed(doc)


def _reparsed(doc: Any) -> Any:
    """Parse the document back from its own JSON, so the JSON form (aliases, dates) is checked too."""
    return type(doc).model_validate_json(doc.model_dump_json(by_alias=True, exclude_none=True))


def to_json(doc: Any) -> bytes:
    """The document as OSCAL JSON, wrapped in its root key (`{"catalog": …}`), pretty-printed."""
    return doc.oscal_serialize_json_bytes(pretty=True, wrapped=True) + b"\n"


def write(doc: Any, path: Path) -> bytes:
    """Write atomically; returns the bytes written."""
    from assay.store.blobs import atomic_write

    data = to_json(doc)
    atomic_write(path, data)
    return data


def read_catalog(path: Path) -> OscalCatalog:
    _trestle()
    from trestle.oscal.catalog import Catalog as OscalCatalog

    return OscalCatalog.oscal_read(path)  # type: ignore[return-value]


def read_results(path: Path) -> AssessmentResults:
    _trestle()
    from trestle.oscal.assessment_results import AssessmentResults

    return AssessmentResults.oscal_read(path)  # type: ignore[return-value]
