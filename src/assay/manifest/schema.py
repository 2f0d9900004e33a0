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

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic import Strict as StrictInput

MANIFEST_FORMAT = 1
SLUG = r"^[a-z0-9][a-z0-9._-]{0,62}$"
Slug = Annotated[str, Field(pattern=SLUG, description="lower-case id: letters, digits, '.', '_', '-'")]

# Length limits: a manifest is a human-written document (at most 2 MiB as a file), so no single field
# needs to be large; the limits stop one API call from growing a stored system without bound.
SHORT_TEXT = 200  # names, versions, references, currencies
LONG_TEXT = 4000  # descriptions, rationales, notes
MAX_ITEMS = 500  # entries in one list
# Characters that take up no space on the page: controls, whitespace, zero-width and format characters,
# variation selectors. One class, used both to count and (as a pattern) in the JSON schema, so the
# schema promises exactly what the validator checks.
INVISIBLE = (
    "\\s\\x00-\\x1f\\x7f-\\xa0\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f"
    "\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufff8"
)
_VISIBLE_CHAR = re.compile(f"[^{INVISIBLE}]")


def visible_length(text: str) -> int:
    """How many characters of `text` a reader can see; spaces, NULs and zero-width marks do not count."""
    return len(_VISIBLE_CHAR.findall(text))


def _at_least_visible(n: int) -> Any:
    def check(text: str) -> str:
        if visible_length(text) < n:
            raise ValueError(
                f"needs at least {n} visible character{'s' if n != 1 else ''}; "
                "spaces and invisible characters do not count"
            )
        return text

    return check


def VisibleText(min_visible: int = 1, max_length: int = SHORT_TEXT) -> Any:  # noqa: N802 - a type
    """Text with at least `min_visible` visible characters and at most `max_length` in all."""
    return Annotated[
        str,
        Field(
            min_length=min_visible,
            max_length=max_length,
            # in the schema only: the validator below says what is wrong in words, not as a pattern
            json_schema_extra={"pattern": f"^(?:[{INVISIBLE}]*[^{INVISIBLE}]){{{min_visible}}}"},
        ),
        AfterValidator(_at_least_visible(min_visible)),
    ]


Name = VisibleText(1, SHORT_TEXT)
ShortText = Annotated[str, Field(max_length=SHORT_TEXT)]
LongText = Annotated[str, Field(max_length=LONG_TEXT)]
Ref = Annotated[str, Field(max_length=SHORT_TEXT)]
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: Any) -> Any:
    """Dates are written YYYY-MM-DD; pydantic would otherwise read numbers (even '2.1e-232') as dates."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]


def _whole_number(value: Any) -> Any:
    """An integer as JSON Schema means it: 3 or 3.0, never `true` or the text "3"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected a whole number")
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_whole_number)]
Count = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]  # `minimum` stays in the schema
# Numbers are numbers: without strictness pydantic reads `false` as 0 and "3" as 3, which the schema refuses.
Number = Annotated[float, StrictInput()]


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


def _risk_area_enum(schema: dict[str, Any]) -> None:
    """The schema lists the risk areas of the bundled catalog (data, read when the schema is built)."""
    from assay.registry.risk_areas import risk_area_catalog

    schema["enum"] = risk_area_catalog().ids


RiskAreaId = Annotated[
    str, Field(max_length=SHORT_TEXT, json_schema_extra=_risk_area_enum, description="a risk area id")
]


def Items(item: Any, *, min_length: int = 0, max_length: int = MAX_ITEMS) -> Any:  # noqa: N802 - a type
    """A bounded list, so that no list in a stored manifest grows without limit."""
    return Annotated[list[item], Field(min_length=min_length, max_length=max_length)]


class System(Strict):
    id: Slug
    name: Name
    version: Name
    description: LongText = ""
    intended_use: VisibleText(1, LONG_TEXT) = Field(  # type: ignore[valid-type]
        description="what the system is for, in a sentence or two"
    )
    out_of_scope_uses: Items(LongText) = []  # type: ignore[valid-type]
    sector: Name = Field(description="e.g. finance, healthcare, public-sector, retail")
    model_type: ModelType
    users: LongText = Field("", description="who uses it: staff, customers, the public")
    languages: Items(ShortText) = []  # type: ignore[valid-type]
    commercial: StrictBool | None = Field(
        None,
        description="whether the system is used commercially; a dataset scan flags non-commercial "
        "licences against true (and asks for it when unset)",
    )


class PartyNotify(Strict):
    """Where Assay sends a party what the registry makes it answer for (incidents for the parties
    accountable or responsible for `incident_response`): an e-mail address and/or a signed webhook.
    With neither, the party's `contact` is used when it is an e-mail address."""

    email: str | None = Field(None, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", max_length=320)
    webhook: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    webhook_secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
        description="environment variable holding the webhook's HMAC secret "
        "(default ASSAY_WEBHOOK_SECRET_<PARTY ID>, upper-cased, '-' and '.' as '_')",
    )


class Party(Strict):
    id: Slug
    name: Name
    roles: Items(PartyRole, min_length=1, max_length=len(PartyRole))  # type: ignore[valid-type]
    jurisdiction: ShortText = ""
    contact: ShortText = ""
    notify: PartyNotify | None = Field(
        None,
        description="where incident notifications reach this party (else `contact`, when it is an e-mail)",
    )


class Artifact(Strict):
    """Where a component's bytes are, so their hash can be recorded as evidence."""

    python_package: ShortText | None = Field(
        None, description="an installed distribution that ships the file"
    )
    path: VisibleText(1, LONG_TEXT) = Field(  # type: ignore[valid-type]
        description="path inside the package, or relative to the manifest"
    )
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    allow_outside: StrictBool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class Component(Strict):
    id: Slug
    name: Name
    kind: ComponentKind
    provider: Ref = Field(description="id of the party that supplies the component")
    version: ShortText = ""
    licence: ShortText = ""
    based_on: Ref | None = Field(None, description="id of the component this one is derived from")
    artifact: Artifact | None = None
    description: LongText = ""


class ControlPointHolding(Strict):
    """A party's claim to hold a control point on a component."""

    point: ControlPoint
    component: Ref
    holder: Ref
    level: ControlLevel = ControlLevel.full
    note: LongText = ""


class Dataset(Strict):
    id: Slug
    name: Name
    provider: Ref
    purpose: str = Field(pattern=r"^(training|fine-tuning|retrieval|evaluation)$")
    licence: ShortText = ""
    contains_personal_data: StrictBool = False
    path: LongText | None = Field(
        None, description="a data file or folder that `assay data scan` and `assay assess` read"
    )
    used_by: Items(Ref) = Field(  # type: ignore[valid-type]
        [], description="ids of the components built from or fed by this dataset (its lineage)"
    )
    description: LongText = ""
    allow_outside: StrictBool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class TargetKind(StrEnum):
    bundled = "bundled"
    openai = "openai"
    http = "http"
    python = "python"


# What each kind of target cannot do without; the validator and the JSON schema are both built from it.
TARGET_KIND_NEEDS: dict[TargetKind, tuple[str, str]] = {
    TargetKind.openai: ("base_url", ""),
    TargetKind.http: ("base_url", ""),
    TargetKind.python: ("callable", " (module:function)"),
}


def _target_kind_rules(schema: dict[str, Any]) -> None:
    """`if kind is X then field Y is required` for each kind, and `threads` (top level or in `params`)
    only on a bundled target, so the schema refuses what the model does."""
    schema["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
            "then": {"required": [field], "properties": {field: {"type": "string", "minLength": 1}}},
        }
        for kind, (field, _) in TARGET_KIND_NEEDS.items()
    ] + [
        {
            "if": {"properties": {"kind": {"const": TargetKind.bundled.value}}, "required": ["kind"]},
            "then": {
                "properties": {
                    "params": {"properties": {"threads": {"type": "integer", "minimum": 1, "maximum": 1024}}}
                }
            },
            "else": {"properties": {"threads": {"type": "null"}}},
        }
    ]


class Target(Strict):
    model_config = ConfigDict(json_schema_extra=_target_kind_rules)

    id: Slug
    kind: TargetKind
    component: Ref | None = Field(None, description="the component this target exercises")
    model: ShortText | None = None
    base_url: LongText | None = Field(None, description="kinds openai and http: required")
    api_key_env: ShortText | None = Field(
        None, description="name of the environment variable holding the key"
    )
    callable: ShortText | None = Field(None, description="module:function, for kind python (required)")
    system_prompt: Annotated[str, Field(max_length=10 * LONG_TEXT)] | None = None
    params: dict[str, Any] = {}
    threads: Annotated[int, Field(ge=1, le=1024), BeforeValidator(_whole_number)] | None = Field(
        None,
        description="kind bundled: torch threads for the engine (ASSAY_THREADS overrides it; "
        "default: the CPUs free when the model loads)",
    )
    max_concurrency: Integer = Field(8, ge=1, le=1024)
    rate_limit_per_s: Number | None = Field(None, gt=0)
    timeout_s: Number = Field(60.0, gt=0)
    retries: Integer = Field(3, ge=0, le=20)
    request_template: dict[str, Any] | list[Any] | str | None = Field(
        None,
        description="kind http: the JSON body to send, with {{prompt}}, {{messages}}, {{system}}, "
        "{{model}}, {{max_tokens}}, {{temperature}} placeholders (a string is rendered with Jinja2)",
    )
    response_path: LongText | None = Field(
        None, description="kind http: JSONPath to the answer text in the response, e.g. $.output.text"
    )
    headers: dict[str, str] = Field(
        {}, description="kind http/openai: extra request headers; values may use ${ENV_VAR} references"
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Target:
        need = TARGET_KIND_NEEDS.get(self.kind)
        if need is not None and not getattr(self, need[0]):
            raise ValueError(f"a target of kind '{self.kind.value}' needs '{need[0]}'{need[1]}")
        if self.threads is not None and self.kind is not TargetKind.bundled:
            raise ValueError(f"'threads' applies to targets of kind 'bundled', not '{self.kind.value}'")
        if self.kind is TargetKind.bundled and "threads" in self.params:
            legacy = self.params["threads"]
            try:
                legacy = _whole_number(legacy)
            except ValueError:
                legacy = None
            if legacy is None or not 1 <= legacy <= 1024:
                raise ValueError(
                    f"params.threads must be a whole number from 1 to 1024, got {self.params['threads']!r}"
                )
            self.params["threads"] = legacy
        return self


class SuiteRef(Strict):
    suite: VisibleText(1, LONG_TEXT) = Field(  # type: ignore[valid-type]
        description="name of a built-in suite or a path to a suite file"
    )
    targets: Items(Ref) = []  # type: ignore[valid-type]
    limit: Count | None = None
    sample: Count | None = None
    seed: Integer = 0
    allow_outside: StrictBool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class RedTeamRef(Strict):
    """A red-team run for `assay assess`: seed prompts × attacks against targets."""

    seeds: LongText = Field("redteam-starter", description="a seed suite (built-in name or file)")
    attacks: Items(ShortText) = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["all"], description="attack ids or families, or 'all'"
    )
    targets: Items(Ref) = []  # type: ignore[valid-type]
    attacker: Ref | None = Field(None, description="target that rewrites prompts for the PAIR-style loop")
    judge: Ref | None = Field(None, description="target that grades answers as harmful compliance")
    budget: Integer = Field(5, ge=1, le=100, description="target queries per adaptive sample")
    max_queries: Count | None = Field(None, description="cap on the whole run's target queries")
    limit: Count | None = None
    sample: Count | None = None
    seed: Integer = 0
    allow_outside: StrictBool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class Monitor(Strict):
    """What `assay monitor` runs against the deployed targets: a small canary suite, compared each time
    with the newest assessment's run of the same suite; a drop beyond its interval opens an incident."""

    suite: VisibleText(1, LONG_TEXT) = Field(  # type: ignore[valid-type]
        description="a built-in suite name or a suite file beside the manifest"
    )
    targets: Items(Ref) = []  # type: ignore[valid-type]
    sample: Count | None = Field(None, description="a random N of its samples each time (seeded by `seed`)")
    seed: Integer = 0
    every_s: Integer = Field(3600, ge=10, le=7 * 86400, description="seconds between runs with --every")


class PolicyPackRef(Strict):
    id: Name
    path: LongText | None = None
    allow_outside: StrictBool = Field(
        False,
        description="let this path leave the manifest's folder (off: '../' and absolute paths are refused)",
    )


class TextWatermark(Strict):
    enabled: StrictBool = True
    gamma: Number = Field(0.25, gt=0, lt=1)
    delta: Number = Field(2.0, gt=0)
    context_width: Integer = Field(1, ge=1, le=8)
    key_id: ShortText | None = None


class Provenance(Strict):
    text_watermark: TextWatermark | None = None
    image_watermark: StrictBool = False
    c2pa: StrictBool = False
    generator_name: ShortText | None = None


class Money(Strict):
    amount: Number = Field(ge=0)
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
    by: Ref = Field(alias="from", description="party giving the commitment")
    to: Ref
    scope: VisibleText(1, LONG_TEXT)  # type: ignore[valid-type]
    risk_areas: Items(RiskAreaId, min_length=1)  # type: ignore[valid-type]
    limit: Money | None = None
    exclusions: Items(LongText) = []  # type: ignore[valid-type]
    starts: IsoDate | None = None
    expires: IsoDate | None = None


class LiabilityNote(Strict):
    party: Ref
    risk_areas: Items(RiskAreaId, min_length=1)  # type: ignore[valid-type]
    note: VisibleText(1, LONG_TEXT)  # type: ignore[valid-type]


class InsurancePolicy(Strict):
    id: Slug
    insurer: Name
    holder: Ref = Field(description="party that holds the policy")
    policy_number: ShortText = ""
    cover: Items(RiskAreaId, min_length=1) = Field(  # type: ignore[valid-type]
        description="risk areas the policy covers"
    )
    limit: Money
    no_fault: StrictBool = False
    starts: IsoDate | None = None
    expires: IsoDate


class SafetyNet(Strict):
    commitments: Items(Commitment) = []  # type: ignore[valid-type]
    liability: Items(LiabilityNote) = []  # type: ignore[valid-type]
    insurance: Items(InsurancePolicy) = []  # type: ignore[valid-type]


class TrainingDeclaration(Strict):
    """What the model developer declares about training and its environmental impact; Assay never
    measures it. Mirrors `assay.energy.models.DeclaredTraining` with the manifest's strict numbers."""

    compute: ShortText = Field("", description="e.g. '2.0e21 FLOP' or '64 H100 × 20 days'")
    hardware: ShortText = Field("", description="accelerators and how many")
    energy_kwh: Number | None = Field(None, ge=0, description="energy used by training, in kWh")
    co2e_kg: Number | None = Field(None, ge=0, description="emissions of training, in kg CO₂e")
    location: ShortText = Field("", description="where training ran (country or cloud region)")
    source: LongText = Field("", description="where the developer published these figures (URL or document)")


class UserDataPractices(Strict):
    """How the system protects the data of the people who use it (label area g)."""

    practices: Items(LongText) = Field(  # type: ignore[valid-type]
        [], description="e.g. 'chat transcripts are not used to train models'"
    )
    retention: LongText = Field("", description="how long user data is kept, and why")
    contact: ShortText = Field("", description="data protection officer or contact")


class ReportingContacts(Strict):
    """Where the public reports incidents and vulnerabilities."""

    incident_contact: ShortText = Field("", description="e-mail or page for reporting harm or incidents")
    vulnerability_contact: ShortText = Field("", description="e-mail or page for security reports")
    report_url: LongText = Field("", description="a public reporting form or security.txt")


class DisclosureDecl(Strict):
    """What the food label discloses that the rest of the manifest does not say (every field optional;
    a required area left empty shows 'not disclosed' on the label and lowers its completeness)."""

    training: TrainingDeclaration | None = None
    training_data_summary: LongText = Field(
        "", description="the data the model was trained on, as its developer describes it"
    )
    known_limitations: Items(LongText) = Field(  # type: ignore[valid-type]
        [], description="what the system cannot do well or must not be relied on for"
    )
    mitigations: Items(LongText) = Field(  # type: ignore[valid-type]
        [], description="safety measures in place: filters, human hand-over, monitoring"
    )
    user_data: UserDataPractices | None = None
    reporting: ReportingContacts | None = None


RATIONALE_MIN_VISIBLE = 20


class AllocationDecision(Strict):
    """What a person decides when they replace the derived allocation for one risk area, and why."""

    risk_area: RiskAreaId
    accountable: Ref
    responsible: Items(Ref, min_length=1)  # type: ignore[valid-type]
    rationale: VisibleText(RATIONALE_MIN_VISIBLE, LONG_TEXT) = Field(  # type: ignore[valid-type]
        description=f"why the derived allocation is replaced ({RATIONALE_MIN_VISIBLE}+ visible characters)"
    )


class AllocationOverride(AllocationDecision):
    """A decision with who made it and when. In a manifest the author writes both; over the API the
    server sets them from the token and its own clock (see `assay.registry.overrides`)."""

    decided_by: ShortText = ""
    decided_on: IsoDate | None = None


class Responsibility(Strict):
    overrides: Items(AllocationOverride) = []  # type: ignore[valid-type]
    risk_areas_not_applicable: Items(RiskAreaId) = []  # type: ignore[valid-type]


class Manifest(Strict):
    """A whole `assay.yaml`."""

    assay: Integer = Field(
        MANIFEST_FORMAT, description="manifest format version", json_schema_extra={"enum": [MANIFEST_FORMAT]}
    )
    system: System
    parties: Items(Party, min_length=1)  # type: ignore[valid-type]
    components: Items(Component) = []  # type: ignore[valid-type]
    control_points: Items(ControlPointHolding, max_length=4 * MAX_ITEMS) = []  # type: ignore[valid-type]
    datasets: Items(Dataset) = []  # type: ignore[valid-type]
    targets: Items(Target) = []  # type: ignore[valid-type]
    suites: Items(SuiteRef) = []  # type: ignore[valid-type]
    redteam: Items(RedTeamRef) = []  # type: ignore[valid-type]
    policy_pack: PolicyPackRef | None = None
    monitor: Monitor | None = None
    provenance: Provenance | None = None
    safety_net: SafetyNet = SafetyNet()
    responsibility: Responsibility = Responsibility()
    disclosure: DisclosureDecl | None = Field(
        None, description="what the food label discloses beyond the rest of the manifest (assay label build)"
    )

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
