"""The food label as an SPDX 3.0.1 document (JSON-LD): an AI package per model component, a Dataset
package per dataset, the system as a software package, and the relationships between them, built with
the `spdx-python-model` bindings so the output is whatever the SPDX model says it is."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from assay.label.exports.cdx_common import ExportInvalid, serial_number, spdx_licence_id, utc_time
from assay.label.exports.mlbom import MODEL_DATA_PURPOSES, MODEL_KINDS
from assay.label.models import Disclosure

SPDX_VERSION = "3.0.1"
MEDIA_TYPE = "application/spdx+json"
# The risk tiers a policy pack may name that SPDX's safetyRiskAssessment also knows.
_SPDX_RISK = ("serious", "high", "medium", "low")
_PURPOSE_RELATION = {"training": "trainedOn", "fine-tuning": "trainedOn", "evaluation": "testedOn"}


def _model() -> Any:
    from spdx_python_model import v3_0_1

    return v3_0_1


def _time(text: str) -> dt.datetime:
    return dt.datetime.strptime(utc_time(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


class _Doc:
    """Holds the object set, the namespace and the shared CreationInfo while elements are added."""

    def __init__(self, d: Disclosure) -> None:
        from assay import __version__

        self.m = _model()
        ident = d.identity
        uid = serial_number("spdx", ident.system_id, ident.version, utc_time(d.generated_at)).removeprefix(
            "urn:uuid:"
        )
        self.ns = f"https://spdx.org/spdxdocs/assay-{_slug(ident.system_id)}-{uid}#"
        self.objects = self.m.SHACLObjectSet()
        self.elements: list[Any] = []
        tool = self.m.Tool(spdxId=self.ns + "tool-assay", name=f"assay {__version__}")
        agent = self.m.SoftwareAgent(spdxId=self.ns + "agent-assay", name="Assay")
        self.info = self.m.CreationInfo(
            specVersion=SPDX_VERSION, created=_time(d.generated_at), createdBy=[agent], createdUsing=[tool]
        )
        for obj in (tool, agent):
            obj.creationInfo = self.info
            self.add(obj)
        self._n = 0
        self._used: set[str] = set()

    def add(self, obj: Any) -> Any:
        self.objects.add(obj)
        self.elements.append(obj)
        return obj

    def new(self, cls: str, local: str, **kwargs: Any) -> Any:
        """A new element; ids made from label text can collide once slugged ('a b', 'a-b'), so the
        second gets a suffix rather than silently replacing the first."""
        unique, n = local, 1
        while unique in self._used:
            n += 1
            unique = f"{local}-{n}"
        self._used.add(unique)
        return self.add(getattr(self.m, cls)(spdxId=self.ns + unique, creationInfo=self.info, **kwargs))

    def relate(self, src: Any, kind: str, targets: list[Any]) -> None:
        self._n += 1
        self.new(
            "Relationship",
            f"rel-{self._n}",
            from_=src,
            to=targets,
            relationshipType=getattr(self.m.RelationshipType, kind),
        )

    def licence(self, owner: Any, licence: str, local: str) -> None:
        """The declared licence, as an SPDX expression; a name off the SPDX list becomes a LicenseRef."""
        text = " ".join(licence.split())
        if not text:
            return
        spdx_id = spdx_licence_id(text)
        expression = spdx_id or f"LicenseRef-{_slug(text)}"
        lic = self.new(
            "simplelicensing_LicenseExpression",
            f"licence-{local}",
            simplelicensing_licenseExpression=expression,
        )
        if spdx_id is None:
            lic.comment = f"declared licence (not on the SPDX list): {text}"
        self.relate(owner, "hasDeclaredLicense", [lic])


def _metrics(d: Disclosure, m: Any) -> list[Any]:
    out = []
    for s in d.evaluation.suites:
        if s.score is None:
            continue
        ci = (
            f" (95% CI {_num(s.ci_low)}–{_num(s.ci_high)})"
            if s.ci_low is not None and s.ci_high is not None
            else ""
        )
        out.append(
            m.DictionaryEntry(
                key=f"{s.suite_id} pass rate [{s.target}]", value=f"{_num(s.score)}{ci}; n={s.n}"
            )
        )
    for r in d.evaluation.redteam:
        if r.attack_success_rate is None:
            continue
        ci = (
            f" (95% CI {_num(r.ci_low)}–{_num(r.ci_high)})"
            if r.ci_low is not None and r.ci_high is not None
            else ""
        )
        value = f"{_num(r.attack_success_rate)}{ci}; judged={r.judged}"
        out.append(m.DictionaryEntry(key=f"{r.suite_id} attack success rate [{r.target}]", value=value))
    return out


def _energy(d: Disclosure, m: Any) -> Any | None:
    """Declared training energy, and the assessment's own runs as inference (that is what they are)."""
    infra = d.infrastructure
    kwargs: dict[str, Any] = {}
    t = infra.declared_training
    if t is not None and t.energy_kwh is not None:
        kwargs["ai_trainingEnergyConsumption"] = [
            m.ai_EnergyConsumptionDescription(
                ai_energyQuantity=t.energy_kwh, ai_energyUnit=m.ai_EnergyUnitType.kilowattHour
            )
        ]
    f = infra.assessment_footprint
    if f is not None:
        kwargs["ai_inferenceEnergyConsumption"] = [
            m.ai_EnergyConsumptionDescription(
                ai_energyQuantity=f.energy_kwh, ai_energyUnit=m.ai_EnergyUnitType.kilowattHour
            )
        ]
    return m.ai_EnergyConsumption(**kwargs) if kwargs else None


def _training_text(d: Disclosure) -> str:
    parts = []
    if d.data.training_data_summary:
        parts.append(d.data.training_data_summary)
    t = d.infrastructure.declared_training
    if t is not None:
        facts = [f"{k}: {v}" for k, v in t.model_dump().items() if v not in (None, "")]
        if facts:
            parts.append("declared by the developer: " + "; ".join(facts))
    return "\n".join(parts)


def spdx3_objects(d: Disclosure) -> Any:
    """The label as an SPDX 3.0.1 SHACLObjectSet (what `spdx3` serialises)."""
    doc = _Doc(d)
    m = doc.m
    ident = d.identity
    presence = m.PresenceType
    orgs: dict[str, Any] = {}
    for p in ident.parties:
        orgs[p.id] = doc.new("Organization", f"party-{_slug(p.id)}", name=p.name)

    def supplier(party_id: str) -> Any:
        if party_id not in orgs:
            orgs[party_id] = doc.new("Organization", f"party-{_slug(party_id)}", name=party_id)
        return orgs[party_id]

    system = doc.new(
        "software_Package",
        f"system-{_slug(ident.system_id)}",
        name=ident.name,
        software_packageVersion=ident.version,
        software_primaryPurpose=m.software_SoftwarePurpose.application,
    )
    if ident.description:
        system.description = ident.description

    datasets: dict[str, tuple[Any, str]] = {}
    for ds in d.data.datasets:
        pkg = doc.new(
            "dataset_DatasetPackage",
            f"dataset-{_slug(ds.id)}",
            name=ds.name,
            suppliedBy=supplier(ds.provider),
            software_primaryPurpose=m.software_SoftwarePurpose.data,
            dataset_datasetType=[m.dataset_DatasetType.noAssertion],
            dataset_intendedUse=ds.purpose,
            dataset_hasSensitivePersonalInformation=presence.yes
            if ds.contains_personal_data
            else presence.no,
        )
        if ds.data_card_sha256:
            pkg.comment = f"data card sha256: {ds.data_card_sha256}"
        doc.licence(pkg, ds.licence, f"dataset-{_slug(ds.id)}")
        datasets[ds.id] = (pkg, ds.purpose)

    any_personal = any(ds.contains_personal_data for ds in d.data.datasets)
    parts: list[Any] = []
    for c in ident.components:
        local = f"component-{_slug(c.id)}"
        common: dict[str, Any] = {"name": c.name, "suppliedBy": supplier(c.provider)}
        if c.version:
            common["software_packageVersion"] = c.version
        if c.sha256:
            common["verifiedUsing"] = [m.Hash(algorithm=m.HashAlgorithm.sha256, hashValue=c.sha256)]
        if c.kind in MODEL_KINDS:
            pkg = doc.new(
                "ai_AIPackage",
                local,
                software_primaryPurpose=m.software_SoftwarePurpose.model,
                ai_typeOfModel=[c.kind.replace("_", " ")],
                ai_domain=[ident.sector],
                ai_autonomyType=presence.noAssertion,
                ai_useSensitivePersonalInformation=presence.yes if any_personal else presence.noAssertion,
                ai_metric=_metrics(d, m),
                **common,
            )
            if d.intended_use.intended_use:
                pkg.ai_informationAboutApplication = d.intended_use.intended_use
            limits = list(d.risks.known_limitations) + [
                f"out of scope: {u}" for u in d.intended_use.out_of_scope_uses
            ]
            if limits:
                pkg.ai_limitation = "\n".join(limits)
            training = _training_text(d)
            if training:
                pkg.ai_informationAboutTraining = training
            energy = _energy(d, m)
            if energy is not None:
                pkg.ai_energyConsumption = energy
            if d.policy is not None:
                pkg.ai_standardCompliance = [f"policy pack {d.policy.pack_id}@{d.policy.pack_version}"]
                tier = (d.policy.risk_tier or "").lower()
                if tier in _SPDX_RISK:
                    pkg.ai_safetyRiskAssessment = getattr(m.ai_SafetyRiskAssessmentType, tier)
            for pkg_ds, purpose in datasets.values():
                if purpose in MODEL_DATA_PURPOSES:
                    doc.relate(pkg, _PURPOSE_RELATION[purpose], [pkg_ds])
        else:
            purpose = (
                m.software_SoftwarePurpose.data
                if c.kind == "retrieval_data"
                else m.software_SoftwarePurpose.application
            )
            pkg = doc.new("software_Package", local, software_primaryPurpose=purpose, **common)
            pkg.comment = f"component kind: {c.kind}"
        doc.licence(pkg, c.licence, local)
        parts.append(pkg)
    if parts:
        doc.relate(system, "contains", parts)
    retrieval = [pkg for pkg, purpose in datasets.values() if purpose == "retrieval"]
    if retrieval:
        doc.relate(system, "dependsOn", retrieval)

    data_licence = doc.new(
        "simplelicensing_LicenseExpression", "data-licence", simplelicensing_licenseExpression="CC0-1.0"
    )
    document = m.SpdxDocument(
        spdxId=doc.ns + "document",
        creationInfo=doc.info,
        name=f"{ident.name} {ident.version}: food label (SPDX {SPDX_VERSION})",
        rootElement=[system],
        element=list(doc.elements),
        profileConformance=[
            m.ProfileIdentifierType.core,
            m.ProfileIdentifierType.software,
            m.ProfileIdentifierType.ai,
            m.ProfileIdentifierType.dataset,
            m.ProfileIdentifierType.simpleLicensing,
        ],
        dataLicense=data_licence,
    )
    doc.objects.add(document)
    return doc.objects


def spdx3(d: Disclosure) -> dict[str, Any]:
    """The label as SPDX 3.0.1 JSON-LD: AI and Dataset packages and their relationships."""
    return spdx3_json(spdx3_objects(d))


def spdx3_json(objects: Any) -> dict[str, Any]:
    """Serialise an SPDX 3.0.1 object set. The bindings refuse an element that lacks a required
    property; that refusal is an ExportInvalid."""
    try:
        return _model().JSONLDSerializer().serialize_data(objects)
    except (ValueError, TypeError) as exc:
        raise ExportInvalid("the label's SPDX 3.0.1 document", [str(exc)]) from None
