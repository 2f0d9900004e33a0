"""Terminal views of packs and verdicts (Rich renderables), kept out of `cli/` so the CLI stays thin.

Every value that came from a file is wrapped in `Text`, never interpolated into markup: a pack or a
label may contain square brackets, and they must print as written. Tables fit 80 columns by letting
the long columns wrap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from assay.policy.models import Grade, MetricThreshold, PolicyPack, RiskTierRule
from assay.policy.verdict import PolicyVerdict

STATUS_STYLE = {
    "green": "bold green",
    "amber": "bold yellow",
    "red": "bold red",
    "inconclusive": "magenta",
    "not_measured": "dim",
}


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _band(rule: MetricThreshold | Grade, value: float) -> str:
    return f"{'≥' if rule.direction == 'higher_is_better' else '≤'} {pct(value)}"


def _measure(rule: MetricThreshold) -> str:
    text = f"{rule.suite} · {rule.metric}"
    if rule.category:
        text += f" [{rule.category}]"
    if rule.source == "redteam":
        text += " (red team)"
    return text


def packs_table(packs: Iterable[PolicyPack]) -> Table:
    table = Table(title="Policy packs", title_justify="left")
    for name in ("Id", "Version", "Publisher", "Illustrative", "Extends"):
        table.add_column(name, overflow="fold")
    for p in packs:
        table.add_row(
            Text(p.id),
            Text(p.version),
            Text(p.publisher),
            Text("yes" if p.illustrative else "no"),
            Text(p.extends or "—"),
        )
    return table


def _tier_when(rule: RiskTierRule) -> str:
    parts = []
    if rule.sectors:
        parts.append("sector: " + ", ".join(rule.sectors))
    if rule.model_types:
        parts.append("model type: " + ", ".join(rule.model_types))
    if rule.red_rules:
        parts.append("red: " + ", ".join(rule.red_rules))
    if rule.any_red:
        parts.append("any grade red")
    return " or ".join(parts) or "always (default)"


def pack_view(pack: PolicyPack) -> Group:
    """Everything a pack sets, on one screen or a little more."""
    head = Text()
    head.append(f"{pack.title}\n", style="bold")
    head.append(f"{pack.id} {pack.version} · {pack.publisher}")
    if pack.sector:
        head.append(f" · sector {pack.sector}")
    if len(pack.lineage) > 1:
        head.append("\nmerged from: " + " → ".join(pack.lineage))
    if pack.illustrative:
        head.append("\nIllustrative: these thresholds are examples, not an authority's.", style="yellow")
    if pack.description:
        head.append(f"\n{pack.description}")

    rules = Table(title="Thresholds", title_justify="left")
    rules.add_column("Rule", overflow="fold")
    rules.add_column("Measures", overflow="fold")
    rules.add_column("Green", no_wrap=True)
    rules.add_column("Amber", no_wrap=True)
    rules.add_column("Min n", justify="right")
    for t in pack.thresholds:
        rules.add_row(
            Text(t.id),
            Text(_measure(t)),
            Text(_band(t, t.green)),
            Text(_band(t, t.amber)),
            str(t.min_samples),
        )

    tiers = Table(title="Risk tiers (first match wins)", title_justify="left")
    tiers.add_column("Rule", overflow="fold")
    tiers.add_column("Tier", overflow="fold")
    tiers.add_column("When", overflow="fold")
    tiers.add_column("Oversight", overflow="fold", ratio=2)
    for r in pack.risk_tiers:
        tiers.add_row(Text(r.id), Text(r.tier), Text(_tier_when(r)), Text(r.oversight or "—"))

    tail = Text()
    tail.append("Required areas: ", style="bold")
    tail.append(", ".join(pack.required_areas) or "none")
    tail.append("\nFreshness (days): ", style="bold")
    tail.append(", ".join(f"{k} {v}" for k, v in pack.freshness_days.items()) or "none set")
    tail.append("\nIncidents: ", style="bold")
    tail.append(", ".join(pack.incidents) if pack.incidents else "none set")
    return Group(head, rules, tiers, tail)


def _value(g: Grade) -> str:
    if g.value is None:
        return "—"
    if g.ci_low is not None and g.ci_high is not None:
        return f"{pct(g.value)} ({pct(g.ci_low)}–{pct(g.ci_high)})"
    return pct(g.value)


def verdict_view(v: PolicyVerdict) -> Group:
    """A verdict: tier and why, completeness, each grade with its rule, then the gate."""
    head = Text()
    head.append(f"Pack {v.pack_id} {v.pack_version}", style="bold")
    if len(v.lineage) > 1:
        head.append(" (" + " → ".join(v.lineage) + ")")
    if v.illustrative:
        head.append("\nIllustrative thresholds: examples, not an authority's.", style="yellow")
    head.append("\nRisk tier: ", style="bold")
    head.append(v.risk_tier or "none")
    head.append(f"\n{v.risk_tier_reason}")
    if v.oversight:
        head.append(f"\nOversight: {v.oversight}")
    head.append("\nCompleteness: ", style="bold")
    done = len(v.required_areas) - len(v.missing_areas)
    head.append(f"{pct(v.completeness)} ({done} of {len(v.required_areas)} required areas)")
    if v.missing_areas:
        head.append("; not disclosed: " + ", ".join(v.missing_areas))

    table = Table(title="Grades", title_justify="left")
    table.add_column("Rule", overflow="fold")
    table.add_column("Target", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Value (95% CI)", overflow="fold")
    for g in v.grades:
        table.add_row(
            Text(g.rule_id),
            Text(g.target or "—"),
            Text(g.status.replace("_", " "), style=STATUS_STYLE.get(g.status, "")),
            Text(_value(g)),
        )

    reasons = Text()
    reasons.append("Why each grade\n", style="bold")
    for g in v.grades:
        reasons.append(f"• {g.rule_id}", style="bold")
        if g.target:
            reasons.append(f" ({g.target})")
        reasons.append(f": {g.reason}\n")

    return Group(head, table, reasons, gate_view(v))


def gate_view(v: PolicyVerdict) -> Text:
    """The CI gate in a few lines (for `assay assess --strict` too): passed or failed, and why."""
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in v.counts.items() if n)
    gate = Text()
    if v.failed:
        gate.append("FAILED", style="bold red")
        gate.append(f" under {v.pack_id} {v.pack_version} ({counts or 'no grades'}):")
        for line in v.why:
            gate.append(f"\n  - {line}")
    else:
        gate.append("PASSED", style="bold green")
        gate.append(f" under {v.pack_id} {v.pack_version} ({counts or 'no grades'}): no red grade, ")
        gate.append("no missing required area.")
    if v.risk_tier:
        gate.append(f"\nRisk tier {v.risk_tier} (rule {v.risk_tier_rule}).")
    return gate


def pack_summary(pack: PolicyPack) -> dict[str, Any]:
    """The fields `assay policy list --json` prints for a pack."""
    return {
        "id": pack.id,
        "version": pack.version,
        "title": pack.title,
        "publisher": pack.publisher,
        "illustrative": pack.illustrative,
        "extends": pack.extends,
        "sector": pack.sector,
        "lineage": pack.lineage,
    }
