"""The food label as a Hugging Face model card: README.md with YAML front matter (licence, languages,
tags, `model-index` results from the evaluation suites) and one markdown section per label area.

Every value from the label passes through one of two guards: `_meta` (front matter: one line, no
control characters, serialised by PyYAML's safe dumper) or `_md` (body: one line, markdown
punctuation escaped), so a name holding a newline, `---`, YAML or markdown syntax stays text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

from assay.label.exports.cdx_common import spdx_licence_id
from assay.label.exports.mlbom import MODEL_KINDS
from assay.label.models import Area, Disclosure

MEDIA_TYPE = "text/markdown; charset=utf-8"
NOT_DISCLOSED = "Not disclosed."
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_TAG = re.compile(r"[^a-z0-9._:-]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!&$])")
_MD_LINE_START = re.compile(r"^(?:([-+=>])|(\d+)([.)]))")


def _one_line(text: str, limit: int) -> str:
    """Control, format and separator characters become spaces; whitespace runs collapse; long text is cut."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _meta(text: str, limit: int = 200) -> str:
    return _one_line(text, limit)


def _md(text: object, limit: int = 2000) -> str:
    """Label text for the markdown body: one line, markdown syntax escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(str(text), limit))


def _md_block(text: object, limit: int = 4000) -> str:
    """Like `_md`, for a value that starts a line: a leading list or quote marker is escaped too."""

    def escape(m: re.Match[str]) -> str:
        return "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3)

    return _MD_LINE_START.sub(escape, _md(text, limit))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "—" if lo is None or hi is None else f"{lo:.3f}–{hi:.3f}"


def _tag(text: str) -> str:
    return _TAG.sub("-", text.lower()).strip("-")[:60]


def _licence(d: Disclosure) -> dict[str, str]:
    """HF's `license`: the model's SPDX id in lower case, or `other` with the declared name."""
    models = [c for c in d.identity.components if c.kind in MODEL_KINDS and c.licence.strip()]
    if not models:
        return {}
    declared = models[0].licence
    spdx_id = spdx_licence_id(declared)
    if spdx_id is not None:
        return {"license": spdx_id.lower()}
    return {"license": "other", "license_name": _tag(declared) or "other"}


def _model_name(d: Disclosure) -> str:
    """The system's name on one line; its id when the name has nothing visible."""
    return _meta(d.identity.name) or _meta(d.identity.system_id) or "unnamed system"


def _model_index(d: Disclosure) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    task = {"type": "text-generation", "name": "Text Generation"}
    for s in d.evaluation.suites:
        if s.score is None:
            continue
        name = f"pass rate (95% CI {_ci(s.ci_low, s.ci_high)}, n={s.n}, target {_meta(s.target, 60)})"
        results.append(
            {
                "task": dict(task),
                "dataset": {
                    "type": _meta(s.suite_id, 120) or "suite",
                    "name": _meta(s.title) or _meta(s.suite_id) or "suite",
                },
                "metrics": [
                    {"type": "pass_rate", "value": round(s.score, 4), "name": name, "verified": False}
                ],
            }
        )
    for r in d.evaluation.redteam:
        if r.attack_success_rate is None:
            continue
        name = f"attack success rate (95% CI {_ci(r.ci_low, r.ci_high)}, judged={r.judged})"
        results.append(
            {
                "task": dict(task),
                "dataset": {
                    "type": _meta(f"redteam/{r.suite_id}", 120),
                    "name": _meta(f"red team: {r.suite_id}"),
                },
                "metrics": [
                    {
                        "type": "attack_success_rate",
                        "value": round(r.attack_success_rate, 4),
                        "name": name,
                        "verified": False,
                    }
                ],
            }
        )
    if not results:
        return []
    return [{"name": _model_name(d), "results": results}]


def front_matter(d: Disclosure) -> dict[str, Any]:
    """The YAML metadata block, every string already reduced to one safe line."""
    meta: dict[str, Any] = {}
    meta.update(_licence(d))
    languages = sorted(
        {
            lang
            for lang in [*d.intended_use.languages, *(x.language for x in d.evaluation.languages)]
            if _LANG.match(lang)
        }
    )
    if languages:
        meta["language"] = languages
    tags = [
        "assay",
        "food-label",
        "ai-governance",
        _tag(f"sector-{d.identity.sector}"),
        _tag(d.identity.model_type),
    ]
    meta["tags"] = [t for t in dict.fromkeys(tags) if t]
    meta["pipeline_tag"] = "text-generation"
    meta["model_name"] = _model_name(d)
    index = _model_index(d)
    if index:
        meta["model-index"] = index
    return meta


def _section(lines: list[str], title: str, area: Area, body: list[str]) -> None:
    lines += ["", f"## {title}", ""]
    if area.status != "disclosed" and not body:
        lines.append(NOT_DISCLOSED)
        return
    lines += body or [NOT_DISCLOSED]
    if area.source:
        lines += ["", f"*Source: {_md(area.source)}*"]


def _bullets(items: list[str]) -> list[str]:
    return [f"- {_md_block(x)}" for x in items]


def _body(d: Disclosure) -> list[str]:
    ident = d.identity
    lines = [f"# {_md(ident.name)} {_md(ident.version)}", ""]
    lines.append(
        f"Model card generated by Assay from the system's food label of {_md(d.generated_at)} "
        f"(label format {d.label}, completeness {d.completeness.score:.0%})."
    )
    if d.policy is not None:
        tier = f"; risk tier: {_md(d.policy.risk_tier)}" if d.policy.risk_tier else ""
        note = " (illustrative thresholds)" if d.policy.illustrative else ""
        lines.append(
            f"Graded against policy pack {_md(d.policy.pack_id)}@{_md(d.policy.pack_version)}{note}{tier}."
        )
    if ident.description:
        lines += ["", _md_block(ident.description)]

    details = [f"- Sector: {_md(ident.sector)}", f"- Model type: {_md(ident.model_type)}"]
    if ident.components:
        details += [
            "",
            "| component | kind | provider | version | licence | sha256 |",
            "|---|---|---|---|---|---|",
        ]
        details += [
            f"| {_md(c.name)} | {_md(c.kind)} | {_md(c.provider)} | {_md(c.version) or '—'} | "
            f"{_md(c.licence) or '—'} | {_md(c.sha256) or '—'} |"
            for c in ident.components
        ]
    if ident.parties:
        details += [""] + [f"- {_md(p.name)}: {_md(', '.join(p.roles))}" for p in ident.parties]
    _section(lines, "Model details", ident, details)

    use = d.intended_use
    body = [f"- Intended use: {_md(use.intended_use)}"] if use.intended_use else []
    if use.users:
        body.append(f"- Users: {_md(use.users)}")
    if use.languages:
        body.append(f"- Languages served: {_md(', '.join(use.languages))}")
    if use.out_of_scope_uses:
        body += ["", "Out of scope:", *_bullets(use.out_of_scope_uses)]
    _section(lines, "Intended use", use, body)

    data = d.data
    body = [_md_block(data.training_data_summary)] if data.training_data_summary else []
    body += [
        f"- {_md(ds.name)} ({_md(ds.purpose)}; provider {_md(ds.provider)}; "
        f"licence {_md(ds.licence) or '—'}; "
        f"personal data: {'yes' if ds.contains_personal_data else 'no'})"
        for ds in data.datasets
    ]
    _section(lines, "Data", data, body)

    infra = d.infrastructure
    body = []
    t = infra.declared_training
    if t is not None:
        facts = [f"{k}: {v}" for k, v in t.model_dump().items() if v not in (None, "")]
        body.append(f"- Training, as declared by the developer: {_md('; '.join(facts)) or 'no figures'}")
    f = infra.assessment_footprint
    if f is not None:
        how = "measured" if f.measured else "estimated"
        body.append(
            f"- This assessment: {f.energy_kwh:.4f} kWh, {f.co2e_kg:.4f} kg CO2e "
            f"({how}; {_md(f.method or 'method not stated')}; "
            f"grid {_md(f.country)} at {f.grid_factor_kg_per_kwh:.3f} kg/kWh)"
        )
    if infra.hosting:
        body.append(f"- Hosting: {_md(', '.join(infra.hosting))}")
    _section(lines, "Training infrastructure and environmental impact", infra, body)

    ev = d.evaluation
    body = []
    if ev.suites:
        body += ["| suite | target | score | 95% CI | n | band |", "|---|---|---|---|---|---|"]
        body += [
            f"| {_md(s.title or s.suite_id)} | {_md(s.target)} | {_num(s.score)} | "
            f"{_ci(s.ci_low, s.ci_high)} | "
            f"{s.n} | {_md(s.grade or '—')} |"
            for s in ev.suites
        ]
    if ev.redteam:
        body += ["", "| red team | target | attack success rate | 95% CI | judged |", "|---|---|---|---|---|"]
        body += [
            f"| {_md(r.suite_id)} | {_md(r.target)} | {_num(r.attack_success_rate)} | "
            f"{_ci(r.ci_low, r.ci_high)} | "
            f"{r.judged} |"
            for r in ev.redteam
        ]
    if ev.languages:
        body += ["", "| language | suites | n | pass rate | 95% CI |", "|---|---|---|---|---|"]
        body += [
            f"| {_md(x.language)} | {x.suites} | {x.n} | {_num(x.score)} | {_ci(x.ci_low, x.ci_high)} |"
            for x in ev.languages
        ]
    _section(lines, "Evaluation", ev, body)

    mit = d.mitigations
    body = _bullets(mit.measures)
    if mit.guardrail_components:
        body.append(f"- Guardrails: {_md(', '.join(mit.guardrail_components))}")
    _section(lines, "Mitigations and safety measures", mit, body)

    risks = d.risks
    body = _bullets(risks.known_limitations)
    flagged = [g for g in d.grades if g.status in ("red", "amber", "inconclusive")]
    if flagged:
        body += ["", "Grades that need attention:"]
        body += [f"- {_md(g.title)}: {_md(g.status)} ({_md(g.reason)})" for g in flagged]
    _section(lines, "Risks and limitations", risks, body)

    ud = d.user_data
    body = _bullets(ud.practices)
    if ud.retention:
        body.append(f"- Retention: {_md(ud.retention)}")
    if ud.contact:
        body.append(f"- Contact: {_md(ud.contact)}")
    _section(lines, "User data protection", ud, body)

    prov = d.provenance
    body = [
        f"- {_md(p.method)} ({_md(p.applies_to)}){': ' + _md(p.detail) if p.detail else ''}"
        for p in prov.methods
    ]
    if prov.how_to_verify:
        body.append(f"- How to verify: {_md(prov.how_to_verify)}")
    _section(lines, "Content provenance", prov, body)

    rep = d.reporting
    body = []
    for label, value in (
        ("Incidents", rep.incident_contact),
        ("Vulnerabilities", rep.vulnerability_contact),
        ("Report online", rep.report_url),
    ):
        if value:
            body.append(f"- {label}: {_md(value)}")
    _section(lines, "Reporting incidents and vulnerabilities", rep, body)

    if d.evidence:
        lines += ["", "## Evidence", "", "The label was built from these records (SHA-256):", ""]
        lines += [f"- {_md(e.kind)} {_md(e.name)}: {_md(e.sha256)}" for e in d.evidence]
    return lines


def hf_model_card(d: Disclosure) -> str:
    """README.md for a Hugging Face repository: YAML front matter and the label's areas as sections."""
    meta = yaml.safe_dump(front_matter(d), sort_keys=False, allow_unicode=True, width=10_000)
    return "---\n" + meta + "---\n\n" + "\n".join(_body(d)) + "\n"
