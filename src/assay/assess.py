"""`assay assess`: run every activity a manifest names and write signed outputs.

Each step adds files to the output folder and records each as evidence. Later capabilities
(evaluations, label, provenance, incidents) add their steps to `STEPS`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from assay.assurance.assessment import (
    AssessmentFinding,
    AssessmentOutput,
    AssessmentRecord,
    AssessmentStep,
)
from assay.assurance.coverage import CoverageReport
from assay.assurance.evidence import Evidence, record_evidence
from assay.manifest import Manifest, load_manifest
from assay.store.blobs import atomic_write, sha256_bytes
from assay.workspace import Workspace


class AssessmentResult(BaseModel):
    system: str
    system_name: str
    out_dir: str
    index: str
    outputs: list[AssessmentOutput]
    errors: int
    warnings: int
    findings: list[AssessmentFinding] = []
    database: str
    workspace: str
    assessment_id: str = ""
    resumed_steps: list[str] = []
    chain_head: str = ""
    """SYSTEM:LENGTH:SHA256 of the evidence chain after the index was recorded and checkpointed."""


KILL_AFTER_WRITES_ENV = "ASSAY_TEST_KILL_AFTER_WRITES"


@dataclass
class AssessmentContext:
    """What the steps share: the manifest, the workspace, the output folder and what has been written."""

    manifest: Manifest
    manifest_path: Path
    ws: Workspace
    out_dir: Path
    today: dt.date
    outputs: list[AssessmentOutput] = field(default_factory=list)
    findings: list[AssessmentFinding] = field(default_factory=list)
    coverage: CoverageReport | None = None
    conformance: Any = None
    sub_progress: Callable[[int, int], None] | None = None
    step: str = ""

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def _written(self) -> None:
        """Fault injection for the kill-and-resume tests: `ASSAY_TEST_KILL_AFTER_WRITES=N` makes this
        process SIGKILL itself right after its N-th output is recorded (nothing else reads it)."""
        at = os.environ.get(KILL_AFTER_WRITES_ENV)
        if at and at.isdigit() and len(self.outputs) == int(at):
            os.kill(os.getpid(), signal.SIGKILL)

    def warn(self, message: str) -> None:
        """A warning the index lists under the step that raised it."""
        self.findings.append(AssessmentFinding(severity="warning", step=self.step, message=message))

    def error(self, message: str) -> None:
        self.findings.append(AssessmentFinding(severity="error", step=self.step, message=message))

    def write(self, name: str, content: bytes, *, kind: str, title: str, media_type: str) -> Evidence:
        """Write one output file atomically and record it as signed evidence."""
        atomic_write(self.out_dir / name, content)
        ev = record_evidence(
            self.ws,
            content,
            kind=kind,
            system=self.manifest.system.id,
            name=name,
            media_type=media_type,
            summary=title,
        )
        self.outputs.append(
            AssessmentOutput(
                name=name,
                path=str(self.out_dir / name),
                kind=kind,
                title=title,
                sha256=ev.sha256,
                evidence_id=ev.id,
            )
        )
        self._written()
        return ev

    def add_copy(self, name: str, source: Path, *, kind: str, title: str, evidence_id: str) -> None:
        """Copy a file that is already evidence (e.g. a run's report) into the outputs, without signing
        it twice: the output points at the existing record."""
        content = source.read_bytes()
        atomic_write(self.out_dir / name, content)
        self.outputs.append(
            AssessmentOutput(
                name=name,
                path=str(self.out_dir / name),
                kind=kind,
                title=title,
                sha256=sha256_bytes(content),
                evidence_id=evidence_id,
            )
        )
        self._written()

    def write_json(self, name: str, data: object, *, kind: str, title: str) -> Evidence:
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        return self.write(name, text.encode(), kind=kind, title=title, media_type="application/json")


Step = Callable[[AssessmentContext], None]


def _step_register(ctx: AssessmentContext) -> None:
    from assay.registry.service import register_system

    register_system(ctx.ws, ctx.manifest)
    ctx.write(
        "assay.yaml",
        ctx.manifest_path.read_bytes(),
        kind="manifest",
        title="The manifest this assessment ran on",
        media_type="application/yaml",
    )


def _step_inventory(ctx: AssessmentContext) -> None:
    from assay.registry.inventory import build_inventory

    inventory = build_inventory(ctx.manifest, ctx.manifest_path.parent)
    for c in inventory.components:
        if c.problem:
            ctx.warn(f"component {c.id}: {c.problem}")
    ctx.write_json(
        "inventory.json",
        inventory.model_dump(mode="json"),
        kind="registry.inventory",
        title="Component inventory with artifact hashes",
    )
    from assay.label.exports import write_ai_bom

    name, content, media_type = write_ai_bom(ctx.manifest, ctx.manifest_path.parent, inventory)
    ctx.write(
        name,
        content,
        kind="registry.inventory",
        title="AI bill of materials (CycloneDX 1.6): components, models, datasets, hashes, licences",
        media_type=media_type,
    )


MODEL_KINDS = ("foundation_model", "fine_tune")


def _step_scan_artifacts(ctx: AssessmentContext) -> None:
    """Look inside each component artifact the inventory can locate; a critical finding or a hash that
    differs from the declared one is an error, anything else found a warning."""
    from assay.security.artifacts import declared_artifacts, scan_artifacts

    declared = declared_artifacts(ctx.manifest, ctx.manifest_path.parent)
    reports = scan_artifacts(declared, root=str(ctx.manifest_path)).files
    for artifact, report in zip(declared, reports, strict=True):
        who = f"component {artifact.component}"
        not_a_model = report.format == "unknown" and artifact.kind not in MODEL_KINDS
        if report.error and not report.findings and not not_a_model:  # an app's tarball is no model file
            ctx.warn(f"{who}: artifact {artifact.path.name} could not be scanned: {report.error}")
        for f in report.findings:
            where = f" ({f.member + ', ' if f.member else ''}byte {f.offset})" if f.offset is not None else ""
            message = f"{who}: {f.severity} {f.kind} in {artifact.path.name}{where}: {f.message}"
            if f.severity == "critical" or f.kind == "hash-mismatch":
                ctx.error(message)
            else:
                ctx.warn(message)
    found = sum(len(r.findings) for r in reports)
    ctx.write_json(
        "security/artifacts.json",
        {"files": [r.model_dump(mode="json", by_alias=True) for r in reports], "findings": found},
        kind="security.scan",
        title=f"Model artifact scan: {len(reports)} file(s), {found} finding(s)",
    )


def _step_datasets(ctx: AssessmentContext) -> None:
    """Scan each manifest dataset that has a `path`: a data card (JSON and HTML) per dataset."""
    from assay.data import DataInputError
    from assay.data.service import CARD_KIND, card_html, card_stem, dataset_path, scan, suite_prompts

    base = ctx.manifest_path.parent
    datasets = [d for d in ctx.manifest.datasets if d.path]
    if not datasets:
        return
    prompts = suite_prompts(ctx.manifest, base)
    for p in prompts.problems:
        ctx.warn(p)
    for d in datasets:
        path = dataset_path(d, base)
        assert path is not None
        try:
            card, _ = scan(path, manifest=ctx.manifest, base_dir=base, dataset=d, prompts=prompts)
        except DataInputError as exc:
            ctx.error(f"dataset {d.id}: cannot be read: {exc}")
            continue
        for c in card.licence.conflicts:
            (ctx.error if c.severity == "error" else ctx.warn)(f"dataset {d.id}: licence: {c.message}")
        if card.personal_data and not d.contains_personal_data:
            kinds = ", ".join(f"{k} ×{v}" for k, v in sorted(card.personal_data.items()))
            ctx.warn(f"dataset {d.id}: declared without personal data, but holds {kinds}")
        if card.contamination.rows_matching:
            ctx.warn(
                f"dataset {d.id}: {card.contamination.rows_matching} row(s) match evaluation prompts "
                f"({', '.join(sorted(card.contamination.by_suite))}): scores on those suites may be inflated"
            )
        stem = card_stem(card)
        title = f"Data card: {d.name}"
        ctx.write_json(f"{stem}.json", card.model_dump(mode="json"), kind=CARD_KIND, title=title)
        ctx.write(
            f"{stem}.html",
            card_html(card).encode(),
            kind=CARD_KIND,
            title=f"Data card: {d.name} (HTML)",
            media_type="text/html",
        )


def _step_responsibility(ctx: AssessmentContext) -> None:
    from assay.registry import allocate, assess_safety_net, render_raci_html
    from assay.registry.models import Severity
    from assay.registry.service import get_manifest

    # The stored manifest carries overrides made through the API as well as the file's own.
    manifest = get_manifest(ctx.ws, ctx.manifest.system.id)
    matrix = allocate(manifest)
    net = assess_safety_net(manifest, ctx.today)
    flags = [*matrix.flags, *net.flags]
    for f in flags:
        if f.severity is Severity.error:
            ctx.error(f"{f.kind.value}: {f.message}")
        elif f.severity is Severity.warning:
            ctx.warn(f"{f.kind.value}: {f.message}")
    ctx.write_json(
        "raci.json",
        matrix.model_dump(mode="json"),
        kind="registry.raci",
        title="Responsibility (RACI) matrix",
    )
    ctx.write_json(
        "safety-net.json",
        net.model_dump(mode="json"),
        kind="registry.safety_net",
        title="Safety net: commitments, liability and insurance",
    )
    ctx.write(
        "raci.html",
        render_raci_html(matrix, net, manifest).encode(),
        kind="registry.raci",
        title="Responsibility allocation and safety net (HTML)",
        media_type="text/html",
    )


def _step_evaluations(ctx: AssessmentContext) -> None:
    """Run each suite the manifest names on each of its targets (the bundled model by default)."""
    import asyncio

    from assay.evals.runner import RunOptions
    from assay.evals.service import evaluate

    for ref in ctx.manifest.suites:
        for target_id in ref.targets or ["bundled"]:
            options = RunOptions(limit=ref.limit, sample=ref.sample, seed=ref.seed)
            outcome = asyncio.run(
                evaluate(
                    ctx.ws,
                    ref.suite,
                    target_id,
                    manifest=ctx.manifest,
                    base_dir=ctx.manifest_path.parent,
                    options=options,
                    progress=ctx.sub_progress,
                )
            )
            summary = outcome.summary
            score = f"{100 * summary.score:.0f}%" if summary.score is not None else "n/a"
            grade = summary.grade or "n/a"
            ctx.add_copy(
                f"evals/{summary.suite_id}-{target_id}.html",
                Path(outcome.report),
                kind="eval.run",
                title=f"Evaluation: {summary.suite_id} on {target_id} (score {score}, grade {grade})",
                evidence_id=outcome.evidence_ids[-1],
            )
            if summary.target_errors:
                ctx.warn(
                    f"evaluation {summary.suite_id} on {target_id}: {summary.target_errors} sample(s) got "
                    "no answer from the target (see the run report)"
                )


def _step_redteam(ctx: AssessmentContext) -> None:
    """Attack each target with seed prompts × attacks; the report carries the attack × category heatmap."""
    import asyncio

    from assay.evals.runner import RunOptions
    from assay.redteam.service import redteam

    for ref in ctx.manifest.redteam:
        for target_id in ref.targets or ["bundled"]:
            outcome = asyncio.run(
                redteam(
                    ctx.ws,
                    ref.seeds,
                    ref.attacks,
                    target_id,
                    manifest=ctx.manifest,
                    base_dir=ctx.manifest_path.parent,
                    attacker_id=ref.attacker,
                    judge_id=ref.judge,
                    budget=ref.budget,
                    max_queries=ref.max_queries,
                    options=RunOptions(limit=ref.limit, sample=ref.sample, seed=ref.seed),
                    progress=ctx.sub_progress,
                )
            )
            rate = outcome.asr.overall.rate
            title = f"Red team: {outcome.summary.suite_id} on {target_id} (attack success " + (
                f"{100 * rate:.0f}%)" if rate is not None else "n/a)"
            )
            ctx.add_copy(
                f"redteam/{outcome.summary.suite_id}-{target_id}.html",
                Path(outcome.report),
                kind="redteam.run",
                title=title,
                evidence_id=outcome.evidence_ids[-1],
            )
            if outcome.summary.target_errors:
                ctx.warn(
                    f"red team {outcome.summary.suite_id} on {target_id}: {outcome.summary.target_errors} "
                    "prompt(s) got no answer from the target (see the run report)"
                )


MARK_COUNT = 3  # answers the mark step generates
MARK_SEED = 0  # fixed, so a re-run or a third party's replay generates the same marked answers
MARK_ATTEMPTS = 4  # a low-entropy answer whose mark is too faint to detect is generated again
MARK_MAX_TOKENS = 80  # enough scored tokens for the watermark detector, short enough for a CPU
MARK_PROMPTS = [
    "What download speeds does the fibre plan give, and what does it cost each month?",
    "My internet has been slow since yesterday evening. What should I check first?",
    "How do I read my monthly bill, and when is the payment due?",
]


def _mark_prompts(ctx: AssessmentContext, n: int) -> list[str]:
    """A few of the system's own suite prompts (the first local suite file), else generic helpdesk ones."""
    import yaml

    from assay.yamlio import read_yaml_text, safe_load

    for ref in ctx.manifest.suites:
        path = ctx.manifest_path.parent / ref.suite
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            samples = (safe_load(read_yaml_text(path), file=str(path)) or {}).get("samples") or []
        except (OSError, yaml.YAMLError):
            continue
        prompts = [
            str(s["input"]) for s in samples if isinstance(s, dict) and isinstance(s.get("input"), str)
        ]
        if prompts:
            return prompts[:n]
    return MARK_PROMPTS[:n]


def _step_mark(ctx: AssessmentContext) -> None:
    """Mark generated outputs: the bundled target's answers are watermarked, signed, recorded in the
    ledger and then verified, so the assessment shows provenance working end to end.

    Runs only when the manifest has a `provenance` section; keys are created on first use."""
    import html

    settings = ctx.manifest.provenance
    if settings is None:
        return
    from assay.provenance.c2pa_keys import init_c2pa_chain
    from assay.provenance.keys import create_text_key, list_keys, load_text_key
    from assay.provenance.mark import generate_marked_text, mark_text
    from assay.provenance.text_watermark import WatermarkParams
    from assay.provenance.verify import verify_content

    system = ctx.manifest.system
    bundled = next((t for t in ctx.manifest.targets if t.kind == "bundled"), None)
    wm = settings.text_watermark
    marks = []
    watermarking = wm is not None and wm.enabled and bundled is not None
    units = (MARK_COUNT if watermarking else 0) + (1 if settings.c2pa else 0)
    total = 2 * units  # each output is made, then verified

    def tick(done: int) -> None:
        if ctx.sub_progress is not None and total:
            ctx.sub_progress(done, total)

    tick(0)
    if watermarking:
        assert wm is not None and bundled is not None
        key = (
            load_text_key(ctx.ws, wm.key_id)
            if wm.key_id
            else (load_text_key(ctx.ws) if list_keys(ctx.ws) else create_text_key(ctx.ws))
        )
        params = WatermarkParams(gamma=wm.gamma, delta=wm.delta, context_width=wm.context_width)
        marks += generate_marked_text(
            ctx.ws,
            _mark_prompts(ctx, MARK_COUNT),
            params=params,
            key_id=key.key_id,
            system=system.id,
            system_version=system.version,
            system_prompt=bundled.system_prompt,
            max_new_tokens=MARK_MAX_TOKENS,
            seed=MARK_SEED,  # an assessment re-runs the same way (a CLI `mark --generate` draws one)
            attempts=MARK_ATTEMPTS,
        )
        tick(len(marks))
    sidecars: dict[int, bytes] = {}
    if settings.c2pa:
        from assay.evals.bundled.engine import MODEL_NAME

        init_c2pa_chain(ctx.ws)
        source = marks[0].text if marks and marks[0].text else MARK_PROMPTS[0]
        generator = settings.generator_name or system.name
        # The answer came from the bundled target, so its model is the one signed; never "unknown".
        model = bundled.model if bundled is not None and bundled.model else MODEL_NAME
        result, marked, manifest = mark_text(
            ctx.ws, source, system=system.id, system_version=system.version, model=model, generator=generator
        )
        if manifest is not None:  # the sidecar form, which standard C2PA readers accept, is published
            name = f"provenance/output-{result.ledger_id}"
            ctx.write(
                f"{name}.txt",
                marked.encode("utf-8"),
                kind="provenance.mark",
                title=f"Signed output #{result.ledger_id} (its C2PA manifest is {name}.c2pa)",
                media_type="text/plain",
            )
            ctx.write(
                f"{name}.c2pa",
                manifest,
                kind="provenance.mark",
                title=f"C2PA manifest store (sidecar) for {name}.txt",
                media_type="application/c2pa",
            )
            sidecars[result.ledger_id] = manifest
            result = result.model_copy(update={"output_path": f"{name}.txt", "sidecar_path": f"{name}.c2pa"})
        marks.append(result)
        tick(len(marks))
    if not marks:
        ctx.warn(
            "provenance: nothing was marked (the text watermark needs a bundled target; enable c2pa to sign "
            "text from any target)"
        )
        return
    checks = []
    for m in marks:
        v = verify_content(
            ctx.ws,
            (m.text or "").encode("utf-8"),
            filename=f"output-{m.ledger_id}.txt",
            sidecar_manifest=sidecars.get(m.ledger_id),
        )
        checks.append(
            {"ledger_id": m.ledger_id, "method": m.method, "verification": v.model_dump(mode="json")}
        )
        tick(min(total, len(marks) + len(checks)))
        if v.verdict != "established":
            ctx.warn(f"provenance: marked output #{m.ledger_id} ({m.method}) verified as '{v.verdict}'")
    ctx.write_json(
        "provenance/marks.json",
        [m.model_dump(mode="json") for m in marks],
        kind="provenance.mark",
        title=f"Marked outputs: {len(marks)} generated answers watermarked/signed and recorded in the ledger",
    )
    ctx.write_json(
        "provenance/verification.json",
        checks,
        kind="provenance.verify",
        title="Verification of the marked outputs (JSON)",
    )
    rows = "".join(
        f"<tr><td>#{c['ledger_id']}</td><td>{html.escape(c['method'])}</td>"
        f"<td>{html.escape(c['verification']['headline'])}</td>"
        f"<td>{'<br>'.join(html.escape(s) for s in c['verification']['sentences'])}</td>"
        f"<td>{html.escape(c['verification']['confidence'])}</td></tr>"
        for c in checks
    )
    established = sum(c["verification"]["verdict"] == "established" for c in checks)
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Provenance verification</title>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem}"
        "td,th{border:1px solid #ccd;padding:.3rem .5rem;vertical-align:top}table{border-collapse:collapse}"
        "</style></head><body>"
        f"<h1>Provenance: {established} of {len(checks)} marked outputs verified</h1>"
        "<p>Each output the system generated here was marked (watermark, signed manifest) and recorded in "
        "the ledger, then checked with <code>assay verify</code>. A signed text's C2PA manifest is "
        "published beside it as a <code>.c2pa</code> sidecar, which standard C2PA readers check; it has no "
        "hard binding to the text and proves nothing once separated from it.</p>"
        "<table><tr><th>Ledger</th><th>Marked with</th><th>Verdict</th><th>Findings</th>"
        f"<th>Confidence</th></tr>{rows}</table></body></html>"
    )
    ctx.write(
        "provenance/verification.html",
        page.encode(),
        kind="provenance.verify",
        title=f"Provenance: {established} of {len(checks)} marked outputs verified",
        media_type="text/html",
    )


def _step_label(ctx: AssessmentContext) -> None:
    """Build the food label from the manifest, the registry and the evidence the steps before wrote,
    graded under the manifest's policy pack; a pack that cannot be read is an error and the label is
    written ungraded rather than not at all."""
    from assay.label.build import build_disclosure, build_label
    from assay.label.service import KIND as LABEL_KIND
    from assay.label.service import label_bytes, title
    from assay.policy.loader import PackInvalid

    try:
        disclosure = build_label(ctx.ws, ctx.manifest, ctx.manifest_path.parent, today=ctx.today)
    except PackInvalid as exc:  # validated before the steps ran, so only if the pack changed since
        problems = "; ".join(p.render() for p in exc.problems)
        ctx.error(f"policy pack: {problems} (the label is written ungraded)")
        disclosure = build_disclosure(ctx.ws, ctx.manifest, pack=None, today=ctx.today)
    for g in disclosure.grades:
        if g.status == "red":
            ctx.warn(f"label: {g.rule_id} is red{f' on {g.target}' if g.target else ''}: {g.reason}")
    for area in disclosure.completeness.missing:
        ctx.warn(f"label: required area '{area}' is not disclosed")
    _findings(ctx, disclosure)
    ctx.write(
        "label.json",
        label_bytes(disclosure),
        kind=LABEL_KIND,
        title=title(disclosure),
        media_type="application/json",
    )
    _label_files(ctx, disclosure)


def _pack_if_valid(ctx: AssessmentContext) -> Any:
    """The manifest's policy pack, or None when it names none or the pack does not load (the label
    step has reported that already, so later steps go on with the defaults)."""
    if ctx.manifest.policy_pack is None:
        return None
    from assay.policy.loader import PackInvalid, resolve_pack

    try:
        return resolve_pack(ctx.manifest.policy_pack, ctx.manifest_path.parent)
    except PackInvalid:
        return None


def _findings(ctx: AssessmentContext, disclosure: Any) -> None:
    """Red grades become incidents to triage (one per rule and target while it stays open)."""
    from assay.incidents.findings import open_findings
    from assay.incidents.service import IncidentError

    pack = _pack_if_valid(ctx)
    try:
        opened = open_findings(ctx.ws, ctx.manifest.system.id, disclosure.grades, policy=pack)
    except (IncidentError, ValueError) as exc:
        ctx.warn(f"findings: could not open incidents for the red grades: {exc}")
        return
    if opened:
        ctx.warn(f"findings: {len(opened)} incident(s) opened for red grades: {', '.join(opened)}")


LABEL_PRINT_ENV = "ASSAY_LABEL_PRINT"
"""`0` leaves out the label's PNG and PDF and the conformance report's PDF (printed by Chromium, ~20 s);
the test suite sets it except where it checks them. Without Chromium they are left out with a warning."""


def _label_files(ctx: AssessmentContext, disclosure: Any) -> None:
    """The label in every language (HTML), its badge, PNG and PDF, and its standard exports
    (CycloneDX ML-BOM, SPDX 3.0, Hugging Face model card), each recorded as evidence."""
    from assay.label.service import label_files

    printed = os.environ.get(LABEL_PRINT_ENV, "1") != "0"
    files, why = label_files(ctx.out_dir, disclosure, ctx.manifest, printed=printed)
    if why:
        ctx.warn(f"label: {why}")
    for f in files:
        ctx.write(
            f.name,
            f.content,
            kind=f.kind,
            title=_LABEL_TITLES.get(f.name, f"The food label ({f.name})"),
            media_type=f.media_type,
        )


_LABEL_TITLES = {
    "label.html": "The food label (HTML, English)",
    "label.zh.html": "The food label in Chinese (HTML)",
    "label.ms.html": "The food label in Malay (HTML)",
    "label.ta.html": "The food label in Tamil (HTML)",
    "badge.svg": "The label's badge for a README (SVG)",
    "label.png": "The food label as an image (PNG)",
    "label.pdf": "The food label, one page per language (PDF)",
    "label.cdx.json": "The label as a CycloneDX 1.6 ML-BOM with model cards",
    "label.spdx.json": "The label as SPDX 3.0.1 AI and Dataset packages",
    "MODEL_CARD.md": "The label as a Hugging Face model card",
}


def _step_incidents(ctx: AssessmentContext) -> None:
    """Dimension 4: the intake channels (incidents/channels.json), and when the system has incidents, its
    register with deadlines and the audit of every signed log (incidents/register.json); when any was
    disclosed, the advisories as their public Atom feed (incidents/advisories.atom). A broken log is an
    error; an overdue severe incident a warning."""
    from assay.incidents import assessment
    from assay.incidents.policy import IncidentsPolicyInvalid, incidents_policy

    system = ctx.manifest.system
    pack = _pack_if_valid(ctx)
    try:
        policy = incidents_policy(pack)
    except IncidentsPolicyInvalid as exc:
        ctx.error(f"incidents: the pack's incidents section: {exc}")
        return
    reporting = ctx.manifest.disclosure.reporting if ctx.manifest.disclosure else None
    contacts = [c for c in (reporting.incident_contact, reporting.vulnerability_contact, reporting.report_url)
                if c] if reporting else []  # fmt: skip
    ctx.write_json(
        "incidents/channels.json",
        assessment.channels(system.id, policy, contacts).model_dump(mode="json"),
        kind="incident.channel",
        title="Where users and researchers report incidents and vulnerabilities, and on what terms",
    )
    reg = assessment.register(ctx.ws, system.id, ctx.today, policy)
    if not reg.incidents:
        return
    ctx.write_json(
        "incidents/register.json",
        reg.model_dump(mode="json"),
        kind="incident.record",
        title=f"Incident register: {len(reg.incidents)} incidents, {reg.open} open, {reg.severe} severe",
    )
    for broken in reg.broken:
        ctx.error(f"incidents: the log of {broken.incident_id} is broken: {broken.problem}")
    overdue = [d.incident_id for d in reg.due if d.state == "overdue"]
    if overdue:
        ctx.warn(f"incidents: severe incidents overdue for the authority: {', '.join(overdue)}")
    from assay.registry.service import get_system

    items, feed = assessment.advisory_feed(
        ctx.ws, system.id, system.name, get_system(ctx.ws, system.id).created_at
    )
    if items:
        ctx.write(
            "incidents/advisories.atom",
            feed,
            kind="incident.report",
            title=f"Public incident advisories ({len(items)}) as an Atom feed",
            media_type="application/atom+xml",
        )


def _step_controls(ctx: AssessmentContext) -> None:
    """Which controls this assessment's outputs speak to (controls.json), then each control's status
    from all the system's current evidence, grades and attestations (conformance.json), the same as
    OSCAL (catalog.oscal.json, assessment-results.oscal.json) and as the report (conformance.html and,
    printed by Chromium, conformance.pdf)."""
    from assay.assurance.conformance import assess_controls
    from assay.assurance.coverage import control_coverage
    from assay.assurance.report import grades_evidence

    coverage = control_coverage({o.kind for o in ctx.outputs})
    ctx.coverage = coverage
    ctx.write_json(
        "controls.json",
        coverage.model_dump(mode="json"),
        kind="assurance.report",
        title="Framework controls and the evidence kinds this assessment produced for them",
    )
    pack = None
    if ctx.manifest.policy_pack is not None:
        from assay.policy.loader import PackInvalid, resolve_pack

        try:
            pack = resolve_pack(ctx.manifest.policy_pack, ctx.manifest_path.parent)
        except PackInvalid as exc:
            ctx.error(f"policy pack: {exc.problems[0].render() if exc.problems else exc}")
    system = ctx.manifest.system
    report = assess_controls(ctx.ws, system.id, pack=pack)
    ctx.conformance = report
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.counts.items() if n)
    ctx.write_json(
        "conformance.json",
        report.model_dump(mode="json"),
        kind="assurance.report",
        title=f"Conformance: each control met, partly met, not met or stale ({counts})",
    )
    files = {o.sha256: Path(o.path).relative_to(ctx.out_dir).as_posix() for o in ctx.outputs
             if Path(o.path).is_relative_to(ctx.out_dir)}  # fmt: skip
    grades = grades_evidence(ctx.ws, system.id)
    _oscal_files(ctx, report, files, grades)
    _conformance_report(ctx, report, files, grades)


def _oscal_files(ctx: AssessmentContext, report: Any, files: dict[str, str], grades: Any) -> None:
    """The catalog and this assessment as OSCAL JSON; without compliance-trestle, a warning instead."""
    from assay.assurance import oscal
    from assay.catalog import load_catalog

    try:
        catalog = oscal.catalog_document(load_catalog(), now=report.generated_at)
    except oscal.OscalUnavailable as exc:
        ctx.warn(f"conformance: no OSCAL files ({exc})")
        return
    ctx.write(
        "catalog.oscal.json",
        oscal.to_json(catalog),
        kind="assurance.report",
        title="The control catalog as an OSCAL 1.2 catalog",
        media_type="application/json",
    )
    plan = os.path.relpath(ctx.manifest_path.resolve(), ctx.out_dir).replace(os.sep, "/")
    results = oscal.results_document(
        report,
        system_name=ctx.manifest.system.name,
        plan_href=plan,
        catalog_href="catalog.oscal.json",
        files=files,
        grades=grades,
    )
    ctx.write(
        "assessment-results.oscal.json",
        oscal.to_json(results),
        kind="assurance.report",
        title="The control assessment as OSCAL 1.2 assessment-results (findings per control)",
        media_type="application/json",
    )


def _conformance_report(ctx: AssessmentContext, report: Any, files: dict[str, str], grades: Any) -> None:
    """The report page, and its PDF unless printing is off (ASSAY_LABEL_PRINT=0) or Chromium is missing."""
    from assay.assurance.report import print_report_pdf, report_page
    from assay.label.browser import ChromiumNotFound, RenderError

    system = ctx.manifest.system
    page = report_page(
        ctx.ws, report, system_name=system.name, version=system.version, files=files, grades=grades
    )
    ctx.write(
        "conformance.html",
        page.encode(),
        kind="assurance.report",
        title="Conformance report: by dimension, NIST AI RMF, ISO/IEC 42001 SoA, EU AI Act (HTML)",
        media_type="text/html",
    )
    if os.environ.get(LABEL_PRINT_ENV, "1") == "0":
        return
    pdf = ctx.out_dir / "conformance.pdf"
    try:
        print_report_pdf(page, pdf, title=f"Conformance: {system.name} {system.version}")
    except ChromiumNotFound as exc:
        ctx.warn(f"conformance: no PDF ({exc})")
        return
    except RenderError as exc:
        ctx.warn(f"conformance: printing failed, no PDF: {exc}")
        return
    ctx.write(
        "conformance.pdf",
        pdf.read_bytes(),
        kind="assurance.report",
        title="Conformance report (PDF)",
        media_type="application/pdf",
    )


STEPS: list[tuple[str, Step]] = [
    ("Register the system", _step_register),
    ("Inventory components", _step_inventory),
    ("Scan datasets", _step_datasets),
    ("Scan model artifacts", _step_scan_artifacts),
    ("Allocate responsibility", _step_responsibility),
    ("Run evaluation suites", _step_evaluations),
    ("Red-team the targets", _step_redteam),
    ("Mark generated outputs", _step_mark),
    ("Build the food label", _step_label),
    ("Review incidents", _step_incidents),
    ("Assess the framework's controls", _step_controls),
]


def clean_stale_temp_files(out_dir: Path) -> list[Path]:
    """Remove the temporary files an interrupted atomic write leaves (`.NAME.*.tmp`)."""
    removed = []
    if out_dir.is_dir():
        for tmp in out_dir.rglob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _reusable(step: AssessmentStep) -> bool:
    """A finished step is reused only while every file it wrote is still there, byte for byte."""
    from assay.store.blobs import sha256_file

    for o in step.outputs:
        path = Path(o.path)
        if not path.is_file() or sha256_file(path) != o.sha256:
            return False
    return True


def _reload_coverage(ctx: AssessmentContext) -> None:
    if ctx.coverage is None:
        path = ctx.out_dir / "controls.json"
        if any(o.name == "controls.json" for o in ctx.outputs) and path.is_file():
            ctx.coverage = CoverageReport.model_validate_json(path.read_text(encoding="utf-8"))


def assess(
    manifest_path: str | Path,
    out_dir: str | Path | None = None,
    *,
    ws: Workspace | None = None,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    sample_progress: Callable[[int, int], None] | None = None,
    resume: bool = True,
) -> AssessmentResult:
    """Validate first (nothing is written if the manifest is invalid), then run each step in order.

    The assessment is recorded as it goes: an unfinished one of the same manifest into the same folder
    (killed, interrupted, failed) is resumed, its finished steps reused while their files are intact."""
    from assay.assurance.chain_check import checkpoint, current_head
    from assay.report.index import render_index
    from assay.store import assessments as store

    path = Path(manifest_path)
    # Every suite and attack is loaded here, so a bad reference raises ManifestInvalid before anything
    # is stored; the database is opened next, so a bad ASSAY_DATABASE_URL fails before outputs exist.
    manifest = load_manifest(path, runnable=True)
    if path.is_dir():
        path = path / "assay.yaml"
    ws = ws or Workspace.for_manifest(path)
    _ = ws.db
    out = (Path(out_dir) if out_dir else path.parent / "out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(out)
    ctx = AssessmentContext(
        sub_progress=sample_progress,
        manifest=manifest,
        manifest_path=path,
        ws=ws,
        out_dir=out,
        today=today or dt.date.today(),
    )
    manifest_sha = sha256_bytes(path.read_bytes())
    with ws.db.write_session() as s:  # read-then-write: concurrent assesses take turns (SQLite)
        previous = (
            store.resumable_assessment(s, manifest.system.id, manifest_sha, str(out)) if resume else None
        )
        record = (
            store.claim_assessment(s, previous.id)
            if previous
            else store.start_assessment(s, manifest.system.id, manifest_sha, str(out))
        )
    done = {st.name: st for st in (previous.steps if previous else [])}
    resumed: list[str] = []
    total = len(STEPS) + 1
    try:
        for i, (label, step) in enumerate(STEPS):
            ctx.step = label
            earlier = done.get(label)
            if earlier is not None and _reusable(earlier):
                ctx.outputs.extend(earlier.outputs)
                ctx.findings.extend(earlier.findings)
                resumed.append(label)
                if progress:
                    progress(f"{label} (done earlier, reused)", i, total)
                continue
            if progress:
                progress(label, i, total)
            first_output, first_finding = len(ctx.outputs), len(ctx.findings)
            step(ctx)
            finished = AssessmentStep(
                name=label,
                outputs=ctx.outputs[first_output:],
                findings=ctx.findings[first_finding:],
                finished_at=dt.datetime.now(dt.UTC),
            )
            with ws.db.write_session() as s:
                store.save_step(s, record.id, finished)
        _reload_coverage(ctx)
        ctx.step = "Write the index"
        if progress:
            progress("Write the index", len(STEPS), total)
        index_html = render_index(
            ctx.manifest,
            ctx.outputs,
            ctx.findings,
            ws.signing_key.key_id,
            ctx.coverage,
            chain_head=current_head(ws, manifest.system.id),
        )
        index = ctx.write(
            "index.html",
            index_html.encode(),
            kind="assurance.report",
            title="Assessment index",
            media_type="text/html",
        )
    except KeyboardInterrupt:
        with ws.db.write_session() as s:
            store.finish_assessment(s, record.id, "interrupted", error="interrupted (Ctrl-C)")
        raise
    except BaseException as exc:
        with ws.db.write_session() as s:
            store.finish_assessment(s, record.id, "failed", error=f"{ctx.step}: {type(exc).__name__}: {exc}")
        raise
    with ws.db.write_session() as s:
        store.finish_assessment(s, record.id, "completed", index_evidence_id=index.id)
    head = checkpoint(ws, manifest.system.id)  # a signed checkpoint at the end of every assessment
    if progress:
        progress("Done", total, total)
    return AssessmentResult(
        system=manifest.system.id,
        system_name=manifest.system.name,
        out_dir=str(out),
        index=str(out / "index.html"),
        outputs=ctx.outputs,
        errors=ctx.errors,
        warnings=ctx.warnings,
        findings=ctx.findings,
        database=ws.db.backend,
        workspace=str(ws.home),
        assessment_id=record.id,
        resumed_steps=resumed,
        chain_head=head.ref(),
    )


def list_assessments(ws: Workspace, system: str | None = None) -> list[AssessmentRecord]:
    """Every recorded assessment, oldest first; `effective_status()` tells a killed one from a live one."""
    from assay.store import assessments as store

    with ws.db.session() as s:
        return store.list_assessments(s, system)


def incomplete_assessments(ws: Workspace) -> list[AssessmentRecord]:
    """Assessments that did not complete and that no later completed assessment of the same system into
    the same folder has superseded (resuming completes the same record, so it leaves this list too)."""
    records = list_assessments(ws)
    done = [a for a in records if a.status == "completed"]
    return [
        a
        for a in records
        if a.effective_status() != "completed"
        and not any(
            d.system == a.system and d.out_dir == a.out_dir and d.started_at > a.started_at for d in done
        )
    ]
