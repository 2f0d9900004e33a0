"""The gateway's rule file: which checks run on the way in and out, and what each one does.

A rule names one check, the stage it runs at, and its action: `allow` (record only), `flag` (pass,
marked in the decision log), `redact` (replace what was found, then pass), `block` (answer with the
rule's message instead). Each rule carries its OWASP LLM and MITRE ATLAS ids, checked against the
catalog when the file is loaded, so a decision log line can be read against those frameworks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

RULES_FORMAT = 1
Stage = Literal["input", "output"]
Check = Literal["injection", "pii", "denylist", "canary", "system_prompt_leak", "toxic"]
Action = Literal["allow", "flag", "redact", "block"]
Severity = Literal["low", "medium", "high", "critical"]
REDACTABLE: frozenset[str] = frozenset({"pii", "denylist", "canary", "toxic"})


class GatewayRulesInvalid(Exception):
    """Every problem in a rule file, each with file:line:column."""

    def __init__(self, problems: list) -> None:  # type: ignore[type-arg]
        self.problems = problems
        super().__init__("\n".join(p.render() if hasattr(p, "render") else str(p) for p in problems))


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$")
    title: str = Field(min_length=1, max_length=200)
    stage: Stage
    check: Check
    action: Action
    message: str = Field("", max_length=2000, description="what a blocked caller reads")
    severity: Severity = "medium"
    severe: bool = Field(False, description="a firing opens an incident (or a finding until incidents exist)")
    threshold: float | None = Field(None, ge=0, le=1, description="injection score / leak overlap to fire")
    entities: list[str] = Field(default_factory=list, description="pii: the entity types (default: all)")
    terms: list[str] = Field(default_factory=list, max_length=5000, description="denylist / toxic terms")
    canaries: list[str] = Field(default_factory=list, description="canary: strings that must never leave")
    owasp_llm: list[str] = Field(default_factory=list)
    atlas: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits(self) -> Rule:
        if self.action == "redact" and self.check not in REDACTABLE:
            raise ValueError(f"check '{self.check}' finds no span to redact; use block, flag or allow")
        if self.check == "injection" and self.stage != "input":
            raise ValueError("the injection check reads requests: stage must be 'input'")
        if self.check == "system_prompt_leak" and self.stage != "output":
            raise ValueError("the system_prompt_leak check reads answers: stage must be 'output'")
        if self.check == "denylist" and not self.terms:
            raise ValueError("a denylist rule needs terms")
        if self.check == "canary" and not self.canaries:
            raise ValueError("a canary rule needs canaries")
        return self

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, v: list[str]) -> list[str]:
        from assay.gateway.pii import ENTITIES

        unknown = sorted(set(v) - set(ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity type(s) {', '.join(unknown)}; known: {', '.join(ENTITIES)}")
        return v


class GatewayRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway: int = Field(RULES_FORMAT, description="rule file format")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    description: str = ""
    block_message: str = Field(
        "This request was blocked by the deployment's safety gateway.", max_length=2000
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    stream_window_chars: int = Field(
        0,
        ge=0,
        le=8192,
        description="extra text held back while streaming; the unfinished word and any trailing run of "
        "digits are always held back, so a match across chunks is still seen whole",
    )
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> GatewayRules:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"rule id '{r.id}' is used twice")
            seen.add(r.id)
        return self


def _check_catalog_ids(rules: GatewayRules, file: str) -> list[str]:
    from assay.catalog import load_catalog

    catalog = load_catalog()
    problems = []
    atlas = catalog.framework("mitre-atlas")
    for i, r in enumerate(rules.rules):
        for oid in r.owasp_llm:
            edition = oid.split(":", 1)[1] if ":" in oid else ""
            fw_id = f"owasp-llm-{edition}"
            fw = catalog.framework(fw_id) if fw_id in catalog.framework_ids else None
            if fw is None or fw.entry(oid) is None:
                problems.append(f"{file}: rules[{i}].owasp_llm: {oid} is not an OWASP LLM id in the catalog")
        for aid in r.atlas:
            if atlas.entry(aid) is None:
                problems.append(f"{file}: rules[{i}].atlas: {aid} is not a MITRE ATLAS id in the catalog")
    return problems


def parse_rules(text: str, file: str) -> GatewayRules:
    from assay.manifest.loader import _problems_from_validation
    from assay.manifest.yamlpos import YamlSyntaxError, load_located

    try:
        located = load_located(text, file=file)
    except YamlSyntaxError as exc:
        raise GatewayRulesInvalid([exc.as_problem(file)]) from None
    try:
        rules = GatewayRules.model_validate(located.value)
    except ValidationError as exc:
        raise GatewayRulesInvalid(_problems_from_validation(exc, located, file, GatewayRules)) from None
    problems = _check_catalog_ids(rules, file)
    if problems:
        raise GatewayRulesInvalid(problems)
    return rules


def load_rules(path: Path | None = None) -> GatewayRules:
    """The rule file at `path`, or the built-in default rules."""
    from assay.yamlio import read_yaml_text

    if path is None:
        text = resources.files("assay.gateway").joinpath("data/default-rules.yaml").read_text("utf-8")
        return parse_rules(text, "default-rules.yaml")
    try:
        text = read_yaml_text(path)
    except OSError as exc:
        raise GatewayRulesInvalid([f"{path}: cannot read the rule file: {exc.strerror or exc}"]) from None
    return parse_rules(text, str(path))
