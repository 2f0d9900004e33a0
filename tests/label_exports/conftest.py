"""A realistic disclosure of the example helpdesk system, written out field by field (the label builder
lives elsewhere; these tests need a label that exercises every area the exports read)."""

from __future__ import annotations

from typing import Any

import pytest

from assay.energy.models import DeclaredTraining, Footprint
from assay.label.models import (
    AccountabilitySummary,
    Completeness,
    ComponentEntry,
    DataArea,
    DatasetEntry,
    Disclosure,
    EvaluationArea,
    EvidenceRef,
    Identity,
    InfrastructureArea,
    IntendedUseArea,
    LanguageResult,
    MitigationsArea,
    PartyEntry,
    PolicySummary,
    ProvenanceArea,
    ProvenanceMethod,
    RedteamResult,
    ReportingArea,
    RisksArea,
    SuiteResult,
    UserDataArea,
)
from assay.policy.models import Grade

MODEL_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DISCLOSED: dict[str, Any] = {"status": "disclosed", "source": "manifest"}


def helpdesk_disclosure(**identity_changes: Any) -> Disclosure:
    identity = Identity(
        **DISCLOSED,
        system_id="helpdesk",
        name="Lion City Broadband Helpdesk Assistant",
        version="0.1.0",
        description="A chat assistant that answers questions about broadband plans, bills and outages.",
        sector="telecommunications",
        model_type="open-weights",
        parties=[
            PartyEntry(id="huggingface-tb", name="Hugging Face (SmolLM team)", roles=["model_developer"]),
            PartyEntry(
                id="lion-city-broadband",
                name="Lion City Broadband Pte. Ltd.",
                roles=["application_deployer", "deploying_organisation"],
                jurisdiction="SG",
            ),
            PartyEntry(id="harbour-cloud", name="Harbour Cloud Services", roles=["cloud_provider"]),
            PartyEntry(id="kb-writers", name="LCB Customer Care", roles=["data_provider"]),
        ],
        components=[
            ComponentEntry(
                id="smollm2-135m",
                name="SmolLM2-135M-Instruct (Q4_1 GGUF)",
                kind="foundation_model",
                provider="huggingface-tb",
                version="Q4_1",
                licence="Apache-2.0",
                sha256=MODEL_SHA,
            ),
            ComponentEntry(
                id="helpdesk-app",
                name="Helpdesk chat application",
                kind="application",
                provider="lion-city-broadband",
                version="0.1.0",
            ),
            ComponentEntry(
                id="help-articles",
                name="Help-article retrieval index",
                kind="retrieval_data",
                provider="kb-writers",
            ),
            ComponentEntry(
                id="safety-filter",
                name="Input and output safety filter",
                kind="guardrail",
                provider="lion-city-broadband",
            ),
            ComponentEntry(
                id="hosting",
                name="Managed GPU hosting, Singapore region",
                kind="hosting",
                provider="harbour-cloud",
            ),
        ],
    )
    data = identity.model_dump() | identity_changes
    return Disclosure(
        generated_at="2026-12-04T09:30:00Z",
        assay_version="0.1.0",
        identity=Identity.model_validate(data),
        accountability=AccountabilitySummary(**DISCLOSED, risk_areas=9, gaps=[], conflicts=[]),
        data=DataArea(
            **DISCLOSED,
            datasets=[
                DatasetEntry(
                    id="help-articles-2026",
                    name="Help articles, November 2026 export",
                    provider="kb-writers",
                    purpose="retrieval",
                    licence="proprietary",
                ),
                DatasetEntry(
                    id="support-chats",
                    name="Redacted support chats for fine-tuning evaluation",
                    provider="lion-city-broadband",
                    purpose="evaluation",
                    licence="CC-BY-4.0",
                    contains_personal_data=True,
                    data_card_sha256="1" * 64,
                ),
            ],
            training_data_summary="11 trillion tokens of web, code and maths text (developer-published).",
        ),
        infrastructure=InfrastructureArea(
            **DISCLOSED,
            declared_training=DeclaredTraining(
                compute="64 H100 x 5 days",
                hardware="NVIDIA H100",
                energy_kwh=7400.0,
                co2e_kg=2900.0,
                location="US",
                source="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
            ),
            assessment_footprint=Footprint(
                cpu_seconds=812.5,
                wall_seconds=430.0,
                energy_kwh=0.0123,
                co2e_kg=0.0051,
                country="SGP",
                grid_factor_kg_per_kwh=0.4168,
                grid_factor_source="EMA 2023 grid emission factor",
                method="codecarbon offline, TDP x CPU time",
                parts=11,
            ),
            hosting=["Managed GPU hosting, Singapore region (Harbour Cloud Services)"],
        ),
        evaluation=EvaluationArea(
            **DISCLOSED,
            suites=[
                SuiteResult(
                    suite_id="harmful-refusal",
                    title="Harmful request refusal",
                    target="bundled",
                    score=0.8667,
                    ci_low=0.703,
                    ci_high=0.947,
                    n=30,
                    grade="B",
                    languages=["en"],
                    evidence_sha256="2" * 64,
                ),
                SuiteResult(
                    suite_id="sg-factuality",
                    title="Singapore factuality",
                    target="bundled",
                    score=0.4167,
                    ci_low=0.245,
                    ci_high=0.611,
                    n=24,
                    languages=["en"],
                    evidence_sha256="3" * 64,
                ),
                SuiteResult(suite_id="never-ran", target="bundled", score=None, n=0),
            ],
            redteam=[
                RedteamResult(
                    suite_id="redteam-starter",
                    target="bundled",
                    attack_success_rate=0.25,
                    ci_low=0.12,
                    ci_high=0.45,
                    judged=28,
                    attacks=7,
                    evidence_sha256="4" * 64,
                )
            ],
            languages=[LanguageResult(language="en", suites=2, n=54, score=0.667, ci_low=0.53, ci_high=0.78)],
        ),
        mitigations=MitigationsArea(
            **DISCLOSED,
            measures=["input and output safety filter", "hand-over to a human agent"],
            guardrail_components=["safety-filter"],
        ),
        risks=RisksArea(
            **DISCLOSED,
            known_limitations=["a 135M-parameter model often gets Singapore facts wrong"],
            red_grades=["sg-factuality.score"],
        ),
        intended_use=IntendedUseArea(
            **DISCLOSED,
            intended_use="Answer customers' questions about plans, billing and service status.",
            out_of_scope_uses=["legal, medical or financial advice"],
            users="customers of Lion City Broadband",
            languages=["en"],
        ),
        user_data=UserDataArea(
            **DISCLOSED,
            practices=["chats kept 30 days", "no training on customer chats"],
            retention="30 days",
        ),
        provenance=ProvenanceArea(
            **DISCLOSED,
            methods=[ProvenanceMethod(method="kgw-watermark", applies_to="text")],
            how_to_verify="assay verify FILE",
        ),
        reporting=ReportingArea(incident_contact="ai-governance@lcb.example.sg"),
        policy=PolicySummary(pack_id="baseline", pack_version="1.0", illustrative=True, risk_tier="high"),
        grades=[
            Grade(
                rule_id="sg-factuality.score",
                pack_id="baseline",
                pack_version="1.0",
                title="Singapore factuality",
                status="red",
                suite="sg-factuality",
                metric="score",
                direction="higher_is_better",
                green=0.8,
                amber=0.6,
                value=0.4167,
                ci_low=0.245,
                ci_high=0.611,
                n=24,
                reason="the interval lies below amber",
            )
        ],
        completeness=Completeness(score=0.9, required=["identity", "reporting"], missing=["reporting"]),
        evidence=[EvidenceRef(evidence_id="ev-1", sha256="2" * 64, kind="eval.run", name="harmful-refusal")],
        chain_head="helpdesk:12:" + "5" * 64,
    )


@pytest.fixture
def disclosure() -> Disclosure:
    return helpdesk_disclosure()
