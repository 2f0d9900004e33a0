"""The disclosure schema (`assay label schema` publishes it as JSON Schema).

Areas (a)–(g) of the framework's "food label" — data, infrastructure (and its environmental
impact), evaluation, mitigations, risks and limitations, intended use, user-data protection — plus
identity, accountability, content provenance and the reporting contact. Every area says whether it
is disclosed and where its content came from; a required area with nothing to show is "not
disclosed" and lowers the completeness score rather than being left blank.

The JSON is language-neutral (values and keys); renderings translate the fixed strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.energy.models import DeclaredTraining, Footprint
from assay.policy.models import DisclosureArea, Grade, Measurement

LABEL_FORMAT = 1

AreaStatus = Literal["disclosed", "not_disclosed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Area(_Strict):
    """What every area carries: disclosed or not, and where the content came from."""

    status: AreaStatus = "not_disclosed"
    source: str = Field("", description="e.g. 'manifest: system.intended_use', 'evidence: eval.run'")


class PartyEntry(_Strict):
    id: str
    name: str
    roles: list[str]
    jurisdiction: str = ""


class ComponentEntry(_Strict):
    id: str
    name: str
    kind: str
    provider: str
    version: str = ""
    licence: str = ""
    sha256: str = Field("", description="declared artifact hash, when the manifest names one")


class Identity(Area):
    system_id: str
    name: str
    version: str
    description: str = ""
    sector: str
    model_type: str
    parties: list[PartyEntry] = Field(default_factory=list)
    components: list[ComponentEntry] = Field(default_factory=list)


class AccountabilitySummary(Area):
    """The registry's RACI flags and the safety net, in a few numbers and lines."""

    risk_areas: int = 0
    gaps: list[str] = Field(default_factory=list, description="risk areas with no accountable party")
    conflicts: list[str] = Field(default_factory=list)
    covered_risk_areas: list[str] = Field(default_factory=list, description="by insurance or commitments")
    uncovered_risk_areas: list[str] = Field(default_factory=list)
    expiring: list[str] = Field(default_factory=list, description="cover that expires within 90 days or has")


class DatasetEntry(_Strict):
    id: str
    name: str
    provider: str
    purpose: str
    licence: str = ""
    contains_personal_data: bool = False
    data_card_sha256: str = Field("", description="the dataset's data card, when one was built")


class DataArea(Area):
    """(a) the data used."""

    datasets: list[DatasetEntry] = Field(default_factory=list)
    training_data_summary: str = Field("", description="as declared by the model developer")


class InfrastructureArea(Area):
    """(b) training infrastructure and environmental impact; the assessment's own footprint beside it."""

    declared_training: DeclaredTraining | None = None
    assessment_footprint: Footprint | None = None
    hosting: list[str] = Field(default_factory=list, description="hosting components and their providers")


class SuiteResult(_Strict):
    suite_id: str
    title: str = ""
    target: str
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    grade: str | None = Field(None, description="the suite's own A–E band (not the policy grade)")
    languages: list[str] = Field(default_factory=list)
    evidence_sha256: str = ""


class RedteamResult(_Strict):
    suite_id: str
    target: str
    attack_success_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    judged: int = 0
    attacks: int = 0
    evidence_sha256: str = ""


class LanguageResult(_Strict):
    """How the system did in one language it was tested in (pass rate over the suites tagged with it)."""

    language: str
    suites: int
    n: int
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class EvaluationArea(Area):
    """(c) evaluation results."""

    suites: list[SuiteResult] = Field(default_factory=list)
    redteam: list[RedteamResult] = Field(default_factory=list)
    languages: list[LanguageResult] = Field(default_factory=list)


class MitigationsArea(Area):
    """(d) mitigations and safety measures."""

    measures: list[str] = Field(default_factory=list)
    guardrail_components: list[str] = Field(default_factory=list)


class RisksArea(Area):
    """(e) risks and limitations."""

    known_limitations: list[str] = Field(default_factory=list)
    red_grades: list[str] = Field(default_factory=list, description="rule ids graded red")


class IntendedUseArea(Area):
    """(f) intended use."""

    intended_use: str = ""
    out_of_scope_uses: list[str] = Field(default_factory=list)
    users: str = ""
    languages: list[str] = Field(default_factory=list, description="languages the system serves")


class UserDataArea(Area):
    """(g) user data protection."""

    practices: list[str] = Field(default_factory=list)
    retention: str = ""
    contact: str = Field("", description="data protection officer or contact")


class ProvenanceMethod(_Strict):
    method: str = Field(description="e.g. 'kgw-watermark', 'c2pa text manifest (sidecar)', 'syncTile image'")
    applies_to: str = Field(description="text, image")
    detail: str = ""


class ProvenanceArea(Area):
    methods: list[ProvenanceMethod] = Field(default_factory=list)
    how_to_verify: str = Field("", description="e.g. 'assay verify FILE' or the public /verify page")
    marked_outputs: int = 0


class ReportingArea(Area):
    incident_contact: str = ""
    vulnerability_contact: str = ""
    report_url: str = ""


class PolicySummary(_Strict):
    pack_id: str
    pack_version: str
    lineage: list[str] = Field(default_factory=list, description="base first, id@version")
    illustrative: bool = False
    risk_tier: str | None = None
    risk_tier_rule: str | None = None
    risk_tier_reason: str = ""
    oversight: str = ""
    counts: dict[str, int] = Field(default_factory=dict, description="grades by status")


class Completeness(_Strict):
    score: float = Field(ge=0, le=1, description="disclosed required areas / required areas")
    required: list[DisclosureArea] = Field(default_factory=list)
    missing: list[DisclosureArea] = Field(default_factory=list)


class EvidenceRef(_Strict):
    evidence_id: str
    sha256: str
    kind: str
    name: str = ""


class Disclosure(_Strict):
    """A whole label (`label.json`)."""

    label: int = Field(LABEL_FORMAT, description="label format version")
    generated_at: str = Field(description="ISO 8601 UTC time the label was built")
    assay_version: str
    identity: Identity
    accountability: AccountabilitySummary
    data: DataArea
    infrastructure: InfrastructureArea
    evaluation: EvaluationArea
    mitigations: MitigationsArea
    risks: RisksArea
    intended_use: IntendedUseArea
    user_data: UserDataArea
    provenance: ProvenanceArea
    reporting: ReportingArea
    policy: PolicySummary | None = None
    measurements: list[Measurement] = Field(
        default_factory=list, description="every measured value, so another pack can grade the same label"
    )
    grades: list[Grade] = Field(default_factory=list)
    completeness: Completeness
    evidence: list[EvidenceRef] = Field(default_factory=list, description="every record the label read")
    chain_head: str = Field("", description="SYSTEM:LENGTH:SHA256 of the evidence chain when built")
