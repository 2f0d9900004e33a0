"""From a suite and a sample to the chat messages sent to a target.

Templates come from data files anyone can write, so they run in Jinja2's sandbox; StrictUndefined
makes a misspelt variable an error instead of a silently empty prompt, which would skew a benchmark.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from assay.evals.models import Message, Sample, Suite

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateRenderError(ValueError):
    """A template that does not compile or does not render for a sample, with where and why."""

    def __init__(
        self, message: str, *, suite: str | None = None, sample: str | None = None, line: int | None = None
    ) -> None:
        self.suite = suite
        self.sample = sample
        self.line = line
        where = []
        if suite:
            where.append(f"suite '{suite}'")
        if sample:
            where.append(f"sample '{sample}'")
        if line:
            where.append(f"template line {line}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.message = message


@lru_cache(maxsize=512)
def compile_template(source: str) -> Any:
    """Compile once per distinct template text; suites render thousands of prompts with one template."""
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(f"template syntax: {exc.message}", line=exc.lineno) from None


_PROMPT_ONLY = re.compile(r"\{\{ *prompt *\}\}")


@lru_cache(maxsize=512)
def _prompt_only(source: str) -> tuple[str, ...] | None:
    """The text around each `{{ prompt }}` of a template that holds nothing else Jinja would read (no other
    tag, brace or carriage return), or None. Such a template renders as the prompt joined by that text,
    exactly as Jinja renders it, without a sandboxed call per sample."""
    parts = tuple(_PROMPT_ONLY.split(source))
    if len(parts) < 2 or any(c in part for part in parts for c in "{}\r"):
        return None
    return parts


def check_template(source: str) -> None:
    """Raise TemplateRenderError when Jinja cannot compile `source`. A template whose only tag is
    `{{ prompt }}` compiles by construction, so it is not compiled just to be checked."""
    if _prompt_only(source) is None:
        compile_template(source)


def render_prompt(template: str, sample: Sample, prompt: str | None = None) -> str:
    """Apply a template to one sample; the template sees `prompt`, `choices` and `sample`."""
    parts = _prompt_only(template)
    if parts is not None:
        return (sample.prompt_text() if prompt is None else prompt).join(parts)
    compiled = compile_template(template)
    context = {
        "prompt": sample.prompt_text() if prompt is None else prompt,
        "choices": list(sample.choices or []),
        "sample": sample,
    }
    try:
        return compiled.render(context)
    except TemplateError as exc:
        raise TemplateRenderError(f"template: {exc}", sample=sample.id, line=_line_of(exc)) from None


def _line_of(exc: BaseException) -> int | None:
    line = getattr(exc, "lineno", None)
    if line:
        return int(line)
    tb = exc.__traceback__
    found = None
    while tb is not None:  # Jinja maps template frames back to template lines in the traceback
        if tb.tb_frame.f_code.co_filename == "<template>":
            found = tb.tb_lineno
        tb = tb.tb_next
    return found


def render_messages(suite: Suite, sample: Sample, system_prompt_override: str | None = None) -> list[Message]:
    """The messages for one sample: system prompt, then the (templated) prompt or chat.

    With chat input the template applies to the last user turn. A system message the sample carries
    itself is kept unless an override is given; the suite's own system prompt only fills a gap.
    """
    system = system_prompt_override if system_prompt_override is not None else suite.system_prompt
    try:
        if isinstance(sample.input, str):
            content = render_prompt(suite.template, sample) if suite.template else sample.input
            messages = [Message(role="user", content=content)]
        else:
            messages = list(sample.input)
            if suite.template:
                last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
                if last_user is not None:
                    text = render_prompt(suite.template, sample, messages[last_user].content)
                    messages[last_user] = Message(role="user", content=text)
    except TemplateRenderError as exc:
        raise TemplateRenderError(exc.message, suite=suite.id, sample=sample.id, line=exc.line) from None
    own_system = bool(messages) and messages[0].role == "system"
    if own_system and system_prompt_override is not None:
        messages[0] = Message(role="system", content=system_prompt_override)
    elif system and not own_system:
        messages.insert(0, Message(role="system", content=system))
    return messages
