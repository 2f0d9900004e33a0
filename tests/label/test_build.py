"""Building the disclosure: every area from a named source, measurements from the newest signed runs,
per-language results, grades under a pack, completeness lowered by areas with nothing to show."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assay.assurance.evidence import list_evidence, record_evidence
from assay.energy.models import Footprint
from assay.label.build import build_disclosure
from assay.label.measure import measurements_for
from assay.label.verdict import ALL_AREAS
from assay.manifest.schema import Manifest
from assay.policy.models import MetricThreshold, PolicyPack

from .conftest import Project

TODAY = dt.date(2026, 12, 4)


def pack(**changes: object) -> PolicyPack:
    """A pack for the test project: one rule red on the QA score, one inconclusive on the red team."""
    fields: dict[str, object] = {
        "id": "test-pack",
        "title": "Test pack",
        "version": "1",
        "publisher": "Tests",
        "illustrative": True,
        "thresholds": [
            MetricThreshold(id="qa-score", title="QA pass rate", suite="qa", green=0.99, amber=0.95),
            MetricThreshold(
                id="rt-asr",
                title="Attack success",
                source="redteam",
                suite="redteam-seeds",
                metric="asr",
                direction="lower_is_better",
                green=0.1,
                amber=0.3,
            ),
            MetricThreshold(
                id="billing", title="Billing answers", suite="qa", category="billing", green=0.7, amber=0.1
            ),
        ],
        "required_areas": list(ALL_AREAS),
    }
    fields.update(changes)
    return PolicyPack.model_validate(fields)


def _summary_record(project: Project, run_kind: str = "eval.run") -> dict:  # type: ignore[type-arg]
    ev = next(
        e
        for e in list_evidence(project.ws, system="helpdesk", kind=run_kind)
        if e.name.endswith("/summary.json")
    )
    return json.loads(project.ws.blobs.get(ev.sha256))


def test_every_area_comes_from_a_named_source(project: Project) -> None:
    d = build_disclosure(project.ws, project.manifest, pack=None, today=TODAY)
    for area in ALL_AREAS:
        a = getattr(d, area)
        assert a.status == "disclosed", area
        assert a.source, f"{area} is disclosed without saying where it came from"
    assert d.identity.system_id == "helpdesk" and d.identity.model_type == "open-weights"
    assert "lion-city-broadband" in {p.id for p in d.identity.parties}
    assert d.infrastructure.declared_training is not None
    assert d.infrastructure.declared_training.hardware == "64 NVIDIA H100 GPUs"
    assert d.infrastructure.hosting == ["Managed GPU hosting, Singapore region (Harbour Cloud Services)"]
    assert d.user_data.retention.startswith("Transcripts are kept for 30 days")
    assert d.reporting.incident_contact == "ai-incidents@lcb.example.sg"
    assert [m.method for m in d.provenance.methods] == ["kgw-watermark", "c2pa text manifest (sidecar)"]
    assert "insurance 'lcb-tech-eo-2026'" in d.accountability.expiring[0]  # expires within 90 days of TODAY
    assert "harmful_output" in d.accountability.covered_risk_areas
    head = d.chain_head.split(":")
    assert head[0] == "helpdesk" and int(head[1]) == len(list_evidence(project.ws, system="helpdesk"))


def test_evaluation_area_and_languages(project: Project) -> None:
    d = build_disclosure(project.ws, project.manifest, pack=None, today=TODAY)
    (suite,) = d.evaluation.suites
    assert (suite.suite_id, suite.target, suite.n, suite.score) == ("qa", "mock", 10, 0.6)
    assert suite.languages == ["en", "zh"]
    assert suite.ci_low is not None and suite.ci_low < 0.6 < (suite.ci_high or 0)
    langs = {r.language: r for r in d.evaluation.languages}
    assert set(langs) == {"en", "zh"}
    assert (langs["en"].score, langs["en"].n, langs["zh"].score) == (0.8, 5, 0.4)
    (rt,) = d.evaluation.redteam
    assert (rt.suite_id, rt.attack_success_rate, rt.judged, rt.attacks) == ("redteam-seeds", 0.5, 2, 1)
    listed = {e.sha256 for e in d.evidence}
    assert suite.evidence_sha256 in listed and rt.evidence_sha256 in listed


def test_measurements_carry_metric_category_language_and_evidence(project: Project) -> None:
    ms = measurements_for(project.ws, "helpdesk")
    summary_sha = {
        e.sha256 for e in list_evidence(project.ws, system="helpdesk") if e.name.endswith("/summary.json")
    }
    by = {(m.source, m.metric, m.category, m.language): m for m in ms}
    assert by[("eval", "score", None, None)].value == 0.6
    assert by[("eval", "scorer:exact", None, None)].value == 0.6
    assert by[("eval", "score", "billing", None)].value == 0.8
    assert by[("eval", "scorer:exact", "outages", None)].value == 0.4
    assert by[("eval", "score", None, "zh")].n == 5
    assert by[("redteam", "asr", None, None)].value == 0.5
    assert by[("redteam", "asr", "theft", None)].value == 1.0
    assert by[("eval", "score", None, None)].evidence_sha256 in summary_sha
    asr = by[("redteam", "asr", None, None)]
    assert asr.evidence_sha256 in {e.sha256 for e in list_evidence(project.ws, kind="redteam.run")}
    assert all(m.run_id and m.target == "mock" for m in ms)


def test_grades_and_risk_tier_under_a_pack(project: Project) -> None:
    p = pack(
        risk_tiers=[{"id": "red-means-high", "tier": "high", "any_red": True, "oversight": "a human reviews"}]
    )
    d = build_disclosure(project.ws, project.manifest, pack=p, today=TODAY)
    grades = {g.rule_id: g for g in d.grades}
    assert grades["qa-score"].status == "red"  # 0.6 with its interval wholly below 0.95
    assert grades["rt-asr"].status == "inconclusive"  # 2 judged: the interval spans every band
    assert grades["billing"].status == "inconclusive"
    assert d.risks.red_grades == ["qa-score"]
    assert (
        d.policy is not None and d.policy.risk_tier == "high" and d.policy.risk_tier_rule == "red-means-high"
    )
    assert {k: n for k, n in d.policy.counts.items() if n} == {"inconclusive": 2, "red": 1}
    # per-language rows are shown on the label but never graded as if they were the whole suite
    assert len([g for g in d.grades if g.rule_id == "qa-score"]) == 1
    assert d.completeness.score == 1.0 and d.completeness.missing == []


def test_an_area_with_no_source_is_not_disclosed_and_lowers_completeness(bare_project: Project) -> None:
    data = bare_project.manifest.model_dump(by_alias=True)
    data.pop("disclosure")
    data["provenance"] = None
    bare = Manifest.model_validate(data)
    d = build_disclosure(bare_project.ws, bare, pack=pack(), today=TODAY)
    missing = {"evaluation", "risks", "user_data", "provenance", "reporting", "infrastructure"}
    assert set(d.completeness.missing) == missing
    assert d.completeness.score == pytest.approx((11 - len(missing)) / 11, abs=1e-4)
    for area in missing - {"infrastructure"}:
        a = getattr(d, area)
        assert a.status == "not_disclosed" and a.source == ""
    # training is undeclared, so the area is not disclosed; the hosting it does know is still shown
    assert d.infrastructure.source == "manifest: hosting components" and d.infrastructure.hosting
    assert d.reporting.incident_contact == "" and d.user_data.practices == []
    assert d.risks.known_limitations == [] and d.infrastructure.declared_training is None
    assert d.evaluation.suites == [] and d.infrastructure.assessment_footprint is None
    assert {g.status for g in d.grades} == {"not_measured"}
    # an area the pack does not require does not count against completeness
    lenient = build_disclosure(
        bare_project.ws, bare, pack=pack(required_areas=["identity", "intended_use"]), today=TODAY
    )
    assert lenient.completeness.score == 1.0 and lenient.user_data.status == "not_disclosed"


def test_newest_run_wins_and_footprints_add_up(project: Project) -> None:
    summary = _summary_record(project)
    fp = Footprint(cpu_seconds=2.0, energy_kwh=0.001, co2e_kg=0.0004, grid_factor_kg_per_kwh=0.4, method="m")
    later = {
        **summary,
        "run_id": "later-run",
        "finished_at": "2999-01-01T00:00:00Z",
        "score": 0.9,
        "footprint": fp.model_dump(mode="json"),
    }
    later["metrics"] = {**summary["metrics"], "rows": [dict(r, rate=0.9) for r in summary["metrics"]["rows"]]}
    record_evidence(
        project.ws,
        json.dumps(later).encode(),
        kind="eval.run",
        system="helpdesk",
        name="runs/later-run/summary.json",
    )
    other = {**later, "run_id": "other-run", "suite_id": "other", "footprint": fp.model_dump(mode="json")}
    record_evidence(
        project.ws,
        json.dumps(other).encode(),
        kind="eval.run",
        system="helpdesk",
        name="runs/other-run/summary.json",
    )
    d = build_disclosure(project.ws, project.manifest, pack=None, today=TODAY)
    qa = next(s for s in d.evaluation.suites if s.suite_id == "qa")
    assert qa.score == 0.9
    assert {m.run_id for m in d.measurements if m.suite == "qa"} == {"later-run"}
    total = d.infrastructure.assessment_footprint
    # the newest run of each suite counts (runs now record their own footprint too): the superseded
    # qa run is left out, the two planted ones are in
    from assay.label.measure import newest_runs

    counted = [
        r.summary["footprint"] for r in newest_runs(project.ws, "helpdesk") if r.summary.get("footprint")
    ]
    assert total is not None and total.parts == len(counted) >= 2
    assert total.energy_kwh == pytest.approx(sum(f["energy_kwh"] for f in counted))
    assert total.energy_kwh >= 0.002 and total.cpu_seconds >= 4.0
    assert "later-run" in {r.summary["run_id"] for r in newest_runs(project.ws, "helpdesk")}
    assert "evidence: run footprints" in d.infrastructure.source


def test_a_built_label_judged_again_under_a_pack_grades_each_rule_once(project: Project) -> None:
    """`assay policy check --label` judges the label's own measurements; its per-language rows must not
    be graded as if they were the whole suite."""
    from assay.policy.verdict import judge_label

    d = build_disclosure(project.ws, project.manifest, pack=None, today=TODAY)
    assert any(m.language for m in d.measurements)
    v = judge_label(pack(), d)
    assert sorted(g.rule_id for g in v.grades) == ["billing", "qa-score", "rt-asr"]
    assert next(g for g in v.grades if g.rule_id == "qa-score").value == 0.6
