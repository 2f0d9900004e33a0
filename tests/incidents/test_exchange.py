"""AVID, AIID and OECD AIM-style exports carry the public record and never the reporter's contact;
AIID import validates, names the place of each problem, and adds nothing twice. Every backend."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from assay.incidents import service as svc
from assay.incidents.exchange import ImportInvalid, export, import_aiid, parse_aiid

from .conftest import make_report

SECRET = "whistle@private.example"


@pytest.fixture
def incidents(ws):  # type: ignore[no-untyped-def]
    a = svc.report(
        ws,
        make_report(
            component="helpdesk-app",
            harm_types=["discrimination"],
            affected_groups=["older customers"],
            reporter={"name": "Ravi", "email": SECRET, "other_contact": "+65 0000 0000"},
        ),
    )
    a = svc.move(ws, a.id, "triaged")
    b = svc.report(ws, make_report(kind="vulnerability", title='=HYPERLINK("http://x")', description="d"))
    return a, b


def test_avid_report(ws, incidents) -> None:  # type: ignore[no-untyped-def]
    a, b = incidents
    out = json.loads(export(ws, [a], "avid"))
    assert out["data_type"] == "AVID" and out["metadata"]["report_id"] == a.id
    assert out["affects"]["deployer"] == ["Lion City Broadband Pte. Ltd."]
    assert out["affects"]["developer"] == ["Hugging Face (SmolLM team)"]
    assert {"type": "Model", "name": "Helpdesk chat application"} in out["affects"]["artifacts"]
    assert out["problemtype"]["type"] == "Issue" and out["impact"]["avid"]["risk_domain"] == ["Ethics"]
    assert out["credit"] == [{"lang": "eng", "value": "Ravi"}]
    vuln = json.loads(export(ws, [b], "avid"))
    assert vuln["problemtype"]["type"] == "Advisory" and "Security" in vuln["impact"]["avid"]["risk_domain"]


def test_aiid_incident(ws, incidents) -> None:  # type: ignore[no-untyped-def]
    a, b = incidents
    both = json.loads(export(ws, [a, b], "aiid"))
    assert [x["incident_id"] for x in both] == [a.id, b.id]
    assert both[0]["Alleged harmed or nearly harmed parties"] == ["older customers"]
    assert both[0]["Alleged deployer of AI system"] == ["Lion City Broadband Pte. Ltd."]
    assert both[0]["status"] == "triaged"


def test_oecd_csv_is_one_row_each_and_safe_in_a_spreadsheet(ws, incidents) -> None:  # type: ignore[no-untyped-def]
    a, b = incidents
    rows = list(csv.DictReader(io.StringIO(export(ws, [a, b], "oecd-csv"))))
    assert [r["id"] for r in rows] == [a.id, b.id]
    assert rows[0]["type"] == "incident" and rows[1]["type"] == "hazard"
    assert rows[0]["harm_types"] == "discrimination" and rows[0]["sector"] == "telecommunications"
    assert rows[1]["title"].startswith("'=")  # a formula is not run when the file is opened


def test_no_export_carries_the_contact(ws, incidents) -> None:  # type: ignore[no-untyped-def]
    for fmt in ("avid", "aiid", "oecd-csv"):
        text = export(ws, list(incidents), fmt)
        assert SECRET not in text and "+65 0000 0000" not in text
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        export(ws, list(incidents), "xml")


AIID = [
    {
        "incident_id": 23,
        "date": "2017-11-08",
        "title": "Chatbot gives unsafe advice",
        "description": "A customer chatbot told users to ...",
        "Alleged deployer of AI system": ["acme"],
        "Alleged developer of AI system": ["acme-ai"],
        "Alleged harmed or nearly harmed parties": ["customers"],
        "reports": [1, 2],
    },
    {"incident_id": 24, "date": "2018-01-02", "title": "Second", "description": "More."},
]


def test_import_aiid_adds_each_incident_once(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "aiid.json"
    path.write_text(json.dumps(AIID))
    first = import_aiid(ws, path, "helpdesk")
    assert [new for _, new in first] == [True, True]
    inc = svc.get_incident(ws, first[0][0])
    assert inc.external_ids == {"aiid": "23"} and inc.source == "import:aiid"
    assert inc.occurred.isoformat() == "2017-11-08" and inc.affected_groups == ["customers"]
    again = import_aiid(ws, path, "helpdesk")
    assert again == [(first[0][0], False), (first[1][0], False)]
    assert len(svc.list_incidents(ws)) == 2


def test_import_errors_are_located(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = [AIID[0], {"incident_id": 9, "date": "last year", "title": ""}, "x"]
    with pytest.raises(ImportInvalid) as err:
        parse_aiid(json.dumps(bad), "aiid.json")
    fields = [p.field for p in err.value.problems]
    assert fields == ["[1].title", "[1].description", "[1].date", "[2]"]
    with pytest.raises(ImportInvalid) as err:
        parse_aiid('{"incidents": [\n  {"incident_id": 1,\n  }]}', "aiid.json")
    assert err.value.problems[0].line == 3
    path = tmp_path / "aiid.json"
    path.write_text(json.dumps(AIID))
    with pytest.raises(svc.ReportInvalid, match="no system with id 'nope'"):
        import_aiid(ws, path, "nope")
    assert svc.list_incidents(ws) == []
