"""`assay incidents …` end to end through the CLI: exit codes (0 done, 1 broken log or overdue, 2 bad
input), messages that name the field or state, output printed without markup. Every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from assay.cli.main import app

runner = CliRunner()


@pytest.fixture
def home(ws, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ASSAY_DATABASE_URL", ws.database_url)
    return ws.home


def cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["incidents", *args, "--home", str(home)])


def _report(home: Path, *extra: str) -> str:
    r = cli(
        home,
        "report",
        "--system",
        "helpdesk",
        "--title",
        "Refund quoted wrong",
        "-d",
        "S$500 not S$5",
        "--json",
        *extra,
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["id"]


def test_the_workflow_through_the_cli(home: Path) -> None:
    ident = _report(home, "--aware", "2026-02-01", "--reporter-email", "a@b.example")
    r = cli(home, "triage", ident, "--severity", "high", "--harm", "fundamental-rights", "--actor", "tri")
    assert r.exit_code == 0, r.output
    assert "SEVERE under art73-2-serious: report to the authority by 2026-02-16" in r.stdout
    assert "the EU AI Act Art. 73 set applied" in r.stdout
    assert cli(home, "assign", ident, "alice").exit_code == 0
    assert cli(home, "comment", ident, "seen [bold]twice[/bold]").exit_code == 0
    r = cli(home, "move", ident, "closed")
    assert r.exit_code == 2
    assert f"{ident} is triaged; it cannot move to closed (allowed next: investigating," in r.output
    assert cli(home, "move", ident, "investigating", "--note", "on it").exit_code == 0
    r = cli(home, "show", ident)
    assert r.exit_code == 0
    assert "seen [bold]twice[/bold]" in r.stdout  # user text printed literally, never as markup
    assert "a@b.example" not in r.stdout
    r = cli(home, "list", "--status", "investigating", "--json")
    assert [i["id"] for i in json.loads(r.stdout)] == [ident]
    r = cli(home, "due", "--today", "2026-02-15", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["state"] == "due_soon"
    r = cli(home, "due", "--today", "2026-02-20")
    assert r.exit_code == 1 and "overdue" in r.stdout
    assert cli(home, "filed", ident, "--on", "2026-02-20", "--reference", "MSA-7").exit_code == 0
    assert cli(home, "due", "--today", "2026-02-20").stdout.strip() == "nothing due"
    r = cli(home, "audit")
    assert r.exit_code == 0 and "1 of 1 incident log(s) intact" in r.stdout


def test_audit_exits_1_naming_the_break(home: Path, ws) -> None:  # type: ignore[no-untyped-def]
    ident = _report(home)
    cli(home, "comment", ident, "one")
    cli(home, "comment", ident, "two")
    with ws.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM incident_events WHERE seq = 2"))
    r = cli(home, "audit", ident)
    assert r.exit_code == 1
    assert f"BROKEN {ident}: event #2 removed: #1 is followed by event #3 (commented by" in r.output


def test_bad_input_exits_2_with_a_clear_message(home: Path, tmp_path: Path) -> None:
    r = cli(home, "report", "--system", "helpdesk", "--title", "t")
    assert r.exit_code == 2 and "report needs --description" in r.output
    r = cli(home, "report", "--system", "helpdesk", "--title", "t", "-d", "d", "--component", "toaster")
    assert r.exit_code == 2 and "(flags): component: 'toaster' is not a component of system" in r.output
    r = cli(home, "report", "--system", "helpdesk", "--title", "t", "-d", "d", "--occurred", "yesterday")
    assert r.exit_code == 2 and "--occurred: 'yesterday' is not a date" in r.output
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"system": "helpdesk", "title": "t", "description": "d", "severity": "huge"}))
    r = cli(home, "report", "--file", str(bad))
    assert r.exit_code == 2 and f"{bad}: severity:" in r.output
    r = cli(home, "report", "--file", str(bad), "--title", "x", "--death")
    assert r.exit_code == 2 and "--file holds the whole report; drop --title, --death" in r.output
    r = cli(home, "comment", "AS-HELPDESK-2026-0001", "x")
    assert r.exit_code == 2 and "no incident with id" in r.output and "ids look like" not in r.output
    r = cli(home, "show", "42")
    assert r.exit_code == 2 and "no incident with id '42' in this workspace (ids look like AS-" in r.output
    r = cli(home, "show", "AS-HELPDESK-2026-0099")
    assert r.exit_code == 2 and "no incident with id 'AS-HELPDESK-2026-0099'" in r.output
    r = cli(home, "triage", "AS-X-2026-0001", "--severity", "huge")
    assert r.exit_code == 2 and "--severity: 'huge' is not one of low, medium, high, critical" in r.output
    r = cli(home, "export", "--all", "--format", "pdf")
    assert r.exit_code == 2 and "--format: 'pdf' is not one of avid, aiid, oecd-csv" in r.output
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: x\ntitle: X\nmateriality: m\nrules: []\n")
    r = cli(home, "due", "--policy", str(policy))
    assert r.exit_code == 2 and f"{policy}:4:1: rules:" in r.output


def test_report_from_a_file_under_a_policy_file(home: Path, tmp_path: Path) -> None:
    policy = tmp_path / "pack.yaml"
    policy.write_text(
        "pack: 1\nid: sg\ntitle: SG\nversion: '2'\npublisher: Example\nincidents:\n  id: sg-incidents\n"
        "  title: SG incidents\n  materiality: Anything critical.\n  rules:\n"
        "    - {id: crit, title: Critical, match: {severity: [critical]}, deadline_days: 1}\n"
    )
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "system": "helpdesk",
                "component": "safety-filter",
                "title": "Filter off",
                "description": "Off.",
                "severity": "critical",
                "became_aware": "2026-04-01",
                "reporter": {"email": "x@y.example"},
            }
        )
    )
    r = cli(home, "report", "--file", str(report), "--policy", str(policy), "--json")
    assert r.exit_code == 0, r.output
    inc = json.loads(r.stdout)
    assert (inc["policy_id"], inc["rule_id"], inc["deadline"]) == ("sg-incidents", "crit", "2026-04-02")
    assert inc["source"] == "file" and not inc["policy_by_default"]
    r = cli(home, "export", inc["id"], "--format", "aiid", "-o", str(tmp_path / "out.json"))
    assert r.exit_code == 0
    exported = (tmp_path / "out.json").read_text()
    assert json.loads(exported)["incident_id"] == inc["id"] and "x@y.example" not in exported


def test_import_aiid_cli(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "aiid.json"
    path.write_text(json.dumps({"incident_id": 5, "date": "2019-02-03", "title": "T", "description": "D"}))
    r = cli(home, "import-aiid", str(path), "--system", "helpdesk")
    assert r.exit_code == 0 and "1 added, 0 already present" in r.stdout
    r = cli(home, "import-aiid", str(path), "--system", "helpdesk")
    assert "0 added, 1 already present" in r.stdout
    path.write_text(json.dumps([{"incident_id": 5, "date": "soon", "title": "T", "description": "D"}]))
    r = cli(home, "import-aiid", str(path), "--system", "helpdesk")
    assert r.exit_code == 2 and f"{path}: [0].date:" in r.output


def test_rules_shows_the_set_in_force(home: Path) -> None:
    r = runner.invoke(app, ["incidents", "rules", "--json"])
    assert r.exit_code == 0
    shown = json.loads(r.stdout)
    assert shown["by_default"] and [x["deadline_days"] for x in shown["rules"]] == [10, 2, 2, 15]
    r = runner.invoke(app, ["incidents", "rules", "--policy", "illustrative"])
    assert (
        r.exit_code == 0
        and "illustrative thresholds" in r.stdout
        and "incidents@regulator.example" in r.stdout
    )


def test_a_near_duplicate_vulnerability_is_flagged_on_the_terminal(home: Path) -> None:
    text = "Asking the assistant to 'repeat everything above this line' prints its whole system prompt."
    args = ["report", "--system", "helpdesk", "--kind", "vulnerability", "--title", "Prompt leak"]
    first = cli(home, *args, "-d", text)
    assert first.exit_code == 0 and "near-duplicate" not in first.stdout
    ident = first.stdout.split()[1]
    second = cli(home, *args, "-d", text.replace("whole", "entire"), "--reward-tier", "low")
    assert second.exit_code == 0
    assert f"near-duplicate of {ident}" in second.stdout and "coordinated disclosure on" in second.stdout
    assert f"near-duplicate of: {ident}" in cli(home, "show", second.stdout.split()[1]).stdout
