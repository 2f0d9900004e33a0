"""The manifest: broken files are reported with line, column and field; nothing is stored for them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.cli.main import app
from assay.manifest import ManifestInvalid, load_manifest, parse_manifest_text
from assay.manifest.schema import Manifest

from .conftest import EXAMPLE, example_text

runner = CliRunner()
EXAMPLE_TEXT = example_text()


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "assay.yaml"
    p.write_text(text)
    return p


def test_example_is_valid() -> None:
    m = load_manifest(EXAMPLE)
    assert m.system.id == "helpdesk"
    assert {p.id for p in m.parties} == {
        "huggingface-tb",
        "lion-city-broadband",
        "harbour-cloud",
        "kb-writers",
    }
    assert m.safety_net.commitments[0].by == "huggingface-tb"  # `from` is read through its alias


# Each case: a change to the example, the field path expected, a needle on the line expected, and
# words the message must contain.
BROKEN = [
    pytest.param(
        ("parties:", "partys:"),
        "partys",
        "partys:",
        ["unknown key 'partys'", "did you mean 'parties'"],
        id="typo-key",
    ),
    pytest.param(
        ("model_type: open-weights", "model_type: open-source-ish"),
        "system.model_type",
        "model_type: open-source-ish",
        ["closed", "open-weights"],
        id="bad-enum",
    ),
    pytest.param(
        (
            "{point: input_filter, component: safety-filter, holder: lion-city-broadband}",
            "{point: input_filter, component: safety-filter, holder: lion-city-broadbnd}",
        ),
        "control_points[6].holder",
        "holder: lion-city-broadbnd}",
        ["no party with id 'lion-city-broadbnd'", "did you mean 'lion-city-broadband'"],
        id="unknown-party",
    ),
    pytest.param(
        ("cover: [harmful_output, factuality,", "cover: [harmful_outputs, factuality,"),
        "safety_net.insurance[0].cover[0]",
        "cover: [harmful_outputs",
        ["unknown risk area 'harmful_outputs'", "did you mean 'harmful_output'"],
        id="unknown-risk-area",
    ),
    pytest.param(
        ("  id: helpdesk\n", "  id: Help Desk!\n"),
        "system.id",
        "id: Help Desk!",
        ["should match pattern"],
        id="bad-slug",
    ),
    pytest.param(
        ("roles: [cloud_provider]", "roles: cloud_provider"),
        "parties[2].roles",
        "roles: cloud_provider",
        ["valid list"],
        id="wrong-type",
    ),
    pytest.param(
        ("      limit: {amount: 2000000, currency: SGD}", "      limit: {amount: -5, currency: sgd}"),
        "safety_net.insurance[0].limit.amount",
        "limit: {amount: -5",
        ["greater than or equal to 0"],
        id="negative-money",
    ),
    pytest.param(
        (
            "    jurisdiction: SG\n    contact: ai-governance",
            "    jurisdiction: SG\n    jurisdiction: MY\n    contact: ai-governance",
        ),
        "parties[1].jurisdiction",
        "jurisdiction: MY",
        ["appears twice"],
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("change", "field", "needle", "words"), BROKEN)
def test_broken_manifest_names_line_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, needle: str, words: list[str]
) -> None:
    old, new = change
    assert old in EXAMPLE_TEXT, "the test's edit no longer applies to the example"
    text = EXAMPLE_TEXT.replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(path)
    problems = [p for p in info.value.problems if p.field == field]
    assert problems, f"no problem for {field}: {[p.render() for p in info.value.problems]}"
    p = problems[0]
    assert p.file == str(path)
    assert p.line == _line_of(text, needle)
    assert p.column is not None and p.column >= 1
    rendered = p.render()
    for w in words:
        assert w in rendered, rendered

    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{p.line}:" in result.stderr
    assert field in result.stderr


def test_missing_required_field_points_at_its_parent(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace("  sector: telecommunications\n", "", 1)
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest_text(text, "x.yaml")
    problems = [p for p in info.value.problems if p.field == "system.sector"]
    assert len(problems) == 1, [p.render() for p in info.value.problems]
    p = problems[0]
    assert p.line == text.splitlines().index("system:") + 1
    assert "required" in p.expected


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace("  name: Lion City Broadband Helpdesk Assistant", "  name: [unclosed", 1)
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest_text(text, "x.yaml")
    (p,) = info.value.problems
    assert p.field == "(document)"
    assert p.expected == "valid YAML"
    assert p.line is not None and p.line >= _line_of(text, "name: [unclosed")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        EXAMPLE_TEXT.replace("parties:", "partys:", 1)
        .replace("model_type: open-weights", "model_type: nope", 1)
        .replace("  version: 0.1.0\n  description:", "  description:", 1)
    )
    path = _write(tmp_path, text)
    result = runner.invoke(app, ["validate", "--json", str(path)])
    assert result.exit_code == 2
    fields = {p["field"] for p in json.loads(result.stdout)}
    assert {"partys", "system.model_type", "system.version", "parties"} <= fields


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "assay.yaml"
    bad.write_bytes(b"system:\n  name: caf\xe9\n")
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(bad)
    assert info.value.problems[0].line == 2
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(tmp_path / "nope.yaml")
    assert "not found" in info.value.problems[0].message


def test_invalid_manifest_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, EXAMPLE_TEXT.replace("parties:", "partys:", 1))
    result = runner.invoke(app, ["assess", str(path)])
    assert result.exit_code == 2
    assert not (tmp_path / ".assay").exists()
    assert not (tmp_path / "out").exists()


def test_invalid_manifest_leaves_existing_store_untouched(tmp_path: Path) -> None:
    from assay.assurance.evidence import list_evidence
    from assay.registry.service import list_systems
    from assay.workspace import Workspace

    def snapshot() -> tuple[list[str], list[str]]:
        ws = Workspace(tmp_path / ".assay")
        try:
            return [e.id for e in list_evidence(ws)], [s.manifest_sha256 for s in list_systems(ws)]
        finally:
            ws.close()

    path = _write(tmp_path, EXAMPLE_TEXT)
    assert runner.invoke(app, ["assess", str(path)]).exit_code == 0
    before = snapshot()
    assert before[0] and before[1]
    index_before = (tmp_path / "out" / "index.html").read_bytes()
    path.write_text(EXAMPLE_TEXT.replace("model_type: open-weights", "model_type: nope", 1))
    assert runner.invoke(app, ["assess", str(path)]).exit_code == 2
    assert snapshot() == before
    assert (tmp_path / "out" / "index.html").read_bytes() == index_before


def test_json_schema_is_published(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["manifest", "schema", "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc["required"]) >= {"system", "parties"}
    assert "from" in json.dumps(doc["$defs"]["Commitment"])  # aliases, as users write them
    assert doc["$defs"]["System"]["additionalProperties"] is False


def test_init_writes_a_valid_commented_manifest(tmp_path: Path) -> None:
    path = tmp_path / "assay.yaml"
    args = [
        "init",
        str(path),
        "--name",
        "Claims Triage Bot",
        "--intended-use",
        "Sort insurance claims for a human adjuster",
        "--sector",
        "insurance",
        "--model-type",
        "closed",
        "--developer",
        "Example Models Inc",
        "--deployer",
        "Merlion Assurance",
        "--model-name",
        "example-large",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# assay.yaml")
    m = load_manifest(path)
    assert m.system.id == "claims-triage-bot"
    assert [p.id for p in m.parties] == ["example-models-inc", "merlion-assurance"]
    # no overwrite without --force
    assert runner.invoke(app, args).exit_code == 2
    assert runner.invoke(app, [*args, "--force", "--model-type", "open-weights"]).exit_code == 0
    assert load_manifest(path).system.model_type.value == "open-weights"


def test_init_without_terminal_names_missing_flags(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "a.yaml"), "--name", "x"])
    assert result.exit_code == 2
    assert "--deployer" in result.stderr and "--intended-use" in result.stderr


def test_manifest_round_trips_through_json() -> None:
    m = load_manifest(EXAMPLE)
    data = json.loads(m.model_dump_json(by_alias=True))
    assert Manifest.model_validate(data) == m
    assert (
        yaml.safe_load(EXAMPLE_TEXT)["safety_net"]["commitments"][0]["from"]
        == data["safety_net"]["commitments"][0]["from"]
    )


def test_init_asks_in_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import assay.cli.manifest_cmds as cmds

    monkeypatch.setattr(cmds, "_interactive", lambda: True)
    answers = "\n".join(["Loan Helper", "Explain loan terms", "open-source", "Acme AI", "Bank Co", "m1"])
    path = tmp_path / "assay.yaml"
    result = runner.invoke(app, ["init", str(path), "--sector", "banking"], input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert "System name" in result.output and "Sector" not in result.output  # a given flag is not asked
    m = load_manifest(path)
    assert m.system.name == "Loan Helper"
    assert m.system.sector == "banking"
    assert m.system.model_type.value == "open-source"
    assert [p.name for p in m.parties] == ["Acme AI", "Bank Co"]


def test_every_numeric_bound_reaches_the_json_schema_as_a_standard_keyword() -> None:
    """pydantic leaves `ge`/`le` unconverted in some Optional fields; a schema reader then ignores the
    bound and sends what the server refuses (schemathesis found `threads: -19039`)."""
    import json

    from assay.manifest.schema import Manifest

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                assert key not in ("ge", "le", "gt", "lt"), f"non-standard '{key}' at {path}"
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    schema = Manifest.model_json_schema()
    walk(schema, "#")
    threads = schema["$defs"]["Target"]["properties"]["threads"]["anyOf"][0]
    assert threads["minimum"] == 1 and threads["maximum"] == 1024, json.dumps(threads)
