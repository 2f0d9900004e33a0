"""Prompt rendering: the template sees prompt, choices and sample; mistakes fail loudly and clearly."""

from __future__ import annotations

import pytest

from assay.evals.models import Message, Sample, ScorerSpec, Suite
from assay.evals.suites import TemplateRenderError, render_messages


def _suite(**kw) -> Suite:
    base = {"id": "s", "scorers": [ScorerSpec(name="exact")], "samples": [Sample(id="0", input="x")]}
    return Suite.model_validate({**base, **kw})


MCQ = Sample(
    id="q1", input="Capital of Singapore?", choices=["Singapore", "Jurong"], metadata={"hint": "city"}
)


def test_template_sees_prompt_choices_and_sample():
    template = (
        "{{ prompt }}\n{% for c in choices %}{{ 'ABCD'[loop.index0] }}. {{ c }}\n{% endfor %}"
        "Hint: {{ sample.metadata.hint }} ({{ sample.id }})"
    )
    messages = render_messages(_suite(template=template, system_prompt="Be brief."), MCQ)
    assert messages == [
        Message(role="system", content="Be brief."),
        Message(role="user", content="Capital of Singapore?\nA. Singapore\nB. Jurong\nHint: city (q1)"),
    ]


def test_no_template_no_system_prompt():
    assert render_messages(_suite(), MCQ) == [Message(role="user", content="Capital of Singapore?")]


def test_system_prompt_override_wins():
    messages = render_messages(_suite(system_prompt="suite"), MCQ, "override")
    assert messages[0] == Message(role="system", content="override")


def test_chat_input_templates_the_last_user_turn_and_keeps_its_own_system():
    chat = Sample(
        id="c",
        input=[
            Message(role="system", content="own"),
            Message(role="user", content="one"),
            Message(role="assistant", content="ok"),
            Message(role="user", content="two"),
        ],
    )
    messages = render_messages(_suite(template="<<{{ prompt }}>>", system_prompt="suite"), chat)
    assert [m.content for m in messages] == ["own", "one", "ok", "<<two>>"]
    assert render_messages(_suite(), chat, "override")[0].content == "override"


def test_undefined_variable_is_an_error_naming_suite_and_sample():
    with pytest.raises(TemplateRenderError) as exc:
        render_messages(_suite(template="line one\n{{ question }}"), MCQ)
    text = str(exc.value)
    assert "suite 's'" in text and "sample 'q1'" in text and "question" in text
    assert exc.value.line == 2


def test_sandbox_refuses_unsafe_attribute_access():
    with pytest.raises(TemplateRenderError):
        render_messages(_suite(template="{{ sample.__class__.__mro__ }}"), MCQ)


def test_syntax_error_is_reported_with_line():
    with pytest.raises(TemplateRenderError) as exc:
        render_messages(_suite(template="ok\n{% if prompt %}"), MCQ)
    assert "template syntax" in str(exc.value) and exc.value.line == 2
