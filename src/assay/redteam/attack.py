"""What an attack is: a validated data record (`AttackSpec`) plus a small transform function.

The record says what the attack is for a reader (name, family, MITRE ATLAS and OWASP LLM ids) and holds
its wording (`templates`) and knobs (`params`); the function, registered by name with
`@register_transform`, turns one seed prompt into the adversarial input. Keeping the wording in data
lets an auditor read and extend it without reading code; keeping the logic in a function keeps
encodings and conversation building exact and testable.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.evals.models import Message, Sample

ATLAS_ID = r"^AML\.T\d{4}(\.\d{3})?$"
OWASP_ID = r"^LLM\d{2}:\d{4}$"
ATTACK_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class AttackMode(StrEnum):
    """How the attacked input reaches the target.

    single: one prompt. conversation: a prepared chat (fake earlier turns) sent at once.
    multi_turn: user turns sent one at a time, each with the answers so far (needs a chat target).
    adaptive: an attacker target rewrites the prompt from the judge's feedback, within a query budget.
    """

    single = "single"
    conversation = "conversation"
    multi_turn = "multi_turn"
    adaptive = "adaptive"


INTERACTIVE_MODES = frozenset({AttackMode.multi_turn, AttackMode.adaptive})


class AttackSpec(BaseModel):
    """One attack as data: the YAML record, validated."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ATTACK_ID, description="used in sample ids as `<seed>::<attack>`")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    family: str = Field(min_length=1, description="role-play, encoding, multi-turn …")
    mode: AttackMode = AttackMode.single
    transform: str = Field(min_length=1, description="name of a registered transform function")
    atlas: list[str] = Field(min_length=1, description="MITRE ATLAS technique ids, e.g. AML.T0054")
    owasp_llm: list[str] = Field(min_length=1, description="OWASP LLM ids with edition, e.g. LLM01:2025")
    params: dict[str, Any] = Field(default_factory=dict)
    templates: list[str] = Field(
        default_factory=list, description="wording; `{prompt}` stands for the seed prompt"
    )
    language: str | None = Field(None, description="language of the attacked prompt, when it changes")
    source: str | None = Field(None, description="file it was read from")

    @field_validator("atlas")
    @classmethod
    def _atlas_form(cls, v: list[str]) -> list[str]:
        import re

        bad = [i for i in v if not re.match(ATLAS_ID, i)]
        if bad:
            raise ValueError(f"not ATLAS technique ids (AML.Tnnnn[.nnn]): {', '.join(bad)}")
        return v

    @field_validator("owasp_llm")
    @classmethod
    def _owasp_form(cls, v: list[str]) -> list[str]:
        import re

        bad = [i for i in v if not re.match(OWASP_ID, i)]
        if bad:
            raise ValueError(f"not OWASP LLM ids with edition (LLMnn:YYYY): {', '.join(bad)}")
        return v


@dataclass
class AttackContext:
    """What a transform may use besides the seed text: the attack's data and a seeded RNG.

    The RNG is seeded from the seed sample's id and the attack id, so the same seed and attack always
    give the same adversarial input (runs are repeatable and cacheable).
    """

    spec: AttackSpec
    sample: Sample
    rng: random.Random
    params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def templates(self) -> list[str]:
        return self.spec.templates

    def pick(self, options: list[str] | None = None) -> str:
        """One template (or option), chosen by `params.template` (an index) or else by the RNG."""
        options = self.templates if options is None else options
        if not options:
            raise ValueError(f"attack '{self.spec.id}' has no templates")
        index = self.params.get("template")
        if index is not None:
            return options[int(index) % len(options)]
        return options[self.rng.randrange(len(options))]

    @staticmethod
    def fill(template: str, prompt: str, **values: str) -> str:
        """Put the prompt (and other values) into a template; plain replacement, so braces in the
        seed text or the template are safe."""
        out = template.replace("{prompt}", prompt)
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out

    def fill_params(self, template: str, prompt: str, **values: str) -> str:
        """`fill` with the attack's text parameters too (e.g. `{prefix}` from `params.prefix`)."""
        texts = {k: v for k, v in self.params.items() if isinstance(v, str)}
        return self.fill(template, prompt, **{**texts, **values})


TransformResult = str | list[Message]


@dataclass
class Transformed:
    """An attacked input, the language it is in, and notes a transform left (e.g. the encoded payload)."""

    input: TransformResult
    language: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def prompt_text(self) -> str:
        if isinstance(self.input, str):
            return self.input
        return next((m.content for m in reversed(self.input) if m.role == "user"), "")


TransformFn = Callable[[str, AttackContext], TransformResult]

_TRANSFORMS: dict[str, TransformFn] = {}


def register_transform(name: str) -> Callable[[TransformFn], TransformFn]:
    """Decorator: make a transform available to attack records by name (built-ins use it too)."""

    def deco(fn: TransformFn) -> TransformFn:
        _TRANSFORMS[name] = fn
        return fn

    return deco


def transform_names() -> list[str]:
    from assay.redteam import transforms  # noqa: F401 - registers the built-ins

    return sorted(_TRANSFORMS)


def get_transform(name: str) -> TransformFn:
    from assay.redteam import transforms  # noqa: F401 - registers the built-ins

    if name not in _TRANSFORMS:
        raise KeyError(name)
    return _TRANSFORMS[name]


def rng_for(sample_id: str, attack_id: str, salt: int = 0) -> random.Random:
    digest = hashlib.sha256(f"{sample_id}\x00{attack_id}\x00{salt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class Attack:
    """A loaded attack: its record and its transform, ready to apply to seeds."""

    spec: AttackSpec
    fn: TransformFn

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def mode(self) -> AttackMode:
        return self.spec.mode

    def apply(self, text: str, sample: Sample | None = None, **params: Any) -> Transformed:
        """The adversarial input for one seed prompt; deterministic for a given seed id and attack."""
        sample = sample or Sample(id="seed", input=text)
        ctx = AttackContext(
            spec=self.spec,
            sample=sample,
            rng=rng_for(sample.id, self.spec.id, int(params.pop("salt", 0))),
            params={**self.spec.params, **params},
            language=self.spec.language,
        )
        result = self.fn(text, ctx)
        if isinstance(result, str):
            if self.mode in (AttackMode.conversation, AttackMode.multi_turn):
                raise TypeError(f"attack '{self.id}' ({self.mode}) must return a list of messages")
        elif not isinstance(result, list) or not all(isinstance(m, Message) for m in result):
            raise TypeError(f"transform '{self.spec.transform}' returned {type(result).__name__}")
        elif not result or result[-1].role != "user":
            raise ValueError(f"attack '{self.id}' must end its messages with a user turn")
        return Transformed(input=result, language=ctx.language, notes=ctx.notes)
