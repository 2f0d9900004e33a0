"""The `incidents:` section of a policy pack: what makes an incident severe, by when it must be reported,
and to whom. The materiality threshold is the authority's to set, so it is data, never code.

A pack without the section gets the EU AI Act Art. 73 set, and every incident records that it did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.manifest.problems import Problem

DEFAULT_POLICY = "eu-ai-act-art73"
BUILTIN = ("eu-ai-act-art73", "illustrative")
DEFAULT_REMINDER_HOURS = (48, 12)
Severity = Literal["low", "medium", "high", "critical"]
Kind = Literal["incident", "vulnerability"]
_ID = r"^[a-z0-9][a-z0-9._-]{0,79}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HarmType(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    serious: bool = False
    eu_art_3_49: str | None = None


@cache
def harm_vocabulary() -> dict[str, HarmType]:
    """The fixed harm types (package data), by id."""
    from assay.yamlio import safe_load

    text = resources.files("assay.incidents").joinpath("data/harm_types.yaml").read_text("utf-8")
    data = safe_load(text, file="assay/incidents/data/harm_types.yaml")
    return {h["id"]: HarmType.model_validate(h) for h in data["harm_types"]}


class RuleMatch(_Strict):
    """What an incident must show for the rule to apply. Lists match when any entry is present; every
    condition given must hold; an empty match applies to every incident."""

    harm_types: list[str] = Field(default_factory=list)
    affected_groups: list[str] = Field(default_factory=list)
    severity: list[Severity] = Field(default_factory=list)
    kind: list[Kind] = Field(default_factory=list)
    critical_infrastructure: bool | None = None
    death: bool | None = None
    widespread: bool | None = None

    @model_validator(mode="after")
    def _known_harms(self) -> RuleMatch:
        vocab = harm_vocabulary()
        unknown = [h for h in self.harm_types if h not in vocab]
        if unknown:
            raise ValueError(f"unknown harm type(s) {', '.join(unknown)}; known: {', '.join(vocab)}")
        return self


class SeverityRule(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    cite: str = Field("", max_length=500, description="the authority's text this rule carries out")
    match: RuleMatch = Field(default_factory=RuleMatch)
    severe: bool = True
    deadline_days: int | None = Field(None, ge=0, le=3650, description="days from awareness to report")
    initial_report_allowed: bool = False


class Contact(_Strict):
    """Where reports go: an authority or a sector body, by e-mail and/or signed webhook."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["authority", "sector"]
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    webhook: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    webhook_secret_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
        description="environment variable holding the webhook's HMAC secret "
        "(default ASSAY_WEBHOOK_SECRET_<ID>, the id upper-cased with - as _)",
    )

    @property
    def secret_env(self) -> str:
        return self.webhook_secret_env or "ASSAY_WEBHOOK_SECRET_" + self.id.upper().replace("-", "_")

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not self.email and not self.webhook:
            raise ValueError("a contact needs an email or a webhook")
        return self


class IncidentsPolicy(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=200)
    version: str = Field("1", min_length=1, max_length=40)
    source: str = Field("", max_length=500)
    illustrative: bool = False
    materiality: str = Field(min_length=1, max_length=4000, description="the materiality statement")
    rules: list[SeverityRule] = Field(min_length=1)
    reminder_days: int = Field(3, ge=0, le=365, description="list an incident as due this many days ahead")
    reminder_hours: list[int] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_HOURS),
        max_length=10,
        description="send the accountable parties a reminder this many hours before the deadline runs out "
        "(each once per incident)",
    )
    disclosure_days: int = Field(90, ge=1, le=3650, description="coordinated-disclosure window")
    reward_tiers: list[str] = Field(default_factory=lambda: ["none", "low", "medium", "high", "critical"])
    contacts: list[Contact] = Field(default_factory=list)

    @field_validator("reminder_hours")
    @classmethod
    def _lead_times(cls, values: list[int]) -> list[int]:
        bad = [v for v in values if not 1 <= v <= 8760]
        if bad:
            raise ValueError(f"lead times are hours from 1 to 8760 (a year); got {bad}")
        if len(set(values)) != len(values):
            raise ValueError(f"lead times appear more than once: {values}")
        return sorted(values, reverse=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> IncidentsPolicy:
        for what, ids in (("rule", [r.id for r in self.rules]), ("contact", [c.id for c in self.contacts])):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{what} id(s) {', '.join(dup)} appear more than once")
        return self


class PolicyChoice(BaseModel):
    """The policy an incident was judged under, and whether it applied only because none was given."""

    policy: IncidentsPolicy
    by_default: bool = False


class IncidentsPolicyInvalid(ValueError):
    """Every problem of a policy section, each naming the file, line and field where known."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.render() for p in problems))


class SeverityFacts(BaseModel):
    """What the rules look at."""

    kind: Kind = "incident"
    harm_types: list[str] = Field(default_factory=list)
    affected_groups: list[str] = Field(default_factory=list)
    severity: Severity | None = None
    critical_infrastructure: bool = False
    death: bool = False
    widespread: bool = False


class SeverityVerdict(BaseModel):
    severe: bool
    rule_id: str | None = None
    rule_title: str = ""
    cite: str = ""
    deadline_days: int | None = None
    deadline: dt.date | None = None
    initial_report_allowed: bool = False


def _matches(m: RuleMatch, f: SeverityFacts) -> bool:
    if m.harm_types and not set(m.harm_types) & set(f.harm_types):
        return False
    if m.affected_groups and not {g.casefold() for g in m.affected_groups} & {
        g.casefold() for g in f.affected_groups
    }:
        return False
    if m.severity and f.severity not in m.severity:
        return False
    if m.kind and f.kind not in m.kind:
        return False
    for flag in ("critical_infrastructure", "death", "widespread"):
        want = getattr(m, flag)
        if want is not None and getattr(f, flag) != want:
            return False
    return True


def evaluate(policy: IncidentsPolicy, facts: SeverityFacts, became_aware: dt.date) -> SeverityVerdict:
    """Every rule that matches is considered; a severe one beats a non-severe one, and among those the
    shortest deadline wins (Art. 73: a death that also disrupts critical infrastructure is due in 2 days,
    not 10). Ties keep the rule written first."""
    matched = [r for r in policy.rules if _matches(r.match, facts)]
    if not matched:
        return SeverityVerdict(severe=False)

    def rank(item: tuple[int, SeverityRule]) -> tuple[int, int, int]:
        i, r = item
        return (0 if r.severe else 1, r.deadline_days if r.deadline_days is not None else 10**6, i)

    _, best = min(enumerate(matched), key=rank)
    deadline = (
        became_aware + dt.timedelta(days=best.deadline_days) if best.deadline_days is not None else None
    )
    return SeverityVerdict(
        severe=best.severe,
        rule_id=best.id,
        rule_title=best.title,
        cite=best.cite,
        deadline_days=best.deadline_days,
        deadline=deadline,
        initial_report_allowed=best.initial_report_allowed,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(section)"


def _validate(data: Any, file: str, prefix: tuple[str | int, ...], locate: Any = None) -> IncidentsPolicy:
    if not isinstance(data, Mapping):
        where = _field_path(prefix) if prefix else "(document)"
        raise IncidentsPolicyInvalid(
            [Problem(file=file, field=where, message=f"is {type(data).__name__}", expected="a mapping")]
        )
    try:
        return IncidentsPolicy.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = (*prefix, *err["loc"])
            pos = locate(loc) if locate else None
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(
                Problem(
                    file=file,
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                    field=_field_path(loc),
                    message=msg,
                )
            )
        raise IncidentsPolicyInvalid(problems) from None


@cache
def builtin_policy(name: str = DEFAULT_POLICY) -> IncidentsPolicy:
    """A policy shipped with Assay (`eu-ai-act-art73`, `illustrative`)."""
    if name not in BUILTIN:
        raise IncidentsPolicyInvalid(
            [
                Problem(
                    file="(built-in)",
                    field="policy",
                    message=f"no built-in policy '{name}'",
                    expected=", ".join(BUILTIN),
                )
            ]
        )
    text = resources.files("assay.incidents").joinpath(f"rules/{name}.yaml").read_text("utf-8")
    return load_policy_text(text, file=f"assay/incidents/rules/{name}.yaml").policy


def incidents_policy(pack_or_mapping: Any = None, *, file: str = "(policy pack)") -> IncidentsPolicy:
    """The policy that applies: a `PolicyPack`'s `incidents:` section, a bare mapping, or — when neither
    gives one — the EU Art. 73 set. `policy_choice` also says whether the default applied."""
    return policy_choice(pack_or_mapping, file=file).policy


def policy_choice(pack_or_mapping: Any = None, *, file: str = "(policy pack)") -> PolicyChoice:
    """As `incidents_policy`, marked `by_default` when no section was given, so every incident can say so.
    An existing `PolicyChoice` is returned as it is."""
    if isinstance(pack_or_mapping, PolicyChoice):
        return pack_or_mapping
    if pack_or_mapping is None:
        return PolicyChoice(policy=builtin_policy(), by_default=True)
    if isinstance(pack_or_mapping, IncidentsPolicy):
        return PolicyChoice(policy=pack_or_mapping)
    section = getattr(pack_or_mapping, "incidents", pack_or_mapping)
    if (
        isinstance(section, Mapping)
        and "incidents" in section
        and ("pack" in section or "publisher" in section)
    ):
        section = section["incidents"]  # a whole pack as a mapping
    prefix: tuple[str | int, ...] = ("incidents",) if section is not pack_or_mapping else ()
    if section is None:
        return PolicyChoice(policy=builtin_policy(), by_default=True)
    return PolicyChoice(policy=_validate(section, file, prefix))


def load_policy_text(text: str, file: str = "<policy>") -> PolicyChoice:
    """A YAML file holding either a whole policy pack (its `incidents:` section is used) or the bare
    section. Problems name the file, line and column."""
    from assay.manifest.yamlpos import YamlSyntaxError, load_located

    try:
        located = load_located(text, file=file)
    except YamlSyntaxError as exc:
        raise IncidentsPolicyInvalid([exc.as_problem(file)]) from None
    data = located.value
    if isinstance(data, Mapping) and "incidents" in data and ("pack" in data or "thresholds" in data):
        if data["incidents"] is None:
            return PolicyChoice(policy=builtin_policy(), by_default=True)
        return PolicyChoice(policy=_validate(data["incidents"], file, ("incidents",), located.locate))
    return PolicyChoice(policy=_validate(data, file, (), located.locate))


def load_policy_file(path: str | Path) -> PolicyChoice:
    """`path` may also name a built-in policy (`eu-ai-act-art73`, `illustrative`)."""
    from assay.yamlio import read_yaml_text

    if str(path) in BUILTIN:
        return PolicyChoice(policy=builtin_policy(str(path)))
    p = Path(path)
    try:
        text = read_yaml_text(p)
    except (OSError, ValueError) as exc:
        raise IncidentsPolicyInvalid(
            [Problem(file=str(p), field="(file)", message=str(exc), expected="a readable YAML file")]
        ) from None
    return load_policy_text(text, file=str(p))
