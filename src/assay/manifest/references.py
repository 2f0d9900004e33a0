"""Checks that span sections: ids are unique and every reference points at something declared."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from assay.manifest.schema import Manifest

Finding = tuple[tuple[str | int, ...], str, str]


def _hint(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_references(m: Manifest) -> list[Finding]:
    return list(_iter_findings(m))


def _iter_findings(m: Manifest) -> Iterator[Finding]:
    from assay.registry.risk_areas import risk_area_catalog

    parties = [p.id for p in m.parties]
    components = [c.id for c in m.components]
    targets = [t.id for t in m.targets]
    known_targets = [*targets, *(["bundled"] if "bundled" not in targets else [])]  # always available
    risk_areas = risk_area_catalog().ids

    for section, ids in (
        ("parties", parties),
        ("components", components),
        ("datasets", [d.id for d in m.datasets]),
        ("targets", targets),
    ):
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                yield (section, i, "id"), f"id '{ident}' is used twice in {section}", "unique ids"
            seen.add(ident)

    def party(path: tuple[str | int, ...], value: str) -> Iterator[Finding]:
        if value not in parties:
            yield path, f"no party with id '{value}'{_hint(value, parties)}", "one of: " + ", ".join(parties)

    def risk(path: tuple[str | int, ...], value: str) -> Iterator[Finding]:
        if value not in risk_areas:
            yield (
                path,
                f"unknown risk area '{value}'{_hint(value, risk_areas)}",
                "one of: " + ", ".join(risk_areas),
            )

    for i, c in enumerate(m.components):
        yield from party(("components", i, "provider"), c.provider)
        if c.based_on is not None and c.based_on not in components:
            yield ("components", i, "based_on"), f"no component with id '{c.based_on}'", "a component id"
    for i, h in enumerate(m.control_points):
        yield from party(("control_points", i, "holder"), h.holder)
        if h.component not in components:
            yield (
                ("control_points", i, "component"),
                f"no component with id '{h.component}'{_hint(h.component, components)}",
                "one of: " + ", ".join(components),
            )
    for i, d in enumerate(m.datasets):
        yield from party(("datasets", i, "provider"), d.provider)
        for j, comp in enumerate(d.used_by):
            if comp not in components:
                yield (
                    ("datasets", i, "used_by", j),
                    f"no component with id '{comp}'{_hint(comp, components)}",
                    "one of: " + ", ".join(components),
                )
    for i, t in enumerate(m.targets):
        if t.component is not None and t.component not in components:
            yield ("targets", i, "component"), f"no component with id '{t.component}'", "a component id"

    def target(path: tuple[str | int, ...], value: str | None) -> Iterator[Finding]:
        if value is not None and value not in known_targets:
            yield (
                path,
                f"no target with id '{value}'{_hint(value, known_targets)}",
                "one of: " + ", ".join(known_targets),
            )

    for i, s in enumerate(m.suites):
        for j, t in enumerate(s.targets):
            yield from target(("suites", i, "targets", j), t)
    for i, r in enumerate(m.redteam):
        for j, t in enumerate(r.targets):
            yield from target(("redteam", i, "targets", j), t)
        yield from target(("redteam", i, "attacker"), r.attacker)
        yield from target(("redteam", i, "judge"), r.judge)
    net = m.safety_net
    for i, c in enumerate(net.commitments):
        yield from party(("safety_net", "commitments", i, "from"), c.by)
        yield from party(("safety_net", "commitments", i, "to"), c.to)
        for j, r in enumerate(c.risk_areas):
            yield from risk(("safety_net", "commitments", i, "risk_areas", j), r)
        if c.starts and c.expires and c.expires < c.starts:
            yield ("safety_net", "commitments", i, "expires"), "expires before it starts", "a later date"
    for i, note in enumerate(net.liability):
        yield from party(("safety_net", "liability", i, "party"), note.party)
        for j, r in enumerate(note.risk_areas):
            yield from risk(("safety_net", "liability", i, "risk_areas", j), r)
    for i, pol in enumerate(net.insurance):
        yield from party(("safety_net", "insurance", i, "holder"), pol.holder)
        for j, r in enumerate(pol.cover):
            yield from risk(("safety_net", "insurance", i, "cover", j), r)
        if pol.starts and pol.expires < pol.starts:
            yield ("safety_net", "insurance", i, "expires"), "expires before it starts", "a later date"
    for i, o in enumerate(m.responsibility.overrides):
        yield from risk(("responsibility", "overrides", i, "risk_area"), o.risk_area)
        yield from party(("responsibility", "overrides", i, "accountable"), o.accountable)
        for j, p in enumerate(o.responsible):
            yield from party(("responsibility", "overrides", i, "responsible", j), p)
    for j, r in enumerate(m.responsibility.risk_areas_not_applicable):
        yield from risk(("responsibility", "risk_areas_not_applicable", j), r)
