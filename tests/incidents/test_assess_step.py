"""The assessment's incidents step: the channels always, the register only with incidents, the feed only
once something is disclosed, a broken log an error, and the evidence kinds the dimension-4 controls ask
for."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from sqlalchemy import text

from assay.assess import AssessmentContext, _step_incidents
from assay.assurance.conformance import assess_controls
from assay.incidents.service import move, report
from assay.manifest import parse_manifest_text
from assay.workspace import Workspace

from ..conftest import example_text
from .conftest import make_report

INTAKE = "mgf-genai:2024:incident-reporting.intake"
DISCLOSURE = "mgf-genai:2024:incident-reporting.coordinated-disclosure"


def _ctx(ws: Workspace, out: Path) -> AssessmentContext:
    manifest = parse_manifest_text(example_text())
    return AssessmentContext(
        manifest=manifest, manifest_path=out / "assay.yaml", ws=ws, out_dir=out, today=dt.date.today()
    )


def _status(ws: Workspace, control: str) -> str:
    found = assess_controls(ws, "helpdesk").control(control)
    assert found is not None
    return found.status


def test_no_incidents_gives_the_channels_only(ws: Workspace, tmp_path: Path) -> None:
    assert _status(ws, INTAKE) == "not_met"
    ctx = _ctx(ws, tmp_path)
    _step_incidents(ctx)
    assert [o.name for o in ctx.outputs] == ["incidents/channels.json"]
    channels = json.loads((tmp_path / "incidents/channels.json").read_text())
    assert {"kind": "form", "where": "/report/helpdesk"} in [
        {k: c[k] for k in ("kind", "where")} for c in channels["channels"]
    ]
    assert channels["coordinated_disclosure_days"] == 90 and channels["policy"].startswith("eu-ai-act-art73@")
    assert not ctx.findings
    assert _status(ws, INTAKE) == "met"  # the channel evidence is what the control asks for


def test_incidents_give_a_redacted_register_and_the_disclosed_ones_a_feed(
    ws: Workspace, tmp_path: Path
) -> None:
    secret = "Call me on 9123 4567 about the refund"
    first = report(ws, make_report(description=secret, title="Wrong refund amount")).id
    report(ws, make_report(title="Second case"))
    ctx = _ctx(ws, tmp_path)
    _step_incidents(ctx)
    assert [o.name for o in ctx.outputs] == ["incidents/channels.json", "incidents/register.json"]
    register = (tmp_path / "incidents/register.json").read_text()
    assert secret not in register
    data = json.loads(register)
    assert data["open"] == 2 and {i["id"] for i in data["incidents"]} >= {first}
    assert all(a["ok"] for a in data["audit"]) and len(data["audit"]) == 2

    move(ws, first, "triaged")
    move(ws, first, "investigating")
    advisory = move(ws, first, "mitigated", mitigation="Refund answers quote the policy page.").advisory_id
    ctx = _ctx(ws, tmp_path)
    _step_incidents(ctx)
    assert [o.kind for o in ctx.outputs] == ["incident.channel", "incident.record", "incident.report"]
    feed = ET.fromstring((tmp_path / "incidents/advisories.atom").read_bytes())
    ns = "{http://www.w3.org/2005/Atom}"
    assert [e.findtext(f"{ns}id") for e in feed.iter(f"{ns}entry")] == [f"urn:assay:advisory:{advisory}"]
    assert secret.encode() not in (tmp_path / "incidents/advisories.atom").read_bytes()
    assert _status(ws, DISCLOSURE) != "not_met"


def test_a_broken_incident_log_is_an_error(ws: Workspace, tmp_path: Path) -> None:
    inc = report(ws, make_report()).id
    with ws.db.write_session() as s:
        s.execute(text("DELETE FROM incident_events WHERE incident_id = :i"), {"i": inc})
    ctx = _ctx(ws, tmp_path)
    _step_incidents(ctx)
    assert ctx.errors == 1
    assert inc in ctx.findings[0].message and "broken" in ctx.findings[0].message


def test_an_incident_removed_from_the_store_is_an_error(ws: Workspace, tmp_path: Path) -> None:
    """Its number was issued to this system: the register's audit says it is gone."""
    kept = report(ws, make_report(title="Kept")).id
    gone = report(ws, make_report(title="Removed")).id
    with ws.db.write_session() as s:
        s.execute(text("DELETE FROM incident_events WHERE incident_id = :i"), {"i": gone})
        s.execute(text("DELETE FROM incidents WHERE id = :i"), {"i": gone})
    ctx = _ctx(ws, tmp_path)
    _step_incidents(ctx)
    assert [f.message for f in ctx.findings if gone in f.message] and ctx.errors == 1
    assert kept not in " ".join(f.message for f in ctx.findings)
