"""Build a system's disclosure (the food label) from its manifest, its registry and its newest evidence.

Each area is filled only from a named source: the manifest, the registry's allocation and safety net,
the signed runs, the provenance ledger. An area with no source is `not_disclosed` with nothing
invented, and a required one lowers the completeness score.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from assay import __version__
from assay.assurance.evidence import Evidence, list_evidence
from assay.energy.models import DeclaredTraining, Footprint
from assay.evals.metrics import wilson_interval
from assay.label.measure import (
    EVAL_KIND,
    NO_CATEGORY,
    REDTEAM_KIND,
    StoredRun,
    measurements_from,
    newest_runs,
)
from assay.label.models import (
    AccountabilitySummary,
    AreaStatus,
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
    ProvenanceArea,
    ProvenanceMethod,
    RedteamResult,
    ReportingArea,
    RisksArea,
    SuiteResult,
    UserDataArea,
)
from assay.label.verdict import decide
from assay.manifest.schema import Manifest
from assay.policy.models import Measurement, PolicyPack
from assay.workspace import Workspace

# Kinds a label never lists as its sources: the label itself and what is made after it (controls, index).
NOT_SOURCES = {"label.disclosure", "label.assessment", "label.locale", "assurance.report"}
EXPIRY_FLAGS = {"expired_cover", "expiring_soon"}
HOW_TO_VERIFY = (
    "Run `assay verify FILE` on a text or image, or upload it to the /verify page of the deployer's "
    "`assay serve`; a C2PA reader checks the signed sidecar manifests."
)


def _status(disclosed: bool) -> AreaStatus:
    return "disclosed" if disclosed else "not_disclosed"


def _sources(*parts: tuple[bool, str]) -> str:
    return "; ".join(text for present, text in parts if present)


def _identity(m: Manifest) -> Identity:
    s = m.system
    return Identity(
        status="disclosed",
        source="manifest: system, parties, components",
        system_id=s.id,
        name=s.name,
        version=s.version,
        description=s.description,
        sector=s.sector,
        model_type=s.model_type.value,
        parties=[
            PartyEntry(id=p.id, name=p.name, roles=[r.value for r in p.roles], jurisdiction=p.jurisdiction)
            for p in m.parties
        ],
        components=[
            ComponentEntry(
                id=c.id,
                name=c.name,
                kind=c.kind.value,
                provider=c.provider,
                version=c.version,
                licence=c.licence,
                sha256=(c.artifact.sha256 or "") if c.artifact else "",
            )
            for c in m.components
        ],
    )


def _accountability(m: Manifest, today: dt.date) -> AccountabilitySummary:
    from assay.registry import allocate, assess_safety_net

    matrix = allocate(m)
    net = assess_safety_net(m, today)
    live = [a for a in matrix.allocations if not a.not_applicable]
    areas = [a for a in net.areas if not a.not_applicable]
    return AccountabilitySummary(
        status="disclosed",
        source="registry: responsibility allocation (RACI) and safety net",
        risk_areas=len(live),
        gaps=[a.risk_area for a in live if a.accountable is None],
        conflicts=[f.message for f in matrix.flags if f.kind.value == "conflicting_claim"],
        covered_risk_areas=[a.risk_area for a in areas if a.covered],
        uncovered_risk_areas=[a.risk_area for a in areas if not a.covered],
        expiring=[f.message for f in net.flags if f.kind.value in EXPIRY_FLAGS],
    )


def _data_cards(ws: Workspace, system_id: str) -> dict[str, str]:
    """dataset id → sha256 of its newest data card (`data.card` evidence named data-card-ID.json)."""
    from assay.assurance.evidence import list_evidence

    cards: dict[str, str] = {}
    for ev in list_evidence(ws, system_id, kind="data.card", limit=100_000):
        name = ev.name.rsplit("/", 1)[-1]
        if name.startswith("data-card-") and name.endswith(".json"):
            cards[name.removeprefix("data-card-").removesuffix(".json")] = ev.sha256  # oldest first
    return cards


def _data(m: Manifest, cards: dict[str, str] | None = None) -> DataArea:
    cards = cards or {}
    summary = m.disclosure.training_data_summary if m.disclosure else ""
    return DataArea(
        status=_status(bool(m.datasets or summary.strip())),
        source=_sources(
            (bool(m.datasets), "manifest: datasets"),
            (bool(summary.strip()), "manifest: disclosure.training_data_summary"),
            (bool(cards), "evidence: data.card"),
        ),
        datasets=[
            DatasetEntry(
                id=d.id,
                name=d.name,
                provider=d.provider,
                purpose=d.purpose,
                licence=d.licence,
                contains_personal_data=d.contains_personal_data,
                data_card_sha256=cards.get(d.id, ""),
            )
            for d in m.datasets
        ],
        training_data_summary=summary,
    )


def _footprint(runs: list[StoredRun]) -> Footprint | None:
    """The assessment's own footprint: the runs' footprints added up (None when no run recorded one)."""
    total: Footprint | None = None
    for run in runs:
        raw = run.summary.get("footprint")
        if isinstance(raw, dict):
            try:
                fp = Footprint.model_validate(raw)
            except ValueError:
                continue
            total = fp if total is None else total + fp
    return total


def _infrastructure(m: Manifest, runs: list[StoredRun]) -> InfrastructureArea:
    declared = m.disclosure.training if m.disclosure else None
    training = DeclaredTraining(**declared.model_dump()) if declared is not None else None
    if training is not None and training == DeclaredTraining():
        training = None  # the starter's empty template declares nothing
    names = {p.id: p.name for p in m.parties}
    hosting = [f"{c.name} ({names.get(c.provider, c.provider)})" for c in m.components if c.kind == "hosting"]
    footprint = _footprint(runs)
    return InfrastructureArea(
        status=_status(training is not None),
        source=_sources(
            (training is not None, "manifest: disclosure.training (declared by the developer)"),
            (bool(hosting), "manifest: hosting components"),
            (footprint is not None, "evidence: run footprints"),
        ),
        declared_training=training,
        assessment_footprint=footprint,
        hosting=hosting,
    )


def _title(run: StoredRun) -> str:
    return run.summary_evidence.summary.removesuffix(f" on {run.target_id}: summary")


def _evaluation(runs: list[StoredRun]) -> EvaluationArea:
    suites: list[SuiteResult] = []
    redteam: list[RedteamResult] = []
    pooled: dict[str, list[int]] = {}  # language → [suites, k, n] over the primary scorer's rows
    for run in runs:
        if run.kind == REDTEAM_KIND:
            o = (run.asr or {}).get("overall") or {}
            redteam.append(
                RedteamResult(
                    suite_id=run.suite_id,
                    target=run.target_id,
                    attack_success_rate=o.get("rate"),
                    ci_low=o.get("ci_low"),
                    ci_high=o.get("ci_high"),
                    judged=int(o.get("judged") or 0),
                    attacks=len((run.asr or {}).get("by_attack") or []),
                    evidence_sha256=run.evidence_sha256,
                )
            )
            continue
        metrics = run.summary.get("metrics") or {}
        primary = metrics.get("primary_scorer")
        rows = [r for r in metrics.get("rows") or [] if r.get("scorer") == primary]
        overall = next((r for r in rows if r.get("group") == "overall"), {})
        langs = sorted(
            {r["key"] for r in rows if r.get("group") == "language" and r.get("key") != NO_CATEGORY}
        )
        for r in rows:
            if r.get("group") == "language" and r.get("key") in langs:
                acc = pooled.setdefault(r["key"], [0, 0, 0])
                acc[0] += 1
                acc[1] += int(r.get("k") or 0)
                acc[2] += int(r.get("n") or 0)
        suites.append(
            SuiteResult(
                suite_id=run.suite_id,
                title=_title(run),
                target=run.target_id,
                score=run.summary.get("score"),
                ci_low=overall.get("ci_low"),
                ci_high=overall.get("ci_high"),
                n=int(overall.get("n") or 0),
                grade=run.summary.get("grade"),
                languages=langs,
                evidence_sha256=run.evidence_sha256,
            )
        )
    languages = []
    for lang, (count, k, n) in sorted(pooled.items()):
        lo, hi = wilson_interval(k, n) if n else (None, None)
        languages.append(
            LanguageResult(
                language=lang, suites=count, n=n, score=k / n if n else None, ci_low=lo, ci_high=hi
            )
        )
    return EvaluationArea(
        status=_status(bool(runs)),
        source=_sources(
            (bool(suites), f"evidence: {EVAL_KIND} (newest run of each suite and target)"),
            (bool(redteam), f"evidence: {REDTEAM_KIND} (newest run of each seed set and target)"),
        ),
        suites=suites,
        redteam=redteam,
        languages=languages,
    )


def _mitigations(m: Manifest) -> MitigationsArea:
    measures = list(m.disclosure.mitigations) if m.disclosure else []
    guardrails = [c.name for c in m.components if c.kind == "guardrail"]
    return MitigationsArea(
        status=_status(bool(measures or guardrails)),
        source=_sources(
            (bool(measures), "manifest: disclosure.mitigations"),
            (bool(guardrails), "manifest: guardrail components"),
        ),
        measures=measures,
        guardrail_components=guardrails,
    )


def _risks(m: Manifest) -> RisksArea:
    limits = list(m.disclosure.known_limitations) if m.disclosure else []
    return RisksArea(
        status=_status(bool(limits)),
        source="manifest: disclosure.known_limitations" if limits else "",
        known_limitations=limits,
    )


def _intended_use(m: Manifest) -> IntendedUseArea:
    s = m.system
    return IntendedUseArea(
        status="disclosed",
        source="manifest: system.intended_use",
        intended_use=s.intended_use,
        out_of_scope_uses=list(s.out_of_scope_uses),
        users=s.users,
        languages=list(s.languages),
    )


def _user_data(m: Manifest) -> UserDataArea:
    u = m.disclosure.user_data if m.disclosure else None
    if u is None or not (u.practices or u.retention.strip()):
        return UserDataArea(contact=u.contact if u else "")
    return UserDataArea(
        status="disclosed",
        source="manifest: disclosure.user_data",
        practices=list(u.practices),
        retention=u.retention,
        contact=u.contact,
    )


def _provenance(ws: Workspace, m: Manifest) -> ProvenanceArea:
    from assay.provenance.ledger import list_entries

    p = m.provenance
    methods: list[ProvenanceMethod] = []
    if p is not None:
        wm = p.text_watermark
        if wm is not None and wm.enabled:
            methods.append(
                ProvenanceMethod(
                    method="kgw-watermark",
                    applies_to="text",
                    detail=f"keyed green-list watermark (gamma {wm.gamma}, delta {wm.delta})",
                )
            )
        if p.c2pa:
            methods.append(
                ProvenanceMethod(
                    method="c2pa text manifest (sidecar)", applies_to="text", detail="signed, in the ledger"
                )
            )
        if p.image_watermark:
            methods.append(ProvenanceMethod(method="image watermark", applies_to="image"))
    marked = len(list_entries(ws, system=m.system.id, limit=1_000_000))
    return ProvenanceArea(
        status=_status(bool(methods)),
        source=_sources((bool(methods), "manifest: provenance"), (marked > 0, "provenance ledger")),
        methods=methods,
        how_to_verify=HOW_TO_VERIFY if methods else "",
        marked_outputs=marked,
    )


def _reporting(m: Manifest) -> ReportingArea:
    r = m.disclosure.reporting if m.disclosure else None
    if r is None or not (r.incident_contact or r.vulnerability_contact or r.report_url):
        return ReportingArea()
    return ReportingArea(
        status="disclosed",
        source="manifest: disclosure.reporting",
        incident_contact=r.incident_contact,
        vulnerability_contact=r.vulnerability_contact,
        report_url=r.report_url,
    )


def _ref(ev: Evidence) -> EvidenceRef:
    return EvidenceRef(evidence_id=ev.id, sha256=ev.sha256, kind=ev.kind, name=ev.name)


def source_evidence(ws: Workspace, system_id: str, runs: list[StoredRun]) -> list[EvidenceRef]:
    """What the label was built from: the newest record of each other kind and name (manifest,
    inventory, RACI, marks …), and the summary (and ASR) records of the runs it read."""
    newest: dict[tuple[str, str], Evidence] = {}
    for ev in list_evidence(ws, system=system_id, limit=1_000_000):
        if ev.kind in NOT_SOURCES or ev.kind in (EVAL_KIND, REDTEAM_KIND):
            continue
        newest[(ev.kind, ev.name)] = ev  # listed oldest first, so the last one wins
    refs = [_ref(ev) for _, ev in sorted(newest.items())]
    for run in runs:
        refs.append(_ref(run.summary_evidence))
        if run.asr_evidence is not None:
            refs.append(_ref(run.asr_evidence))
    return refs


def build_disclosure(
    ws: Workspace,
    manifest: Manifest,
    *,
    pack: PolicyPack | None,
    today: dt.date | None = None,
    measurements: list[Measurement] | None = None,
) -> Disclosure:
    """The label of `manifest`'s system as the workspace stands now, graded under `pack` (None: no grades).

    `measurements` replaces what the stored runs say (to grade a label again under another pack)."""
    from assay.assurance.chain_check import current_head

    today = today or dt.date.today()
    system_id = manifest.system.id
    runs = newest_runs(ws, system_id)
    measured = measurements if measurements is not None else measurements_from(runs)
    areas = {
        "identity": _identity(manifest),
        "accountability": _accountability(manifest, today),
        "data": _data(manifest, _data_cards(ws, system_id)),
        "infrastructure": _infrastructure(manifest, runs),
        "evaluation": _evaluation(runs),
        "mitigations": _mitigations(manifest),
        "risks": _risks(manifest),
        "intended_use": _intended_use(manifest),
        "user_data": _user_data(manifest),
        "provenance": _provenance(ws, manifest),
        "reporting": _reporting(manifest),
    }
    status = {name: area.status for name, area in areas.items()}
    grades, policy, complete = decide(
        pack,
        measured,
        status,  # type: ignore[arg-type]
        sector=manifest.system.sector,
        model_type=manifest.system.model_type.value,
    )
    risks = areas["risks"]
    assert isinstance(risks, RisksArea)
    risks.red_grades = sorted({g.rule_id for g in grades if g.status == "red"})
    return Disclosure(
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        assay_version=__version__,
        **areas,  # type: ignore[arg-type]
        policy=policy,
        measurements=measured,
        grades=grades,
        completeness=complete,
        evidence=source_evidence(ws, system_id, runs),
        chain_head=current_head(ws, system_id).ref(),
    )


def label_path(manifest_path: Path, out_dir: Path | None = None) -> Path:
    """`out/label.json` beside the manifest (the folder `assay assess` writes to)."""
    return (out_dir or manifest_path.parent / "out") / "label.json"


def build_label(
    ws: Workspace,
    manifest: Manifest,
    base_dir: Path,
    *,
    pack_ref: object = None,
    today: dt.date | None = None,
) -> Disclosure:
    """The label as `assay label build` and `assay assess` make it: the pack named on the command line,
    else the manifest's `policy_pack`; the manifest file, with the stored responsibility overrides
    (made over the API too) when the system is registered. A pack that cannot be read raises
    PackInvalid."""
    from assay.label.verdict import resolve_pack
    from assay.registry.service import SystemNotFound, get_manifest

    try:  # the file says everything else; the store also has the overrides made over the API
        stored = get_manifest(ws, manifest.system.id)
        manifest = manifest.model_copy(update={"responsibility": stored.responsibility})
    except SystemNotFound:
        pass
    pack = resolve_pack(pack_ref if pack_ref is not None else manifest.policy_pack, base_dir)
    return build_disclosure(ws, manifest, pack=pack, today=today)
