"""The catalog's data types: what a dimension, control, crosswalk edge and reference framework are.

The models only check the shape of one record; checks that need the whole catalog (does this dimension
exist, is that NIST id real) live in the loader, which knows which file each record came from.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

Strength = Literal["equivalent", "partial", "related"]
"""How closely a control meets a target: the same intent, part of it, or only on the same topic."""

STRENGTHS: tuple[str, ...] = ("equivalent", "partial", "related")

FRAMEWORKS: tuple[str, ...] = (
    "nist-ai-rmf",
    "nist-ai-600-1",
    "iso-42001",
    "eu-ai-act",
    "owasp-llm-2025",
    "owasp-llm-2026",
    "mitre-atlas",
)
"""The target frameworks shipped with Assay, in display order; user folders may add more."""

SLUG = r"^[a-z][a-z0-9-]*$"
CONTROL_ID = r"^[a-z][a-z0-9-]*:\d{4}:[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"
"""`<namespace>:<year>:<dimension>.<slug>[.<sub>]`, e.g. `mgf-genai:2024:trusted-development.disclosure.a`."""
EVIDENCE_KIND = r"^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)?$"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Record):
    """One of the framework's nine dimensions; controls hang off it."""

    id: str = Field(pattern=SLUG)
    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    pages: str | None = None

    @field_validator("pages", mode="before")
    @classmethod
    def _pages_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class EvidenceKind(_Record):
    """A kind of record an Assay activity writes; controls name the kinds that can satisfy them."""

    id: str = Field(pattern=EVIDENCE_KIND)
    description: str = Field(min_length=1)
    producer: str | None = None


class CrosswalkLink(_Record):
    """A typed edge from a control to one id in another framework."""

    framework: str = Field(pattern=SLUG)
    target: str = Field(min_length=1)
    strength: Strength
    note: str | None = None


class Control(_Record):
    """A practice the framework asks for, phrased so that evidence can show it is met."""

    id: str = Field(pattern=CONTROL_ID)
    dimension: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    statement: str = Field(min_length=1)
    pages: str | None = None
    evidence: tuple[str, ...] = Field(min_length=1)
    crosswalk: tuple[CrosswalkLink, ...] = ()

    @field_validator("pages", mode="before")
    @classmethod
    def _pages_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("crosswalk", mode="before")
    @classmethod
    def _expand_mapping(cls, value: Any) -> Any:
        """Accept the compact `{framework: {target: strength}}` form that keeps the YAML readable."""
        if not isinstance(value, dict):
            return value
        links: list[dict[str, Any]] = []
        for framework, targets in value.items():
            if not isinstance(targets, dict):
                raise ValueError(
                    f"crosswalk for {framework!r} must map target ids to a strength "
                    f"({'|'.join(STRENGTHS)}), got {type(targets).__name__}"
                )
            for target, strength in targets.items():
                link = dict(strength) if isinstance(strength, dict) else {"strength": strength}
                links.append({"framework": framework, "target": str(target), **link})
        return links

    @model_validator(mode="after")
    def _id_names_its_dimension(self) -> Control:
        named = self.id.split(":", 2)[2].split(".", 1)[0]
        if named != self.dimension:
            raise ValueError(
                f"id {self.id!r} names dimension {named!r} but the control is in {self.dimension!r}"
            )
        seen: set[tuple[str, str]] = set()
        for link in self.crosswalk:
            key = (link.framework, link.target)
            if key in seen:
                raise ValueError(f"crosswalk lists {link.framework} {link.target} twice")
            seen.add(key)
        return self

    def links(self, framework: str) -> list[CrosswalkLink]:
        """The control's edges into one framework."""
        return [link for link in self.crosswalk if link.framework == framework]


class FrameworkEntry(_Record):
    """One id of a target framework, with its title so crosswalk output is readable."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    group: str | None = None


class Framework(_Record):
    """A reference list of a target framework's ids that crosswalk edges must point into."""

    id: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    prefix: str = Field(min_length=1)
    source: str | None = None
    entries: tuple[FrameworkEntry, ...] = Field(min_length=1)

    _by_id: dict[str, FrameworkEntry] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {entry.id: entry for entry in self.entries}

    @model_validator(mode="after")
    def _unique_entries(self) -> Framework:
        ids = [entry.id for entry in self.entries]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"framework {self.id} lists these ids more than once: {', '.join(dupes)}")
        return self

    def entry(self, target: str) -> FrameworkEntry | None:
        return self._by_id.get(target)

    def qualify(self, target: str) -> str:
        """A globally unique, versioned id such as `nist-ai-rmf:1.0:GOVERN 1.1`."""
        return f"{self.prefix}:{target}"


class CatalogDocument(_Record):
    """What one YAML file may hold; built-in and user files share this format."""

    dimensions: tuple[Dimension, ...] = ()
    evidence_kinds: tuple[EvidenceKind, ...] = ()
    frameworks: tuple[Framework, ...] = ()
    controls: tuple[Control, ...] = ()


class Catalog(_Record):
    """The merged, cross-checked catalog. Build it with `load_catalog()`, not by hand."""

    dimensions: tuple[Dimension, ...]
    evidence_kinds: tuple[EvidenceKind, ...]
    frameworks: tuple[Framework, ...]
    controls: tuple[Control, ...]
    sources: dict[str, str] = Field(default_factory=dict, description="control id -> file it came from")

    _controls: dict[str, Control] = PrivateAttr(default_factory=dict)
    _dimensions: dict[str, Dimension] = PrivateAttr(default_factory=dict)
    _frameworks: dict[str, Framework] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._controls = {c.id: c for c in self.controls}
        self._dimensions = {d.id: d for d in self.dimensions}
        self._frameworks = {f.id: f for f in self.frameworks}

    def get(self, control_id: str) -> Control | None:
        """The control with this id, or None."""
        return self._controls.get(control_id)

    def suggest(self, control_id: str, limit: int = 3) -> list[str]:
        """Ids close to a mistyped one, best first, so a typo gets a useful answer."""
        ids = list(self._controls)
        found = difflib.get_close_matches(control_id, ids, n=limit, cutoff=0.6)
        if not found:
            short = {i.split(":", 2)[2]: i for i in ids}
            found = [
                short[s] for s in difflib.get_close_matches(control_id, list(short), n=limit, cutoff=0.6)
            ]
        return found

    def dimension(self, dimension_id: str) -> Dimension | None:
        return self._dimensions.get(dimension_id)

    def controls_for_dimension(self, dimension_id: str) -> list[Control]:
        """Controls of one dimension in catalog order; an unknown dimension is an error, not an empty list."""
        if dimension_id not in self._dimensions:
            raise ValueError(
                f"unknown dimension {dimension_id!r}; choose one of: {', '.join(self._dimensions)}"
            )
        return [c for c in self.controls if c.dimension == dimension_id]

    def framework(self, framework_id: str) -> Framework:
        """A target framework by name; an unknown name raises ValueError listing the valid ones."""
        try:
            return self._frameworks[framework_id]
        except KeyError:
            raise ValueError(
                f"unknown framework {framework_id!r}; choose one of: {', '.join(self.framework_ids)}"
            ) from None

    @property
    def framework_ids(self) -> list[str]:
        return list(self._frameworks)

    @property
    def ids(self) -> list[str]:
        return list(self._controls)
