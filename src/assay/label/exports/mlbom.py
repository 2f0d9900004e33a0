"""The food label as a CycloneDX 1.6 ML-BOM: the system's components, its datasets, and a `modelCard`
on each model component carrying the label's evaluation results (with confidence intervals), intended
use, limitations, risks and energy figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay.energy.models import DeclaredTraining, Footprint
from assay.label.exports.cdx_common import (
    bom_skeleton,
    licence_choice,
    organisation,
    prop,
    serial_number,
    sha256_hash,
    utc_time,
    validate_cyclonedx,
)
from assay.label.models import ComponentEntry, DatasetEntry, Disclosure
from assay.manifest.schema import ComponentKind, Manifest

# The manifest's component kinds as CycloneDX component types; hosting is a service, not a component.
MODEL_KINDS = frozenset({ComponentKind.foundation_model.value, ComponentKind.fine_tune.value})
CDX_TYPE = {
    ComponentKind.foundation_model.value: "machine-learning-model",
    ComponentKind.fine_tune.value: "machine-learning-model",
    ComponentKind.application.value: "application",
    ComponentKind.guardrail.value: "application",
    ComponentKind.retrieval_data.value: "data",
}
SERVICE_KINDS = frozenset({ComponentKind.hosting.value})
# Datasets that shaped or measured a model (retrieval data feeds the application, not the weights).
MODEL_DATA_PURPOSES = frozenset({"training", "fine-tuning", "evaluation"})


def component_ref(component_id: str) -> str:
    return f"component:{component_id}"


def dataset_ref(dataset_id: str) -> str:
    return f"dataset:{dataset_id}"


def system_ref(system_id: str) -> str:
    return f"system:{system_id}"


def _num(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"


def _metric(kind: str, value: float, lo: float | None, hi: float | None, slice_: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "value": _num(value), "slice": slice_}
    if lo is not None and hi is not None:
        out["confidenceInterval"] = {"lowerBound": _num(lo), "upperBound": _num(hi)}
    return out


def performance_metrics(d: Disclosure, targets: set[str] | None) -> list[dict[str, Any]]:
    """The label's measured results; `targets` limits them to the targets that exercise one model."""
    metrics = []
    for s in d.evaluation.suites:
        if s.score is None or (targets is not None and s.target not in targets):
            continue
        kind = f"pass rate: {s.title or s.suite_id} ({s.suite_id})"
        metrics.append(_metric(kind, s.score, s.ci_low, s.ci_high, f"target={s.target}; n={s.n}"))
    for r in d.evaluation.redteam:
        if r.attack_success_rate is None or (targets is not None and r.target not in targets):
            continue
        kind = f"red-team attack success rate ({r.suite_id})"
        slice_ = f"target={r.target}; judged={r.judged}; attacks={r.attacks}"
        metrics.append(_metric(kind, r.attack_success_rate, r.ci_low, r.ci_high, slice_))
    if targets is None:  # the per-language figures are over the whole system
        for lang in d.evaluation.languages:
            if lang.score is None:
                continue
            slice_ = f"language={lang.language}; suites={lang.suites}; n={lang.n}"
            metrics.append(_metric("pass rate by language", lang.score, lang.ci_low, lang.ci_high, slice_))
    return metrics


def _energy_provider(name: str, kwh: float) -> dict[str, Any]:
    return {
        "organization": {"name": name},
        "energySource": "unknown",
        "energyProvided": {"value": kwh, "unit": "kWh"},
    }


def _declared_training(t: DeclaredTraining) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    facts = [
        prop(f"training.{k}", v)
        for k, v in t.model_dump().items()
        if v not in (None, "") and k != "energy_kwh"
    ]
    if t.energy_kwh is None:  # the schema needs a figure; without one the facts stay properties
        return [], facts
    entry: dict[str, Any] = {
        "activity": "training",
        "energyProviders": [
            _energy_provider(
                f"electricity grid of {t.location}" if t.location else "not disclosed by the developer",
                t.energy_kwh,
            )
        ],
        "activityEnergyCost": {"value": t.energy_kwh, "unit": "kWh"},
        "properties": [prop("source", "declared by the model developer"), *facts],
    }
    if t.co2e_kg is not None:
        entry["co2CostEquivalent"] = {"value": t.co2e_kg / 1000.0, "unit": "tCO2eq"}
    return [entry], []


def _assessment(f: Footprint) -> dict[str, Any]:
    return {
        "activity": "validation",
        "energyProviders": [_energy_provider(f"electricity grid of {f.country}", f.energy_kwh)],
        "activityEnergyCost": {"value": f.energy_kwh, "unit": "kWh"},
        "co2CostEquivalent": {"value": f.co2e_kg / 1000.0, "unit": "tCO2eq"},
        "properties": [
            prop("source", "this assessment's evaluation and red-team runs"),
            prop("method", f.method or "not stated"),
            prop("measured", "measured" if f.measured else "estimated"),
            prop("cpu_seconds", _num(f.cpu_seconds)),
            prop("gpu_seconds", _num(f.gpu_seconds)),
            prop("grid_factor_kg_per_kwh", _num(f.grid_factor_kg_per_kwh)),
            prop("grid_factor_source", f.grid_factor_source or "not stated"),
        ],
    }


def environmental(d: Disclosure) -> dict[str, Any] | None:
    infra = d.infrastructure
    consumptions: list[dict[str, Any]] = []
    properties: list[dict[str, str]] = []
    if infra.declared_training is not None:
        entries, facts = _declared_training(infra.declared_training)
        consumptions += entries
        properties += facts
    if infra.assessment_footprint is not None:
        consumptions.append(_assessment(infra.assessment_footprint))
    if not consumptions and not properties:
        return None
    out: dict[str, Any] = {}
    if consumptions:
        out["energyConsumptions"] = consumptions
    if properties:
        out["properties"] = properties
    return out


def ethical_considerations(d: Disclosure) -> list[dict[str, str]]:
    """Risks the label found: grades that are not green, and personal data in the datasets; each with
    the mitigations the label discloses."""
    mitigation = "; ".join(d.mitigations.measures) or "none disclosed"
    risks = []
    for g in d.grades:
        if g.status in ("red", "amber", "inconclusive"):
            value = "not measured" if g.value is None else _num(g.value)
            name = (
                f"{g.title}: {g.status} under {g.pack_id}@{g.pack_version} rule {g.rule_id} (value {value})"
            )
            risks.append({"name": name, "mitigationStrategy": mitigation})
    practices = "; ".join(d.user_data.practices) or "none disclosed"
    for ds in d.data.datasets:
        if ds.contains_personal_data:
            risks.append({"name": f"personal data in dataset {ds.name}", "mitigationStrategy": practices})
    return risks


def model_card(
    d: Disclosure, component: ComponentEntry, targets: set[str] | None, dataset_ids: list[str]
) -> dict[str, Any]:
    card: dict[str, Any] = {"bom-ref": f"model-card:{component.id}"}
    params: dict[str, Any] = {
        # Assay assesses generative systems reached through a chat or completion interface
        "task": "text-generation",
        "inputs": [{"format": "text"}],
        "outputs": [{"format": "text"}],
    }
    if dataset_ids:
        params["datasets"] = [{"ref": dataset_ref(i)} for i in dataset_ids]
    card["modelParameters"] = params
    metrics = performance_metrics(d, targets)
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    use = d.intended_use
    considerations: dict[str, Any] = {}
    if use.users:
        considerations["users"] = [use.users]
    if use.intended_use:
        considerations["useCases"] = [use.intended_use]
    limits = list(d.risks.known_limitations) + [f"out of scope: {u}" for u in use.out_of_scope_uses]
    if limits:
        considerations["technicalLimitations"] = limits
    ethics = ethical_considerations(d)
    if ethics:
        considerations["ethicalConsiderations"] = ethics
    env = environmental(d)
    if env is not None:
        considerations["environmentalConsiderations"] = env
    if considerations:
        card["considerations"] = considerations
    return card


def _party_names(d: Disclosure) -> dict[str, str]:
    return {p.id: p.name for p in d.identity.parties}


def _component(c: ComponentEntry, parties: Mapping[str, str], card: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": CDX_TYPE.get(c.kind, "application"),
        "bom-ref": component_ref(c.id),
        "supplier": {"name": parties.get(c.provider, c.provider)},
        "name": c.name,
    }
    if c.version:
        out["version"] = c.version
    if c.sha256:
        out["hashes"] = [sha256_hash(c.sha256)]
    licences = licence_choice(c.licence)
    if licences:
        out["licenses"] = licences
    if card is not None:
        out["modelCard"] = card
    out["properties"] = [prop("component.id", c.id), prop("component.kind", c.kind)]
    return out


def _service(c: ComponentEntry, parties: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bom-ref": component_ref(c.id),
        "provider": {"name": parties.get(c.provider, c.provider)},
        "name": c.name,
    }
    if c.version:
        out["version"] = c.version
    licences = licence_choice(c.licence)
    if licences:
        out["licenses"] = licences
    out["properties"] = [prop("component.id", c.id), prop("component.kind", c.kind)]
    return out


def dataset_component(ds: DatasetEntry, supplier: str, sha256: str | None = None) -> dict[str, Any]:
    """A dataset as a CycloneDX `data` component (shared with the AI-BOM)."""
    data: dict[str, Any] = {"type": "dataset", "name": ds.name}
    data["governance"] = {"custodians": [{"organization": {"name": supplier}}]}
    if ds.contains_personal_data:
        data["sensitiveData"] = ["personal data"]
    out: dict[str, Any] = {
        "type": "data",
        "bom-ref": dataset_ref(ds.id),
        "supplier": {"name": supplier},
        "name": ds.name,
    }
    if sha256:
        out["hashes"] = [sha256_hash(sha256)]
    licences = licence_choice(ds.licence)
    if licences:
        out["licenses"] = licences
    out["data"] = [data]
    props = [
        prop("dataset.id", ds.id),
        prop("dataset.purpose", ds.purpose),
        prop("dataset.contains_personal_data", str(ds.contains_personal_data).lower()),
    ]
    if ds.data_card_sha256:
        props.append(prop("dataset.data_card_sha256", ds.data_card_sha256))
    out["properties"] = props
    return out


def _model_targets(
    d: Disclosure, model_ids: list[str], model_for_target: Mapping[str, str] | None
) -> dict[str, set[str] | None]:
    """Which targets' results belong on which model's card. With one model every result is its own
    (a target naming no component, or the application, still exercises that one model); with several,
    only the targets `model_for_target` maps to it (the manifest's `target.component`)."""
    if len(model_ids) == 1:
        return {model_ids[0]: None}
    mapping = dict(model_for_target or {})
    return {m: {t for t, c in mapping.items() if c == m} for m in model_ids}


def model_for_target(manifest: Manifest) -> dict[str, str]:
    """target id → component id from the manifest's `targets[].component`, for `cyclonedx_mlbom`."""
    return {t.id: t.component for t in manifest.targets if t.component}


def cyclonedx_mlbom(d: Disclosure, model_for_target: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The label as a CycloneDX 1.6 ML-BOM, validated against the official schema before it is returned.

    `model_for_target` maps target ids to component ids (from the manifest); it is needed only when the
    system has more than one model component, to put each result on the right model card.
    """
    ident = d.identity
    parties = _party_names(d)
    when = utc_time(d.generated_at)
    bom = bom_skeleton(serial_number("label", ident.system_id, ident.version, when), when)
    deployer = next((p for p in ident.parties if "application_deployer" in p.roles), None)
    system: dict[str, Any] = {
        "type": "application",
        "bom-ref": system_ref(ident.system_id),
        "name": ident.name,
        "version": ident.version,
    }
    if deployer is not None:
        system["supplier"] = {"name": deployer.name}
    if ident.description:
        system["description"] = ident.description
    bom["metadata"]["component"] = system
    if deployer is not None:
        bom["metadata"]["supplier"] = organisation(deployer.name)
    meta_props = [
        prop("label.format", d.label),
        prop("system.sector", ident.sector),
        prop("system.model_type", ident.model_type),
        prop("label.completeness", _num(d.completeness.score)),
    ]
    if d.policy is not None:
        meta_props.append(prop("policy.pack", f"{d.policy.pack_id}@{d.policy.pack_version}"))
        if d.policy.risk_tier:
            meta_props.append(prop("policy.risk_tier", d.policy.risk_tier))
    if d.chain_head:
        meta_props.append(prop("evidence.chain_head", d.chain_head))
    bom["metadata"]["properties"] = meta_props

    model_ids = [c.id for c in ident.components if c.kind in MODEL_KINDS]
    per_model = _model_targets(d, model_ids, model_for_target)
    model_data = [ds.id for ds in d.data.datasets if ds.purpose in MODEL_DATA_PURPOSES]
    components: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for c in ident.components:
        if c.kind in SERVICE_KINDS:
            services.append(_service(c, parties))
            continue
        card = model_card(d, c, per_model[c.id], model_data) if c.id in per_model else None
        components.append(_component(c, parties, card))
    components += [dataset_component(ds, parties.get(ds.provider, ds.provider)) for ds in d.data.datasets]
    if components:
        bom["components"] = components
    if services:
        bom["services"] = services
    refs = [x["bom-ref"] for x in components + services]
    deps = [{"ref": system_ref(ident.system_id), "dependsOn": refs}] if refs else []
    deps += [{"ref": r} for r in refs]
    if deps:
        bom["dependencies"] = deps
    return validate_cyclonedx(bom, "the label's CycloneDX 1.6 ML-BOM")
