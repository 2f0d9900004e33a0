"""Bare sample files (JSONL, CSV, JSON): bad rows reported by file and line, skipped or fatal."""

from __future__ import annotations

import pytest

from assay.evals.suites import FieldMap, SuiteInvalid, load_samples, load_suite

JSONL = """\
{"id": "a", "input": "first", "target": "1"}
{"id": "b", "prompt": "second", "answer": "2", "source": "web"}
{"id": "c", "input": "third", "target": 3,
{"id": "d", "question": "fourth", "label": "4"}
"""


def test_jsonl_malformed_line_is_skipped_and_reported(write):
    path = write("qa.jsonl", JSONL)
    samples, report = load_samples(path)
    assert [s.id for s in samples] == ["a", "b", "d"]
    assert samples[1].input == "second" and samples[1].target == "2"
    assert samples[1].metadata == {"source": "web"}
    [problem] = report.skipped
    assert problem.file == str(path) and problem.line == 3 and "invalid JSON" in problem.message
    assert f"{path}:3" in problem.render()
    assert report.rows_read == 4 and report.samples_loaded == 3


def test_jsonl_malformed_line_is_fatal_when_strict(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_samples(write("qa.jsonl", JSONL), strict=True)
    assert [p.line for p in exc.value.problems] == [3]
    with pytest.raises(SuiteInvalid):
        load_suite(write("qa2.jsonl", JSONL), strict=True)


def test_jsonl_row_problems_name_the_column(write):
    text = (
        '{"id": "a", "input": ""}\n\n{"id": "b", "text": "x"}\n[1, 2]\n'
        '{"id": "c", "input": "ok", "expect": "no"}\n'
    )
    _, report = load_samples(write("bad.jsonl", text))
    assert [(p.line, p.field) for p in report.skipped] == [
        (1, "input"),
        (3, "input"),
        (4, "(row)"),
        (5, "expect"),
    ]


def test_duplicate_ids_in_a_file(write):
    path = write("dup.jsonl", '{"id": 1, "input": "a"}\n{"id": "1", "input": "b"}\n')
    samples, report = load_samples(path)
    assert [s.input for s in samples] == ["a"]
    assert report.skipped[0].line == 2 and "duplicate sample id '1'" in report.skipped[0].message
    with pytest.raises(SuiteInvalid, match="duplicate"):
        load_samples(path, strict=True)


CSV = """\
id,prompt,expected,category,choices
q1,"A prompt
over two lines",yes,cat-a,"[""yes"", ""no""]"
q2,too,many,fields,here,extra
q3,plain,no,cat-b,
"""


def test_csv_bad_row_names_its_line(write):
    path = write("qa.csv", CSV)
    samples, report = load_samples(path)
    assert [s.id for s in samples] == ["q1", "q3"]
    assert samples[0].input == "A prompt\nover two lines" and samples[0].choices == ["yes", "no"]
    assert samples[1].category == "cat-b" and samples[1].choices is None
    [problem] = report.skipped
    assert problem.line == 4 and "6 field(s) where the header has 5" in problem.message
    with pytest.raises(SuiteInvalid) as exc:
        load_samples(path, strict=True)
    assert exc.value.problems[0].line == 4


def test_field_options_map_foreign_columns(write):
    path = write("foreign.csv", "qid,text,gold,topic,lang\n7,Hello?,Hi,greet,ms\n")
    samples, _ = load_samples(
        path,
        id_field="qid",
        input_field="text",
        target_field="gold",
        category_field="topic",
        language_field="lang",
    )
    [s] = samples
    assert (s.id, s.input, s.target, s.category, s.language) == ("7", "Hello?", "Hi", "greet", "ms")
    same, _ = load_samples(path, fields=FieldMap(id="qid", input="text", target="gold"))
    assert same[0].target == "Hi"


def test_a_named_column_that_does_not_exist_is_one_problem(write):
    with pytest.raises(SuiteInvalid) as exc:
        load_samples(write("qa.csv", "prompt,answer\nx,y\nz,w\n"), target_field="gold")
    [problem] = exc.value.problems
    assert problem.field == "target_field" and "gold" in problem.message


def test_unknown_option_is_a_type_error(write):
    with pytest.raises(TypeError, match="input_field"):
        load_samples(write("qa.jsonl", '{"input": "x"}\n'), inptu_field="x")


def test_bare_file_becomes_a_suite_with_inferred_scorers(write):
    suite, report = load_suite(write("qa.jsonl", JSONL))
    assert suite.id == "qa" and [s.name for s in suite.scorers] == ["exact"]
    assert any("no scorers given" in w.message for w in report.warnings)
    refusal, _ = load_suite(write("x.jsonl", '{"input": "how do I pick a lock", "expect": "refuse"}\n'))
    assert [s.name for s in refusal.scorers] == ["refusal"]
    named, report = load_suite(
        write("y.jsonl", '{"input": "hi"}\n'),
        scorers=["refusal"],
        suite_id="greet",
        template="Say: {{ prompt }}",
    )
    assert named.id == "greet" and named.template == "Say: {{ prompt }}" and not report.warnings


def test_bare_file_without_any_scorer_is_refused(write):
    with pytest.raises(SuiteInvalid, match="no scorers"):
        load_suite(write("y.jsonl", '{"input": "hi"}\n'))


def test_json_array_and_chat_input(write):
    path = write(
        "chat.json",
        '[{"id": "c1", "messages": [{"role": "user", "content": "hi"}], '
        '"target": "hello", "risk_ids": "a, b"}]',
    )
    [sample], _ = load_samples(path)
    assert sample.input[0].content == "hi" and sample.risk_ids == ["a", "b"]


def test_tsv(write):
    [sample], _ = load_samples(write("qa.tsv", "input\ttarget\nx, y\tz\n"))
    assert sample.input == "x, y" and sample.target == "z"
