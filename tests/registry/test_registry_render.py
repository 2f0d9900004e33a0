"""Renderers: JSON that round-trips, HTML that is complete and escaped, a terminal table with the roles."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

from assay.manifest import Manifest
from assay.registry.allocation import allocate
from assay.registry.html import render_raci_html
from assay.registry.models import RaciMatrix
from assay.registry.render import raci_table, render_json
from assay.registry.risk_areas import risk_area_catalog
from assay.registry.safety_net import SafetyNetReport, assess_safety_net

DAY = dt.date(2026, 6, 1)


def test_json_round_trips_and_is_stable(example: Manifest) -> None:
    matrix = allocate(example)
    text = render_json(matrix)
    assert RaciMatrix.model_validate_json(text) == matrix
    assert render_json(allocate(example)) == text
    data = json.loads(text)
    assert [a["risk_area"] for a in data["allocations"]] == risk_area_catalog().ids
    report = assess_safety_net(example, DAY)
    assert SafetyNetReport.model_validate_json(render_json(report)) == report


def test_html_names_every_party_and_area(example: Manifest) -> None:
    html = render_raci_html(allocate(example), assess_safety_net(example, dt.date(2027, 2, 1)), example)
    for party in example.parties:
        assert party.name in html
    for area in risk_area_catalog().risk_areas:
        assert area.title in html
    assert 'class="cell role-ar"' in html
    assert "lcb-tech-eo-2026" in html and "expired" in html
    assert "<link" not in html and "<script" not in html and "http://" not in html.replace("https://", "")


def test_html_escapes_manifest_text(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["parties"][2]["name"] = "<script>alert('x')</script> Cloud"
    example_dict["responsibility"] = {
        "overrides": [
            {
                "risk_area": "harmful_output",
                "accountable": "lion-city-broadband",
                "responsible": ["lion-city-broadband"],
                "rationale": "Decided by the <b>board</b>, see minutes of 2 March 2026.",
            }
        ]
    }
    manifest = build(example_dict)
    html = render_raci_html(allocate(manifest), assess_safety_net(manifest, DAY), manifest)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Cloud" in html
    assert "Decided by the &lt;b&gt;board&lt;/b&gt;, see minutes" in html


def test_html_shows_an_override_beside_the_derived_allocation(
    example_dict: dict[str, Any], build: Callable[[dict[str, Any]], Manifest]
) -> None:
    example_dict["responsibility"] = {
        "overrides": [
            {
                "risk_area": "infrastructure_security",
                "accountable": "lion-city-broadband",
                "responsible": ["lion-city-broadband", "harbour-cloud"],
                "rationale": "Lion City Broadband signs off every hosting change under its ISO 27001 scope.",
                "decided_by": "CISO",
            }
        ]
    }
    manifest = build(example_dict)
    html = render_raci_html(allocate(manifest), None, manifest)
    assert "signs off every hosting change" in html
    assert "The rule alone would have made" in html and "Decided by CISO" in html
    assert "override_without_control" in html


def test_terminal_table_shows_roles(example: Manifest) -> None:
    console = Console(record=True, width=200, color_system=None)
    console.print(raci_table(allocate(example)))
    text = console.export_text()
    assert "Intellectual property" in text
    row = next(line for line in text.splitlines() if "Intellectual property" in line)
    assert [c.strip() for c in row.split("│")[2:6]] == ["R", "A/R", "I", "C"]
