"""Assay's own suite format: YAML with inline samples or a samples file, problems with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.evals.suites import SuiteInvalid, list_suites, load_suite, resolve_suite

SUITE = """\
id: sg-basics
title: Singapore basics
description: Small facts, asked plainly.
version: "2"
system_prompt: You answer briefly.
template: |
  Question: {{ prompt }}
  {% for c in choices %}- {{ c }}
  {% endfor %}
scorers:
  - exact
  - name: contains
    params: {ignore_case: true}
primary_scorer: exact
tags:
  controls: [TA-01]
  owasp_llm: ["LLM09:2025"]
grades:
  - {grade: pass, min_score: 0.8}
  - {grade: fail, min_score: 0.0}
generation: {max_tokens: 32, temperature: 0}
samples:
  - id: capital
    input: What is the capital of Singapore?
    target: Singapore
    category: geography
  - id: chat
    input:
      - {role: user, content: Hello}
      - {role: assistant, content: Hi}
      - {role: user, content: "Which currency does Singapore use?"}
    target: [SGD, Singapore dollar]
    language: en
    risk_ids: [information-integrity, "LLM09:2025"]
  - input: No id here
    choices: ["yes", "no"]
    target: "yes"
"""


def test_inline_suite_loads(write):
    suite, report = load_suite(write("suite.yaml", SUITE))
    assert suite.id == "sg-basics" and suite.version == "2"
    assert [s.id for s in suite.samples] == ["capital", "chat", "2"]
    assert [s.name for s in suite.scorers] == ["exact", "contains"]
    assert suite.scorers[1].params == {"ignore_case": True}
    assert suite.tags.owasp_llm == ["LLM09:2025"]
    assert suite.samples[1].targets == ["SGD", "Singapore dollar"]
    assert suite.generation["max_tokens"] == 32
    assert report.samples_loaded == 3 and report.ok
    assert suite.source and suite.source.endswith("suite.yaml")


def test_field_error_names_the_line(write):
    text = SUITE.replace('version: "2"', 'version: "2"\nscorer: exact')
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", text))
    [problem] = exc.value.problems
    assert problem.line == 5 and problem.field == "scorer"
    assert "unknown key" in problem.message
    assert "suite.yaml:5" in str(exc.value)


def test_bad_grade_value_names_its_line(write):
    text = SUITE.replace("min_score: 0.8", "min_score: 8")
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", text))
    [problem] = exc.value.problems
    assert problem.field == "grades[0].min_score" and problem.line == 19


def test_bad_sample_is_skipped_with_line_or_fatal_when_strict(write):
    text = SUITE.replace("    category: geography", "    category: geography\n    expect: maybe")
    path = write("suite.yaml", text)
    suite, report = load_suite(path)
    assert [s.id for s in suite.samples] == ["chat", "2"]
    [problem] = report.skipped
    assert problem.field == "samples[0].expect" and problem.line == 27
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(path, strict=True)
    assert exc.value.problems[0].line == 27


def test_unknown_sample_field_is_reported(write):
    text = SUITE.replace("    category: geography", "    categroy: geography")
    _, report = load_suite(write("suite.yaml", text))
    [problem] = report.skipped
    assert problem.field == "samples[0].categroy" and problem.line == 26
    assert "unknown sample field" in problem.message


def test_duplicate_ids_are_problems(write):
    text = SUITE.replace("  - id: chat", "  - id: capital")
    path = write("suite.yaml", text)
    suite, report = load_suite(path)
    assert [s.id for s in suite.samples] == ["capital", "2"]
    [problem] = report.skipped
    assert "duplicate sample id 'capital'" in problem.message and problem.line == 27
    with pytest.raises(SuiteInvalid):
        load_suite(path, strict=True)


def test_yaml_syntax_error_has_a_line(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", "id: x\nscorers: [exact\nsamples: []\n"))
    assert exc.value.problems[0].line is not None and exc.value.problems[0].field == "(document)"


def test_template_syntax_error_points_into_the_template(write):
    text = SUITE.replace("  {% endfor %}", "  {% endfo %}")
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", text))
    [problem] = exc.value.problems
    assert problem.field == "template" and "template syntax" in problem.message
    assert problem.line == 9  # the template's third line, in the YAML file


def test_template_with_unknown_variable_fails_at_load(write):
    text = SUITE.replace("Question: {{ prompt }}", "Question: {{ question }}")
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", text))
    [problem] = exc.value.problems
    assert problem.field == "template" and "question" in problem.message and problem.line == 7


def test_primary_scorer_must_be_a_scorer(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", SUITE.replace("primary_scorer: exact", "primary_scorer: judge")))
    assert exc.value.problems[0].field == "primary_scorer" and exc.value.problems[0].line == 14


def test_samples_file_with_field_mapping(write):
    write(
        "data/qa.jsonl", '{"question": "2+2?", "answer": 4, "uid": "a"}\n{"question": "3+3?", "answer": 6}\n'
    )
    path = write(
        "suite.yaml",
        "id: arith\nscorers: [exact]\nsamples_file: data/qa.jsonl\nfields: {id: uid}\n",
    )
    suite, report = load_suite(path)
    assert [(s.id, s.input, s.target) for s in suite.samples] == [("a", "2+2?", "4"), ("1", "3+3?", "6")]
    assert report.rows_read == 2


def test_samples_file_missing_is_reported_at_its_line(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", "id: x\nscorers: [exact]\nsamples_file: nope.jsonl\n"))
    assert exc.value.problems[0].line == 3 and exc.value.problems[0].field == "samples_file"


def test_samples_and_samples_file_together_are_refused(write):
    with pytest.raises(SuiteInvalid, match="not both"):
        load_suite(write("suite.yaml", "id: x\nscorers: [exact]\nsamples_file: a.jsonl\nsamples: []\n"))


def test_all_samples_bad_is_fatal(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_suite(write("suite.yaml", "id: x\nscorers: [exact]\nsamples:\n  - {id: a}\n"))
    fields = [p.field for p in exc.value.problems]
    assert "samples[0].input" in fields and "samples" in fields


def test_names_resolve_through_user_folders(tmp_path, write, monkeypatch):
    write("mine/greet/suite.yaml", "id: greet\nscorers: [exact]\nsamples: [{input: hi, target: hello}]\n")
    write("more/other.yaml", "id: other\nscorers: [exact]\nsamples: [{input: hi, target: hello}]\n")
    monkeypatch.setenv(
        "ASSAY_SUITES_PATH", f"{tmp_path / 'mine'}{__import__('os').pathsep}{tmp_path / 'more'}"
    )
    suite, _ = load_suite("greet")
    assert suite.id == "greet"
    assert load_suite("other")[0].id == "other"
    assert resolve_suite("greet") == tmp_path / "mine" / "greet" / "suite.yaml"
    assert {"greet", "other"} <= set(list_suites())
    with pytest.raises(SuiteInvalid, match="no suite named"):
        load_suite("absent-suite")


def test_folder_with_suite_yaml_loads(write, tmp_path):
    write("s/suite.yaml", "id: s\nscorers: [exact]\nsamples: [{input: hi, target: hello}]\n")
    assert load_suite(tmp_path / "s")[0].id == "s"


def test_scorers_option_overrides_the_file(write):
    suite, _ = load_suite(write("suite.yaml", SUITE), scorers=["regex"])
    assert [s.name for s in suite.scorers] == ["regex"] and suite.primary_scorer is None


def test_scorer_shorthand_name_to_params(write):
    text = "id: x\nscorers:\n  - contains: {ignore_case: true}\nsamples: [{input: a, target: b}]\n"
    suite, _ = load_suite(write("suite.yaml", text))
    assert suite.scorers[0].name == "contains" and suite.scorers[0].params == {"ignore_case": True}


def test_the_documented_example_loads(write):
    docs = Path(__file__).resolve().parents[3] / "docs" / "suites.md"
    if not docs.is_file():
        pytest.skip("docs/suites.md not found")
    text = docs.read_text("utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    suite, report = load_suite(write("suite.yaml", example))
    assert suite.id == "sg-basics" and len(suite.samples) == 3 and report.ok
