"""Two labels to render: a realistic complete one (the example help-desk assistant, every grade status
present, all four languages tested) and a sparse one where several required areas are not disclosed."""

from __future__ import annotations

from typing import Any

import pytest

from assay.energy.models import DeclaredTraining, Footprint
from assay.label.models import Disclosure

PACK = ("baseline", "2026.1")
CHAIN_HEAD = "helpdesk:42:" + "9f" * 32


def _grade(rule: str, title: str, status: str, suite: str, value: float | None, lo: float | None,
           hi: float | None, n: int, reason: str, *, metric: str = "score", lower: bool = False,
           green: float = 0.95, amber: float = 0.8, category: str | None = None,
           ) -> dict[str, Any]:  # fmt: skip
    return {
        "rule_id": rule, "pack_id": PACK[0], "pack_version": PACK[1], "title": title, "status": status,
        "suite": suite, "metric": metric, "category": category, "target": "helpdesk-llm",
        "direction": "lower_is_better" if lower else "higher_is_better", "green": green, "amber": amber,
        "value": value, "ci_low": lo, "ci_high": hi, "n": n, "reason": reason,
        "evidence_sha256": "ab" * 32, "controls": ["MGF-3.2"],
    }  # fmt: skip


def complete_data() -> dict[str, Any]:
    """A label the way `assay label build` makes one for the example system, every area disclosed."""
    grades = [
        _grade("refusal.harmful", "Refuses harmful requests", "green", "harmful-refusal", 0.972, 0.951,
               0.985, 400, "0.972 and its whole interval are at or above green (0.95)."),
        _grade("refusal.over", "Does not over-refuse benign requests", "amber", "over-refusal", 0.061,
               0.041, 0.078, 300, "0.061 is between green (0.05) and amber (0.10).", lower=True,
               green=0.05, amber=0.1),
        _grade("redteam.asr", "Red-team attack success rate", "red", "jailbreak-seeds", 0.21, 0.16, 0.27,
               220, "0.21 is above amber (0.10): more attacks succeed than the pack allows.",
               metric="asr", lower=True, green=0.05, amber=0.1),
        _grade("pii.leakage", "Leaks no personal data", "inconclusive", "pii-leakage", 0.94, 0.9, 0.97,
               150, "The interval 0.90–0.97 straddles green (0.95): more samples are needed."),
        _grade("factuality.ms", "Factual answers in Bahasa Melayu", "not_measured", "factuality",
               None, None, None, 0, "No run of suite 'factuality' measured category 'ms'.",
               category="ms"),
    ]  # fmt: skip
    return {
        "label": 1,
        "generated_at": "2026-12-04T09:30:00Z",
        "assay_version": "0.1.0",
        "identity": {
            "status": "disclosed",
            "source": "manifest: system",
            "system_id": "helpdesk",
            "name": "Helpdesk assistant",
            "version": "1.4.0",
            "description": "Answers customers' questions about their broadband plans and bills.",
            "sector": "telecommunications",
            "model_type": "llm",
            "parties": [
                {"id": "acme", "name": "Acme Telco Pte Ltd", "roles": ["deployer"], "jurisdiction": "SG"},
                {"id": "modelco", "name": "ModelCo", "roles": ["model_developer"], "jurisdiction": "US"},
                {"id": "cloudco", "name": "CloudCo", "roles": ["cloud_provider"], "jurisdiction": "SG"},
            ],
            "components": [
                {
                    "id": "llm",
                    "name": "helpdesk-llm",
                    "kind": "model",
                    "provider": "modelco",
                    "version": "3.1",
                    "licence": "proprietary",
                },
                {"id": "guard", "name": "prompt-guard", "kind": "guardrail", "provider": "acme"},
            ],
        },  # fmt: skip
        "accountability": {
            "status": "disclosed",
            "source": "registry: raci + safety net",
            "risk_areas": 12,
            "gaps": ["model-drift"],
            "conflicts": [],
            "covered_risk_areas": ["data-breach", "harmful-output"],
            "uncovered_risk_areas": ["model-drift"],
            "expiring": ["cyber insurance (2027-01-15)"],
        },
        "data": {
            "status": "disclosed",
            "source": "manifest: datasets",
            "training_data_summary": "Public web text and licensed books up to 2025-06, per ModelCo.",
            "datasets": [
                {
                    "id": "faq",
                    "name": "Broadband FAQ",
                    "provider": "acme",
                    "purpose": "retrieval",
                    "licence": "internal",
                },
                {
                    "id": "tickets",
                    "name": "Support tickets 2025",
                    "provider": "acme",
                    "purpose": "fine-tuning",
                    "contains_personal_data": True,
                },
            ],
        },  # fmt: skip
        "infrastructure": {
            "status": "disclosed",
            "source": "manifest: training; evidence: eval.run footprints",
            "declared_training": DeclaredTraining(
                compute="3.1e22 FLOP",
                hardware="512 × H100 for 21 days",
                energy_kwh=412000.0,
                co2e_kg=168000.0,
                location="Oregon, US",
                source="https://modelco.example/model-card",
            ).model_dump(),
            "assessment_footprint": Footprint(
                cpu_seconds=1834.2,
                gpu_seconds=0.0,
                wall_seconds=960.0,
                energy_kwh=0.0213,
                co2e_kg=0.00869,
                country="SGP",
                grid_factor_kg_per_kwh=0.408,
                grid_factor_source="EMA Singapore grid emission factor 2024",
                method="codecarbon offline, TDP × CPU time",
                measured=False,
                parts=7,
            ).model_dump(),
            "hosting": ["CloudCo Singapore region (ap-southeast-1)"],
        },  # fmt: skip
        "evaluation": {
            "status": "disclosed",
            "source": "evidence: eval.run, redteam.run",
            "suites": [
                {
                    "suite_id": "harmful-refusal",
                    "title": "Harmful-request refusal",
                    "target": "helpdesk-llm",
                    "score": 0.972,
                    "ci_low": 0.951,
                    "ci_high": 0.985,
                    "n": 400,
                    "grade": "A",
                    "languages": ["en", "zh", "ms", "ta"],
                },
                {
                    "suite_id": "over-refusal",
                    "title": "Over-refusal",
                    "target": "helpdesk-llm",
                    "score": 0.939,
                    "ci_low": 0.922,
                    "ci_high": 0.959,
                    "n": 300,
                    "grade": "B",
                    "languages": ["en"],
                },
                {
                    "suite_id": "pii-leakage",
                    "title": "PII leakage",
                    "target": "helpdesk-llm",
                    "score": 0.94,
                    "ci_low": 0.9,
                    "ci_high": 0.97,
                    "n": 150,
                    "grade": "B",
                    "languages": ["en", "zh"],
                },
            ],
            "redteam": [
                {
                    "suite_id": "jailbreak-seeds",
                    "target": "helpdesk-llm",
                    "attack_success_rate": 0.21,
                    "ci_low": 0.16,
                    "ci_high": 0.27,
                    "judged": 220,
                    "attacks": 224,
                },
            ],
            "languages": [
                {"language": "en", "suites": 3, "n": 550, "score": 0.955, "ci_low": 0.936, "ci_high": 0.969},
                {"language": "zh", "suites": 2, "n": 200, "score": 0.93, "ci_low": 0.89, "ci_high": 0.96},
                {"language": "ms", "suites": 1, "n": 100, "score": 0.91, "ci_low": 0.84, "ci_high": 0.95},
                {"language": "ta", "suites": 1, "n": 100, "score": 0.86, "ci_low": 0.78, "ci_high": 0.91},
            ],
        },  # fmt: skip
        "mitigations": {
            "status": "disclosed",
            "source": "manifest: mitigations",
            "measures": [
                "Input and output filtering for self-harm and violence",
                "Human hand-off for billing disputes",
                "Rate limiting per customer",
            ],
            "guardrail_components": ["prompt-guard"],
        },  # fmt: skip
        "risks": {
            "status": "disclosed",
            "source": "manifest: known_limitations; grades",
            "known_limitations": ["May state outdated plan prices", "Weaker in Tamil than in English"],
            "red_grades": ["redteam.asr"],
        },
        "intended_use": {
            "status": "disclosed",
            "source": "manifest: system.intended_use",
            "intended_use": "Answer account and plan questions for existing residential customers.",
            "out_of_scope_uses": ["Legal or financial advice", "Decisions on credit or disconnection"],
            "users": "Residential customers, 18+",
            "languages": ["en", "zh", "ms", "ta"],
        },
        "user_data": {
            "status": "disclosed",
            "source": "manifest: data_protection",
            "practices": ["Chats pseudonymised before logging", "No training on customer chats"],
            "retention": "30 days",
            "contact": "dpo@acme.example",
        },
        "provenance": {
            "status": "disclosed",
            "source": "manifest: provenance; evidence: provenance.mark",
            "methods": [
                {"method": "kgw-watermark", "applies_to": "text", "detail": "green-list, γ=0.25"},
                {"method": "C2PA text manifest (sidecar)", "applies_to": "text"},
            ],
            "how_to_verify": "Paste the text into the public /verify page, or run: assay verify FILE",
            "marked_outputs": 1280,
        },  # fmt: skip
        "reporting": {
            "status": "disclosed",
            "source": "manifest: reporting",
            "incident_contact": "incidents@acme.example",
            "vulnerability_contact": "security@acme.example",
            "report_url": "https://acme.example/ai-report",
        },
        "policy": {
            "pack_id": PACK[0],
            "pack_version": PACK[1],
            "lineage": ["baseline@2026.1"],
            "illustrative": True,
            "risk_tier": "elevated",
            "risk_tier_rule": "tier.any-red",
            "risk_tier_reason": "Rule redteam.asr is red.",
            "oversight": "Quarterly independent red-teaming and a named senior accountable officer.",
            "counts": {"green": 1, "amber": 1, "red": 1, "inconclusive": 1, "not_measured": 1},
        },  # fmt: skip
        "measurements": [],
        "grades": grades,
        "completeness": {
            "score": 1.0,
            "required": [
                "identity",
                "data",
                "infrastructure",
                "evaluation",
                "mitigations",
                "risks",
                "intended_use",
                "user_data",
                "provenance",
                "reporting",
            ],
            "missing": [],
        },  # fmt: skip
        "evidence": [
            {"evidence_id": f"ev{i}", "sha256": f"{i:02x}" * 32, "kind": k}
            for i, k in enumerate(["registry.raci", "eval.run", "eval.run", "eval.run", "redteam.run"])
        ],
        "chain_head": CHAIN_HEAD,
    }


def sparse_data() -> dict[str, Any]:
    """The same system with data, infrastructure, user data, provenance and reporting not disclosed,
    no red-team run, no language tags and no declared training."""
    data = complete_data()
    for area in ("data", "infrastructure", "user_data", "provenance", "reporting", "mitigations"):
        data[area] = {"status": "not_disclosed", "source": ""}
    data["evaluation"]["redteam"] = []
    data["evaluation"]["languages"] = []
    data["accountability"] = {"status": "not_disclosed"}
    data["policy"]["illustrative"] = False
    data["policy"]["risk_tier"] = None
    data["policy"]["risk_tier_rule"] = None
    data["policy"]["oversight"] = ""
    data["policy"]["counts"] = {"green": 1}
    data["grades"] = data["grades"][:1]
    data["risks"]["red_grades"] = []
    required = data["completeness"]["required"]
    missing = ["data", "infrastructure", "user_data", "provenance", "reporting", "mitigations"]
    data["completeness"] = {"score": (len(required) - len(missing)) / len(required), "required": required,
                            "missing": missing}  # fmt: skip
    return data


@pytest.fixture
def complete() -> Disclosure:
    return Disclosure.model_validate(complete_data())


@pytest.fixture
def sparse() -> Disclosure:
    return Disclosure.model_validate(sparse_data())
