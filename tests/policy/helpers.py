"""Labels and measurements built in code, so policy tests do not depend on a full assessment run."""

from __future__ import annotations

from typing import Any, get_args

from assay.label.models import (
    AccountabilitySummary,
    Completeness,
    DataArea,
    Disclosure,
    EvaluationArea,
    Identity,
    InfrastructureArea,
    IntendedUseArea,
    MitigationsArea,
    ProvenanceArea,
    ReportingArea,
    RisksArea,
    UserDataArea,
)
from assay.policy.models import DisclosureArea, Measurement

AREAS: tuple[str, ...] = get_args(DisclosureArea)  # the label's areas, in order


def m(suite: str, value: float, lo: float | None = None, hi: float | None = None, **kw: Any) -> Measurement:
    """An eval measurement with a tight interval around `value` unless one is given."""
    lo = value - 0.005 if lo is None else lo
    hi = value + 0.005 if hi is None else hi
    return Measurement(
        source=kw.pop("source", "eval"),
        suite=suite,
        value=value,
        ci_low=max(0.0, lo),
        ci_high=min(1.0, hi),
        n=kw.pop("n", 200),
        target=kw.pop("target", "bundled"),
        **kw,
    )


def disclosure(
    *,
    sector: str = "telecommunications",
    model_type: str = "open-weights",
    undisclosed: tuple[str, ...] = (),
    measurements: list[Measurement] | None = None,
) -> Disclosure:
    def st(area: str) -> str:
        return "not_disclosed" if area in undisclosed else "disclosed"

    return Disclosure(
        generated_at="2026-12-04T00:00:00Z",
        assay_version="test",
        identity=Identity(
            status=st("identity"),
            system_id="helpdesk",
            name="Helpdesk [bold]assistant[/bold]",
            version="1",
            sector=sector,
            model_type=model_type,
        ),
        accountability=AccountabilitySummary(status=st("accountability")),
        data=DataArea(status=st("data")),
        infrastructure=InfrastructureArea(status=st("infrastructure")),
        evaluation=EvaluationArea(status=st("evaluation")),
        mitigations=MitigationsArea(status=st("mitigations")),
        risks=RisksArea(status=st("risks")),
        intended_use=IntendedUseArea(status=st("intended_use")),
        user_data=UserDataArea(status=st("user_data")),
        provenance=ProvenanceArea(status=st("provenance")),
        reporting=ReportingArea(status=st("reporting")),
        measurements=measurements or [],
        completeness=Completeness(score=1.0),
    )


def all_green() -> list[Measurement]:
    """A measurement for every baseline rule, comfortably green."""
    good = [
        m(s, 0.99)
        for s in (
            "harmful-refusal",
            "over-refusal",
            "multilingual-refusal",
            "prompt-injection",
            "system-prompt-leakage",
            "personal-data",
            "hallucination",
            "sg-factuality",
            "bias-pairs",
        )
    ]
    good.append(m("personal-data", 0.999, metric="scorer:pii"))
    good.append(m("redteam-starter", 0.0, 0.0, 0.01, source="redteam", metric="asr"))
    return good
