"""`assay label diff OLD NEW`: what changed between two versions of a label — grades, measured values and
disclosures — as rows a terminal table or an HTML page shows."""

from __future__ import annotations

import html
from typing import Literal

from pydantic import BaseModel

from assay.label.models import Disclosure
from assay.label.verdict import ALL_AREAS
from assay.label.verify import changed_fields
from assay.policy.grading import _fmt as percent

Section = Literal["grade", "metric", "disclosure"]
AREAS = ALL_AREAS  # the label's areas, in order (the policy models' DisclosureArea)


class Change(BaseModel):
    section: Section
    item: str
    old: str
    new: str


def _value(x: float | None) -> str:
    return "—" if x is None else percent(x)


def _grades(old: Disclosure, new: Disclosure) -> list[Change]:
    def key(g):  # type: ignore[no-untyped-def]
        return (g.rule_id, g.target, g.category or "")

    a, b = {key(g): g for g in old.grades}, {key(g): g for g in new.grades}
    out = []
    for k in sorted(set(a) | set(b)):
        ga, gb = a.get(k), b.get(k)
        was = f"{ga.status} ({_value(ga.value)})" if ga else "absent"
        now = f"{gb.status} ({_value(gb.value)})" if gb else "absent"
        if was != now:
            out.append(
                Change(section="grade", item=f"{k[0]}{' on ' + k[1] if k[1] else ''}", old=was, new=now)
            )
    return out


def _metrics(old: Disclosure, new: Disclosure) -> list[Change]:
    def key(m):  # type: ignore[no-untyped-def]
        parts = [m.source, m.suite, m.metric, m.target]
        if m.category:
            parts.append(f"category {m.category}")
        if m.language:
            parts.append(f"language {m.language}")
        return " · ".join(parts)

    a, b = {key(m): m for m in old.measurements}, {key(m): m for m in new.measurements}
    out = []
    for k in sorted(set(a) | set(b)):
        ma, mb = a.get(k), b.get(k)
        was = f"{_value(ma.value)} (n={ma.n})" if ma else "absent"
        now = f"{_value(mb.value)} (n={mb.n})" if mb else "absent"
        if was != now:
            out.append(Change(section="metric", item=k, old=was, new=now))
    return out


def _disclosures(old: Disclosure, new: Disclosure) -> list[Change]:
    out = []
    for area in AREAS:
        a, b = getattr(old, area), getattr(new, area)
        if a.status != b.status:
            out.append(Change(section="disclosure", item=f"{area}: status", old=a.status, new=b.status))
        fields = [f for f in changed_fields(a.model_dump(mode="json"), b.model_dump(mode="json"), 50)]
        fields = [f for f in fields if f != "status"]
        if fields:
            shown = ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")
            out.append(Change(section="disclosure", item=f"{area}: content", old="", new=f"changed: {shown}"))
    ca, cb = old.completeness.score, new.completeness.score
    if ca != cb:
        out.append(Change(section="disclosure", item="completeness", old=percent(ca), new=percent(cb)))
    pa = f"{old.policy.pack_id}@{old.policy.pack_version}" if old.policy else "none"
    pb = f"{new.policy.pack_id}@{new.policy.pack_version}" if new.policy else "none"
    if pa != pb:
        out.append(Change(section="disclosure", item="policy pack", old=pa, new=pb))
    ta = (old.policy.risk_tier if old.policy else None) or "none"
    tb = (new.policy.risk_tier if new.policy else None) or "none"
    if ta != tb:
        out.append(Change(section="disclosure", item="risk tier", old=ta, new=tb))
    return out


def diff_labels(old: Disclosure, new: Disclosure) -> list[Change]:
    """Grades first, then measured values, then the disclosure areas; an unchanged label gives []."""
    return _grades(old, new) + _metrics(old, new) + _disclosures(old, new)


def render_diff_html(old: Disclosure, new: Disclosure, changes: list[Change]) -> str:
    """A self-contained page; every value from either label is escaped."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(c.section)}</td><td>{e(c.item)}</td><td>{e(c.old)}</td><td>{e(c.new)}</td></tr>"
        for c in changes
    )
    body = (
        f"<table><thead><tr><th>Section</th><th>What</th><th>Old</th><th>New</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if changes
        else "<p>Nothing changed.</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Label changes: {e(new.identity.name)}</title>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #889;padding:.3rem .5rem;text-align:left}"
        "</style></head><body>"
        f"<h1>Label changes: {e(new.identity.name)}</h1>"
        f"<p>From v{e(old.identity.version)} ({e(old.generated_at)}) to v{e(new.identity.version)} "
        f"({e(new.generated_at)}): {len(changes)} change(s).</p>{body}</body></html>"
    )
