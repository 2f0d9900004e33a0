"""The incidents section of a policy pack: the EU Art. 73 set, the illustrative set, evaluation (the
shortest applicable deadline wins) and located errors for a bad section."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assay.incidents.policy import (
    IncidentsPolicyInvalid,
    SeverityFacts,
    builtin_policy,
    evaluate,
    incidents_policy,
    load_policy_file,
    load_policy_text,
    policy_choice,
)
from assay.policy.models import PolicyPack

AWARE = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("facts", "rule", "days"),
    [
        (SeverityFacts(death=True), "art73-4-death", 10),
        (SeverityFacts(widespread=True), "art73-3-widespread", 2),
        (SeverityFacts(critical_infrastructure=True), "art73-3-critical-infrastructure", 2),
        (SeverityFacts(harm_types=["fundamental-rights"]), "art73-2-serious", 15),
        (SeverityFacts(harm_types=["health-serious"]), "art73-2-serious", 15),
        # a death that also disrupts critical infrastructure is due on the shorter clock
        (SeverityFacts(death=True, critical_infrastructure=True), "art73-3-critical-infrastructure", 2),
    ],
)
def test_eu_art73_deadlines(facts: SeverityFacts, rule: str, days: int) -> None:
    verdict = evaluate(builtin_policy(), facts, AWARE)
    assert verdict.severe and verdict.rule_id == rule
    assert verdict.deadline == AWARE + dt.timedelta(days=days)
    assert verdict.initial_report_allowed
    assert "Art. 73(" in verdict.cite


def test_eu_set_leaves_minor_harms_not_severe() -> None:
    verdict = evaluate(builtin_policy(), SeverityFacts(harm_types=["misinformation"], severity="high"), AWARE)
    assert not verdict.severe and verdict.deadline is None and verdict.rule_id is None


def test_illustrative_set_and_its_contacts() -> None:
    pol = builtin_policy("illustrative")
    assert pol.illustrative and {c.role for c in pol.contacts} == {"authority", "sector"}
    both = SeverityFacts(harm_types=["privacy"], widespread=True, severity="high")
    verdict = evaluate(pol, both, AWARE)
    assert verdict.rule_id == "ill-privacy-widespread" and verdict.deadline == AWARE + dt.timedelta(days=7)
    high_only = evaluate(pol, SeverityFacts(severity="high"), AWARE)
    assert high_only.rule_id == "ill-high" and not high_only.severe  # a non-severe rule still sets a date


def test_no_section_means_the_eu_set_by_default() -> None:
    pack = PolicyPack(id="p", title="P", version="1", publisher="X")
    choice = policy_choice(pack)
    assert choice.by_default and choice.policy.id == "eu-ai-act-art73"
    assert incidents_policy(pack).id == "eu-ai-act-art73"
    assert policy_choice(None).by_default and not policy_choice(builtin_policy()).by_default


def test_pack_section_is_validated_with_its_path() -> None:
    section = {
        "id": "sg-example",
        "title": "Example",
        "materiality": "m",
        "rules": [{"id": "r1", "title": "t", "match": {"harm_types": ["nope"]}, "deadline_days": -3}],
        "contacts": [{"id": "c", "name": "Regulator", "role": "authority"}],
    }
    pack = PolicyPack(id="p", title="P", version="1", publisher="X", incidents=section)
    with pytest.raises(IncidentsPolicyInvalid) as err:
        incidents_policy(pack)
    fields = {p.field for p in err.value.problems}
    assert "incidents.rules[0].match" in fields
    assert "incidents.rules[0].deadline_days" in fields
    assert "incidents.contacts[0]" in fields
    assert "email or a webhook" in str(err.value)
    ok = dict(section, rules=[{"id": "r1", "title": "t", "deadline_days": 5}], contacts=[])
    assert incidents_policy(ok).id == "sg-example"


def test_file_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(
        "pack: 1\nid: p\ntitle: P\nversion: '1'\npublisher: X\nincidents:\n  id: s\n  title: S\n"
        "  materiality: m\n  rules:\n    - id: a\n      title: A\n      deadline_days: many\n"
    )
    with pytest.raises(IncidentsPolicyInvalid) as err:
        load_policy_file(path)
    (problem,) = err.value.problems
    assert (problem.line, problem.field) == (13, "incidents.rules[0].deadline_days")
    assert problem.render().startswith(f"{path}:13:")


def test_duplicate_rule_ids_and_bad_yaml() -> None:
    text = "id: s\ntitle: S\nmateriality: m\nrules:\n  - {id: a, title: A}\n  - {id: a, title: B}\n"
    with pytest.raises(IncidentsPolicyInvalid, match="rule id.s. a appear more than once"):
        load_policy_text(text, "x.yaml")
    with pytest.raises(IncidentsPolicyInvalid, match=r"x.yaml:2:1: \(document\): YAML syntax"):
        load_policy_text("id: [unclosed\n", "x.yaml")


def test_builtin_names_load_as_files() -> None:
    assert load_policy_file("illustrative").policy.id == "illustrative"
    with pytest.raises(IncidentsPolicyInvalid, match="readable YAML"):
        load_policy_file("/nonexistent/policy.yaml")


def test_a_whole_pack_as_a_mapping_uses_its_section() -> None:
    section = {"id": "s", "title": "S", "materiality": "m", "rules": [{"id": "a", "title": "A"}]}
    choice = policy_choice({"pack": 1, "id": "p", "publisher": "X", "incidents": section})
    assert choice.policy.id == "s" and not choice.by_default
