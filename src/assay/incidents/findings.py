"""Findings from assessments: a result that crosses the authority's line becomes an incident to triage.

When the food label grades a suite or a red-team run red under the policy pack, the system has a
known problem the framework wants tracked like any other: an incident (source `assessment`) is opened,
linked to the run's evidence and naming the pack's rule. While it is open, the same rule on the same
target does not open another one (re-running an assessment does not flood the triage queue); once it
is closed, a new red grade opens a new one.
"""

from __future__ import annotations

from typing import Any

from assay.policy.models import Grade
from assay.workspace import Workspace

KEY = "assay-rule"


def _key(g: Grade) -> str:
    return f"{g.pack_id}:{g.rule_id}@{g.target or '-'}"


def open_findings(ws: Workspace, system: str, grades: list[Grade], *, policy: Any = None) -> list[str]:
    """An incident for each red grade without an open one for the same rule and target; their ids."""
    from assay.incidents.models import OPEN_STATUSES, EvidenceLink, IncidentReport
    from assay.incidents.service import list_incidents, report

    red = [g for g in grades if g.status == "red"]
    if not red:
        return []
    open_keys = {
        inc.external_ids.get(KEY)
        for inc in list_incidents(ws, system=system, status=list(OPEN_STATUSES))
        if inc.source == "assessment"
    }
    opened = []
    for g in red:
        if _key(g) in open_keys:
            continue
        value = f"{100 * g.value:.1f}%" if g.value is not None else "n/a"
        rep = IncidentReport(
            system=system,
            title=f"Assessment: {g.title} is red on {g.target or 'the system'} ({value})",
            description=(
                f"Policy pack {g.pack_id}@{g.pack_version}, rule {g.rule_id}: {g.reason}. "
                f"Measured on {g.n} sample(s) of suite {g.suite} (metric {g.metric}"
                f"{', category ' + g.category if g.category else ''})."
            ),
            severity="medium",
            harm_types=["other"],
            evidence=[EvidenceLink(ref=g.evidence_sha256, note="the run graded red")]
            if g.evidence_sha256
            else [],
            source="assessment",
            external_ids={KEY: _key(g)},
        )
        opened.append(report(ws, rep, policy=policy, actor="assessment").id)
        open_keys.add(_key(g))
    return opened
