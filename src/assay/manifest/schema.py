"""The `assay.yaml` schema: governance as code.

Every section of the manifest is a pydantic model with unknown keys forbidden, so a typo is an error
rather than a silently ignored setting. Sections that no capability uses yet (targets, suites, policy
pack, provenance) are still typed, so that what a user writes today stays valid tomorrow.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MANIFEST_FORMAT = 1
SLUG = r"^[a-z0-9][a-z0-9._-]{0,62}$"
Slug = Annotated[str, Field(pattern=SLUG, description="lower-case id: letters, digits, '.', '_', '-'")]


class Strict(BaseModel):
    """Base of every manifest section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=False)


class ModelType(StrEnum):
    """How the foundation model is released; it changes who can control what (MGF p.7)."""

    closed = "closed"
    open_weights = "open-weights"
    open_source = "open-source"


class PartyRole(StrEnum):
    model_developer = "model_developer"
    application_deployer = "application_deployer"
    cloud_provider = "cloud_provider"
    data_provider = "data_provider"
    deploying_organisation = "deploying_organisation"


class ComponentKind(StrEnum):
    foundation_model = "foundation_model"
    fine_tune = "fine_tune"
    application = "application"
    guardrail = "guardrail"
    retrieval_data = "retrieval_data"
    hosting = "hosting"


class ControlPoint(StrEnum):
    """The levers along the supply chain; holding one is what makes a party responsible."""

    training_data = "training_data"
    weights = "weights"
    alignment = "alignment"
    system_prompt = "system_prompt"
    retrieval_data = "retrieval_data"
    input_filter = "input_filter"
    output_filter = "output_filter"
    user_data = "user_data"
    deployment_infrastructure = "deployment_infrastructure"
    monitoring = "monitoring"
    incident_response = "incident_response"


class ControlLevel(StrEnum):
    full = "full"
    shared = "shared"


class System(Strict):
    id: Slug
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    intended_use: str = Field(min_length=1, description="what the system is for, in a sentence or two")
    out_of_scope_uses: list[str] = []
    sector: str = Field(min_length=1, description="e.g. finance, healthcare, public-sector, retail")
    model_type: ModelType
    users: str = Field("", description="who uses it: staff, customers, the public")
    languages: list[str] = []


class Party(Strict):
    id: Slug
    name: str = Field(min_length=1)
    roles: list[PartyRole] = Field(min_length=1)
    jurisdiction: str = ""
    contact: str = ""


class Artifact(Strict):
    """Where a component's bytes are, so their hash can be recorded as evidence."""

    python_package: str | None = Field(None, description="an installed distribution that ships the file")
    path: str | None = Field(None, description="path inside the package, or relative to the manifest")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    allow_outside: bool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )

    @model_validator(mode="after")
    def _needs_path(self) -> Artifact:
        if not self.path:
            raise ValueError("an artifact needs 'path'")
        return self


class Component(Strict):
    id: Slug
    name: str = Field(min_length=1)
    kind: ComponentKind
    provider: str = Field(description="id of the party that supplies the component")
    version: str = ""
    licence: str = ""
    based_on: str | None = Field(None, description="id of the component this one is derived from")
    artifact: Artifact | None = None
    description: str = ""


class ControlPointHolding(Strict):
    """A party's claim to hold a control point on a component."""

    point: ControlPoint
    component: str
    holder: str
    level: ControlLevel = ControlLevel.full
    note: str = ""


class Dataset(Strict):
    id: Slug
    name: str = Field(min_length=1)
    provider: str
    purpose: str = Field(pattern=r"^(training|fine-tuning|retrieval|evaluation)$")
    licence: str = ""
    contains_personal_data: bool = False
    path: str | None = None
    description: str = ""
    allow_outside: bool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class TargetKind(StrEnum):
    bundled = "bundled"
    openai = "openai"
    http = "http"
    python = "python"


class Target(Strict):
    id: Slug
    kind: TargetKind
    component: str | None = Field(None, description="the component this target exercises")
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="name of the environment variable holding the key")
    callable: str | None = Field(None, description="module:function, for kind python")
    system_prompt: str | None = None
    params: dict[str, Any] = {}
    threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="kind bundled: torch threads for the engine (ASSAY_THREADS overrides it; "
        "default: the CPUs free when the model loads)",
    )
    max_concurrency: int = Field(8, ge=1, le=1024)
    rate_limit_per_s: float | None = Field(None, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=20)
    request_template: dict[str, Any] | list[Any] | str | None = Field(
        None,
        description="kind http: the JSON body to send, with {{prompt}}, {{messages}}, {{system}}, "
        "{{model}}, {{max_tokens}}, {{temperature}} placeholders (a string is rendered with Jinja2)",
    )
    response_path: str | None = Field(
        None, description="kind http: JSONPath to the answer text in the response, e.g. $.output.text"
    )
    headers: dict[str, str] = Field(
        {}, description="kind http/openai: extra request headers; values may use ${ENV_VAR} references"
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Target:
        if self.kind in (TargetKind.openai, TargetKind.http) and not self.base_url:
            raise ValueError(f"a target of kind '{self.kind.value}' needs 'base_url'")
        if self.kind is TargetKind.python and not self.callable:
            raise ValueError("a target of kind 'python' needs 'callable' (module:function)")
        if self.threads is not None and self.kind is not TargetKind.bundled:
            raise ValueError(f"'threads' applies to targets of kind 'bundled', not '{self.kind.value}'")
        if self.kind is TargetKind.bundled and "threads" in self.params:
            legacy = self.params["threads"]
            if isinstance(legacy, bool) or not isinstance(legacy, int) or not 1 <= legacy <= 1024:
                raise ValueError(f"params.threads must be a whole number from 1 to 1024, got {legacy!r}")
            if self.threads is not None and self.threads != legacy:
                raise ValueError(
                    f"'threads: {self.threads}' and 'params.threads: {legacy}' disagree; keep 'threads'"
                )
        return self


class SuiteRef(Strict):
    suite: str = Field(min_length=1, description="name of a built-in suite or a path to a suite file")
    targets: list[str] = []
    limit: int | None = Field(None, ge=1)
    sample: int | None = Field(None, ge=1)
    seed: int = 0
    allow_outside: bool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class RedTeamRef(Strict):
    """A red-team run for `assay assess`: seed prompts × attacks against targets."""

    seeds: str = Field("redteam-starter", description="a seed suite (built-in name or file)")
    attacks: list[str] = Field(
        default_factory=lambda: ["all"], description="attack ids or families, or 'all'"
    )
    targets: list[str] = []
    attacker: str | None = Field(None, description="target that rewrites prompts for the PAIR-style loop")
    judge: str | None = Field(None, description="target that grades answers as harmful compliance")
    budget: int = Field(5, ge=1, le=100, description="target queries per adaptive sample")
    max_queries: int | None = Field(None, ge=1, description="cap on the whole run's target queries")
    limit: int | None = Field(None, ge=1)
    sample: int | None = Field(None, ge=1)
    seed: int = 0
    allow_outside: bool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class PolicyPackRef(Strict):
    id: str = Field(min_length=1)
    path: str | None = None
    allow_outside: bool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class TextWatermark(Strict):
    enabled: bool = True
    gamma: float = Field(0.25, gt=0, lt=1)
    delta: float = Field(2.0, gt=0)
    context_width: int = Field(1, ge=1, le=8)
    key_id: str | None = None


class Provenance(Strict):
    text_watermark: TextWatermark | None = None
    image_watermark: bool = False
    c2pa: bool = False
    generator_name: str | None = None


class Money(Strict):
    amount: float = Field(ge=0)
    currency: str = Field("SGD", pattern=r"^[A-Z]{3}$")


class CommitmentKind(StrEnum):
    indemnity = "indemnity"
    warranty = "warranty"
    service_level = "service_level"
    other = "other"


class Commitment(Strict):
    """A promise one party makes to another, e.g. an IP indemnity from the model developer."""

    id: Slug
    kind: CommitmentKind
    by: str = Field(alias="from", description="party giving the commitment")
    to: str
    scope: str = Field(min_length=1)
    risk_areas: list[str] = Field(min_length=1)
    limit: Money | None = None
    exclusions: list[str] = []
    starts: dt.date | None = None
    expires: dt.date | None = None


class LiabilityNote(Strict):
    party: str
    risk_areas: list[str] = Field(min_length=1)
    note: str = Field(min_length=1)


class InsurancePolicy(Strict):
    id: Slug
    insurer: str = Field(min_length=1)
    holder: str = Field(description="party that holds the policy")
    policy_number: str = ""
    cover: list[str] = Field(min_length=1, description="risk areas the policy covers")
    limit: Money
    no_fault: bool = False
    starts: dt.date | None = None
    expires: dt.date


class SafetyNet(Strict):
    commitments: list[Commitment] = []
    liability: list[LiabilityNote] = []
    insurance: list[InsurancePolicy] = []


class AllocationOverride(Strict):
    """A human decision that replaces the derived allocation for one risk area; the reason is kept."""

    risk_area: str
    accountable: str
    responsible: list[str] = Field(min_length=1)
    rationale: str = Field(min_length=20, description="why the derived allocation is replaced")
    decided_by: str = ""
    decided_on: dt.date | None = None


class Responsibility(Strict):
    overrides: list[AllocationOverride] = []
    risk_areas_not_applicable: list[str] = []


class Manifest(Strict):
    """A whole `assay.yaml`."""

    assay: int = Field(MANIFEST_FORMAT, description="manifest format version")
    system: System
    parties: list[Party] = Field(min_length=1)
    components: list[Component] = []
    control_points: list[ControlPointHolding] = []
    datasets: list[Dataset] = []
    targets: list[Target] = []
    suites: list[SuiteRef] = []
    redteam: list[RedTeamRef] = []
    policy_pack: PolicyPackRef | None = None
    provenance: Provenance | None = None
    safety_net: SafetyNet = SafetyNet()
    responsibility: Responsibility = Responsibility()

    @field_validator("assay")
    @classmethod
    def _known_format(cls, v: int) -> int:
        if v != MANIFEST_FORMAT:
            raise ValueError(f"this Assay reads manifest format {MANIFEST_FORMAT}, not {v}")
        return v

    def party(self, party_id: str) -> Party | None:
        return next((p for p in self.parties if p.id == party_id), None)

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.components if c.id == component_id), None)


def slugify(text: str) -> str:
    s = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-")
    return s[:63] or "system"
