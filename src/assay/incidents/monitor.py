"""`assay monitor`: catch a regression before users do.

A small canary suite (the manifest's `monitor:` section) runs against the deployed targets — once, for
cron, or every `every_s` seconds. Each run is an ordinary signed evaluation run. Its pass rate is
compared with the newest earlier complete run of the same suite on the same target (normally the
assessment's): when the new interval lies wholly below the old one, the drop is beyond what sampling
explains, and an incident is opened (source `monitor`) with both runs as evidence.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel

from assay.manifest import Manifest
from assay.workspace import Workspace


class MonitorCheck(BaseModel):
    suite: str
    target: str
    run_id: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    baseline_run: str | None = None
    baseline_score: float | None = None
    baseline_ci_low: float | None = None
    baseline_ci_high: float | None = None
    regressed: bool = False
    incident: str | None = None
    note: str = ""


def _overall(run) -> tuple[float | None, float | None, float | None, int]:  # type: ignore[no-untyped-def]
    from assay.label.measure import measurements_from

    for m in measurements_from([run]):
        if m.metric == "score" and m.category is None and m.language is None:
            return m.value, m.ci_low, m.ci_high, m.n
    return None, None, None, 0


def _baseline(ws: Workspace, system: str, suite_id: str, target: str):  # type: ignore[no-untyped-def]
    from assay.label.measure import newest_runs

    return next(
        (
            r
            for r in newest_runs(ws, system)
            if r.kind != "redteam.run" and (r.suite_id, r.target_id) == (suite_id, target)
        ),
        None,
    )


def monitor_once(ws: Workspace, manifest: Manifest, manifest_path: Path) -> list[MonitorCheck]:
    """One round: the canary suite on each monitored target, compared with its baseline."""
    from assay.evals.runner import RunOptions
    from assay.evals.service import evaluate, resolve_suite
    from assay.incidents.models import EvidenceLink, IncidentReport
    from assay.incidents.service import report

    mon = manifest.monitor
    if mon is None:
        raise ValueError(f"{manifest_path}: no `monitor:` section (suite, targets, sample, every_s)")
    suite, _ = resolve_suite(mon.suite, manifest_path.parent)
    from assay.registry.service import register_system

    register_system(ws, manifest)  # an incident names the system; registering again changes nothing
    pack = None
    if manifest.policy_pack is not None:
        from assay.policy.loader import resolve_pack

        pack = resolve_pack(manifest.policy_pack, manifest_path.parent)
    checks = []
    for target in mon.targets or ["bundled"]:
        base = _baseline(ws, manifest.system.id, suite.id, target)
        options = RunOptions(sample=mon.sample, seed=mon.seed, use_cache=False)
        outcome = asyncio.run(
            evaluate(ws, suite, target, manifest=manifest, base_dir=manifest_path.parent, options=options)
        )
        from assay.label.measure import newest_runs

        now = next(
            (r for r in newest_runs(ws, manifest.system.id) if r.run_id == outcome.summary.run_id), None
        )
        score, lo, hi, n = _overall(now) if now is not None else (outcome.summary.score, None, None, 0)
        check = MonitorCheck(
            suite=suite.id,
            target=target,
            run_id=outcome.summary.run_id,
            score=score,
            ci_low=lo,
            ci_high=hi,
            n=n,
        )
        if base is None:
            check.note = "no earlier run of this suite on this target: this run is the baseline from now on"
        else:
            b, blo, bhi, _ = _overall(base)
            check.baseline_run, check.baseline_score = base.run_id, b
            check.baseline_ci_low, check.baseline_ci_high = blo, bhi
            if hi is not None and blo is not None and hi < blo:
                check.regressed = True
                rep = IncidentReport(
                    system=manifest.system.id,
                    title=f"Monitoring: {suite.id} on {target} fell from {b:.0%} to {score:.0%}",
                    description=(
                        f"The canary suite {suite.id} passed {score:.1%} of {n} sample(s) on target {target} "
                        f"(interval {lo:.1%}–{hi:.1%}), below the interval {blo:.1%}–{bhi:.1%} of run "
                        f"{base.run_id} ({b:.1%}). The drop is larger than sampling explains."
                    ),
                    severity="medium",
                    harm_types=["other"],
                    evidence=[
                        EvidenceLink(ref=outcome.evidence_ids[-1], note="the monitoring run"),
                        EvidenceLink(ref=base.summary_evidence.id, note="the baseline run"),
                    ],
                    source="monitor",
                )
                check.incident = report(ws, rep, policy=pack, actor="monitor").id
                check.note = "regressed beyond the baseline's interval: incident opened"
            else:
                check.note = "within or above the baseline's interval"
        checks.append(check)
    return checks
