"""The allow-list, the deny rules and the catalog ids of each finding kind, read from package data.

The rules are data so a reviewer can read (and a user can extend) them without reading code; every
catalog id is checked against the loaded catalog, so a typo fails at start-up rather than in a report.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from assay.security.artifacts.models import Finding, Severity
from assay.yamlio import safe_load

OWASP = "owasp-llm-2025"
ATLAS = "mitre-atlas"


class DenyRule(BaseModel):
    model_config = {"extra": "forbid"}

    module: str = Field(min_length=1)
    names: list[str] | Literal["*"]
    severity: Severity
    reason: str = Field(min_length=1)

    def matches(self, module: str, name: str) -> bool:
        if self.names == "*":
            return module == self.module or module.startswith(self.module + ".")
        return module == self.module and name in self.names


class FindingKind(BaseModel):
    model_config = {"extra": "forbid", "populate_by_name": True}

    title: str
    owasp: list[str] = Field(alias=OWASP)
    atlas: list[str] = Field(alias=ATLAS)


class Rules(BaseModel):
    model_config = {"extra": "forbid"}

    allow: dict[str, list[str]]
    deny: list[DenyRule]
    default_severity: Severity
    findings: dict[str, FindingKind]

    def is_allowed(self, module: str, name: str) -> bool:
        names = self.allow.get(module)
        return names is not None and ("*" in names or name in names)

    def judge_import(self, module: str, name: str) -> tuple[str, Severity, str] | None:
        """None for an allowed import, else (finding kind, severity, reason)."""
        if self.is_allowed(module, name):
            return None
        for rule in self.deny:
            if rule.matches(module, name):
                return "dangerous-import", rule.severity, rule.reason
        return "unknown-import", self.default_severity, "outside the allow-list"

    def finding(self, kind: str, severity: Severity, message: str, **where: Any) -> Finding:
        mapped = self.findings[kind]
        return Finding(
            kind=kind,
            severity=severity,
            message=message,
            owasp=list(mapped.owasp),
            atlas=list(mapped.atlas),
            **where,
        )


class RulesInvalid(ValueError):
    pass


def _read(name: str) -> Any:
    text = resources.files("assay.security.artifacts").joinpath("data").joinpath(name).read_text("utf-8")
    return safe_load(text, file=f"assay.security.artifacts:data/{name}")


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    """The built-in rules, with every catalog id checked against the catalog."""
    from assay.catalog import load_catalog

    where = "assay.security.artifacts:data/rules.yaml"
    try:
        rules = Rules.model_validate(_read("rules.yaml"))
    except ValidationError as exc:
        raise RulesInvalid(f"{where}: {exc}") from exc
    catalog = {f.id: f for f in load_catalog().frameworks}
    problems = []
    for kind, mapped in rules.findings.items():
        for framework, ids in ((OWASP, mapped.owasp), (ATLAS, mapped.atlas)):
            for target in ids:
                if framework not in catalog or catalog[framework].entry(target) is None:
                    problems.append(f"findings.{kind}: {target!r} is not in the {framework} reference list")
    if problems:
        raise RulesInvalid(f"{where}: " + "; ".join(problems))
    return rules


class GgmlType(BaseModel):
    name: str
    block: tuple[int, int]


class Formats(BaseModel):
    safetensors_dtypes: dict[str, int]
    ggml_types: dict[int, GgmlType]


@lru_cache(maxsize=1)
def load_formats() -> Formats:
    return Formats.model_validate(_read("formats.yaml"))
