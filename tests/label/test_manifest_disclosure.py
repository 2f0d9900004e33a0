"""The manifest's `disclosure:` section: optional, in the JSON schema and the starter, and a wrong type
in it is reported with the file, line, column and field like every other manifest problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.manifest import ManifestInvalid, load_manifest
from assay.manifest.schema import Manifest
from assay.manifest.starter import StarterAnswers, render_starter

from ..conftest import EXAMPLE

runner = CliRunner()
TEXT = EXAMPLE.read_text()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_example_discloses_and_the_section_is_optional(tmp_path: Path) -> None:
    m = load_manifest(EXAMPLE)
    assert m.disclosure is not None and m.disclosure.user_data is not None
    assert m.disclosure.known_limitations and m.disclosure.mitigations
    assert m.disclosure.reporting is not None and m.disclosure.reporting.incident_contact
    start = TEXT.index("\ndisclosure:")
    path = tmp_path / "assay.yaml"
    path.write_text(TEXT[:start] + "\n")
    assert load_manifest(path).disclosure is None


BROKEN = [
    pytest.param(
        (
            "    retention: Transcripts are kept for 30 days for quality review, then deleted.",
            "    retention: [30 days]",
        ),
        "disclosure.user_data.retention",
        "retention: [30 days]",
        "valid string",
        id="list-for-text",
    ),
    pytest.param(
        ("  known_limitations:\n", "  known_limitations: just one\n  ignored:\n"),
        "disclosure.known_limitations",
        "known_limitations: just one",
        "valid list",
        id="text-for-list",
    ),
    pytest.param(
        ("    hardware: 64 NVIDIA H100 GPUs\n", "    hardware: 64 NVIDIA H100 GPUs\n    energy_kwh: lots\n"),
        "disclosure.training.energy_kwh",
        "energy_kwh: lots",
        "valid number",
        id="text-for-number",
    ),
    pytest.param(
        ("    hardware: 64 NVIDIA H100 GPUs\n", "    hardware: 64 NVIDIA H100 GPUs\n    co2e_kg: -3\n"),
        "disclosure.training.co2e_kg",
        "co2e_kg: -3",
        "greater than or equal to 0",
        id="negative-emissions",
    ),
    pytest.param(
        ("    incident_contact: ai-incidents", "    incident_contakt: ai-incidents"),
        "disclosure.reporting.incident_contakt",
        "incident_contakt:",
        "did you mean 'incident_contact'",
        id="typo-key",
    ),
]


@pytest.mark.parametrize(("change", "field", "needle", "words"), BROKEN)
def test_wrong_type_in_disclosure_names_file_line_column(
    tmp_path: Path, change: tuple[str, str], field: str, needle: str, words: str
) -> None:
    old, new = change
    assert old in TEXT, "the test's edit no longer applies to the example"
    text = TEXT.replace(old, new, 1)
    path = tmp_path / "assay.yaml"
    path.write_text(text)
    with pytest.raises(ManifestInvalid) as info:
        load_manifest(path)
    hits = [p for p in info.value.problems if p.field == field]
    assert hits, [p.render() for p in info.value.problems]
    p = hits[0]
    assert (p.file, p.line) == (str(path), _line_of(text, needle))
    assert p.column is not None and p.column >= 1
    assert words in p.render()
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{p.line}:{p.column}: {field}" in result.stderr


def test_schema_and_starter_carry_the_section(tmp_path: Path) -> None:
    schema = Manifest.model_json_schema()
    decl = schema["$defs"]["DisclosureDecl"]["properties"]
    assert {
        "training",
        "training_data_summary",
        "known_limitations",
        "mitigations",
        "user_data",
        "reporting",
    } <= set(decl)
    assert schema["$defs"]["TrainingDeclaration"]["properties"]["energy_kwh"]["anyOf"][0]["minimum"] == 0
    text = render_starter(
        StarterAnswers(
            name="Claims bot",
            intended_use="Answer claim questions",
            sector="finance",
            model_type="closed",
            developer="Model Co",
            deployer="Insure Co",
            model_name="m-1",
        )
    )
    path = tmp_path / "assay.yaml"
    path.write_text(text)
    m = load_manifest(path)
    assert m.disclosure is not None and m.disclosure.training is not None
    assert "known_limitations" in text and "incident_contact" in text
