"""`assay incidents …`: report, triage and follow incidents and vulnerability reports; audit their logs;
exchange them with AVID, the AI Incident Database and the OECD AI Incidents Monitor.

Thin over `assay.incidents`. Exit codes: 0 done; 1 `audit` found a broken log, or `due` found an
overdue incident; 2 bad input (the message names the field, file or state).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assay.cli.common import HOME_OPTION, console, fail_with_problems, open_workspace, stderr

if TYPE_CHECKING:
    from assay.incidents.models import Incident
    from assay.incidents.policy import PolicyChoice

app = typer.Typer(no_args_is_help=True, help="Incident and vulnerability reports: intake, triage, deadlines.")

POLICY_OPT = typer.Option(
    None,
    "--policy",
    help="A policy pack (its incidents: section) or a bare incidents section, as a YAML file; or a built-in "
    "set: eu-ai-act-art73 (the default), illustrative.",
)
ACTOR_OPT = typer.Option(None, "--actor", help="Who makes the change (default: $USER).")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")


def _actor(value: str | None) -> str:
    return (value or os.environ.get("USER") or "cli").strip()[:200] or "cli"


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        stderr.print(f"{option}: '{value}' is not a date like 2026-06-01", markup=False, highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def _errors() -> Iterator[None]:
    """Every refusal of the domain is bad input: one clear message (or one line per problem), exit 2."""
    from assay.incidents.exchange import ImportInvalid
    from assay.incidents.policy import IncidentsPolicyInvalid
    from assay.incidents.service import IncidentError, IncidentNotFound, ReportInvalid

    try:
        yield
    except ReportInvalid as exc:
        fail_with_problems("invalid report", exc.problems)
    except IncidentsPolicyInvalid as exc:
        fail_with_problems("invalid incidents policy", exc.problems)
    except ImportInvalid as exc:
        fail_with_problems("invalid AIID file", exc.problems)
    except (IncidentError, IncidentNotFound) as exc:
        stderr.print(
            f"error: {exc.args[0] if exc.args else exc}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None


def _policy(path: str | None) -> PolicyChoice | None:
    from assay.incidents.policy import load_policy_file

    return load_policy_file(path) if path else None


def _validation_problems(exc: Any, file: str) -> list[Any]:
    from assay.manifest.problems import Problem

    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(report)"
        out.append(Problem(file=file, field=field, message=err["msg"].removeprefix("Value error, ")))
    return out


@app.command("report")
def report_(
    system: str | None = typer.Option(None, "--system", "-s", help="The registered system's id."),
    title: str | None = typer.Option(None, "--title", help="One line saying what happened."),
    description: str | None = typer.Option(None, "--description", "-d", help="What happened, in full."),
    component: str | None = typer.Option(None, "--component", help="The component involved."),
    kind: str = typer.Option("incident", "--kind", help="incident or vulnerability."),
    occurred: str | None = typer.Option(None, "--occurred", help="When it happened (YYYY-MM-DD)."),
    detected: str | None = typer.Option(None, "--detected", help="When it was detected."),
    aware: str | None = typer.Option(
        None,
        "--aware",
        help="When the provider became aware: the deadline clock starts here (default today).",
    ),
    harm: list[str] = typer.Option([], "--harm", help="A harm type (repeatable); see docs/incidents.md."),
    group: list[str] = typer.Option([], "--group", help="An affected group (repeatable)."),
    severity: str | None = typer.Option(None, "--severity", help="low, medium, high or critical."),
    death: bool = typer.Option(False, "--death", help="A person died."),
    critical_infrastructure: bool = typer.Option(
        False, "--critical-infrastructure", help="Critical infrastructure was seriously disrupted."
    ),
    widespread: bool = typer.Option(False, "--widespread", help="A widespread infringement."),
    evidence: list[str] = typer.Option([], "--evidence", help="An evidence id or blob sha256 (repeatable)."),
    causes: str = typer.Option("", "--causes", help="What is known of the causes."),
    reward_tier: str | None = typer.Option(None, "--reward-tier", help="Vulnerabilities: the bounty tier."),
    reporter_name: str = typer.Option("", "--reporter-name", help="Credited in exports."),
    reporter_email: str | None = typer.Option(None, "--reporter-email", help="Kept private, never exported."),
    file: Path | None = typer.Option(None, "--file", help="The whole report as JSON (instead of the flags)."),
    policy: str | None = POLICY_OPT,
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """Record a new incident or vulnerability report; prints its id, severity and deadline."""
    from pydantic import ValidationError

    from assay.incidents.models import IncidentReport
    from assay.incidents.service import report

    where = str(file) if file else "(flags)"
    flags = {
        "--system": system,
        "--title": title,
        "--description": description,
        "--component": component,
        "--occurred": occurred,
        "--detected": detected,
        "--aware": aware,
        "--harm": harm,
        "--group": group,
        "--severity": severity,
        "--death": death,
        "--critical-infrastructure": critical_infrastructure,
        "--widespread": widespread,
        "--evidence": evidence,
        "--causes": causes,
        "--reward-tier": reward_tier,
        "--reporter-name": reporter_name,
        "--reporter-email": reporter_email,
        "--kind": kind if kind != "incident" else None,
    }
    if file is not None and any(flags.values()):
        given = ", ".join(k for k, v in flags.items() if v)
        stderr.print(f"--file holds the whole report; drop {given}", markup=False, highlight=False)
        raise typer.Exit(2)
    if file is not None:
        from assay.jsonio import JsonLimitError, read_json

        try:
            data = read_json(file)
        except (OSError, ValueError, JsonLimitError) as exc:
            stderr.print(f"{file}: cannot read the report: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from None
        if isinstance(data, dict):
            data.setdefault("source", "file")
    else:
        missing = [
            n for n, v in (("--system", system), ("--title", title), ("--description", description)) if not v
        ]
        if missing:
            stderr.print(f"report needs {', '.join(missing)} (or --file report.json)", markup=False)
            raise typer.Exit(2)
        data = {
            "system": system,
            "title": title,
            "description": description,
            "component": component,
            "kind": kind,
            "occurred": _date(occurred, "--occurred"),
            "detected": _date(detected, "--detected"),
            "became_aware": _date(aware, "--aware"),
            "harm_types": harm,
            "affected_groups": group,
            "severity": severity,
            "death": death,
            "critical_infrastructure": critical_infrastructure,
            "widespread": widespread,
            "evidence": [{"ref": e} for e in evidence],
            "causes": causes,
            "reward_tier": reward_tier,
            "reporter": {"name": reporter_name, "email": reporter_email},
        }
    try:
        rep = IncidentReport.model_validate(data)
    except ValidationError as exc:
        fail_with_problems("invalid report", _validation_problems(exc, where))
    with _errors():
        inc = report(open_workspace(home), rep, policy=_policy(policy), actor=_actor(actor), file=where)
    if as_json:
        typer.echo(inc.model_dump_json(indent=2))
        return
    console.print(f"recorded {inc.id}", markup=False, highlight=False)
    _print_judgement(inc)
    if inc.near_duplicate_of:
        console.print(
            f"near-duplicate of {inc.near_duplicate_of} "
            f"({round(100 * (inc.near_duplicate_similarity or 0))}% similar): "
            "check it before paying a bounty",
            markup=False,
            highlight=False,
        )


def _print_judgement(inc: Incident) -> None:
    from rich.text import Text

    if inc.severe:
        line = Text("SEVERE", style="bold red")
        line.append(f" under {inc.rule_id}: report to the authority by {inc.deadline}")
        if inc.initial_report_allowed:
            line.append(" (an initial, incomplete report is allowed)")
    else:
        line = Text(f"not severe under {inc.policy_id}")
        if inc.rule_id:
            line.append(f" (rule {inc.rule_id})")
    console.print(line)
    if inc.policy_by_default:
        console.print(
            "No policy pack incidents section was given: the EU AI Act Art. 73 set applied.",
            markup=False,
            highlight=False,
        )
    if inc.disclosure_date:
        console.print(f"coordinated disclosure on {inc.disclosure_date}", markup=False, highlight=False)


@app.command("list")
def list_(
    status: list[str] = typer.Option([], "--status", help="Only these states (repeatable)."),
    system: str | None = typer.Option(None, "--system", "-s", help="Only this system."),
    kind: str | None = typer.Option(None, "--kind", help="incident or vulnerability."),
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """List incidents, oldest first."""
    import json

    from rich.table import Column, Table
    from rich.text import Text

    from assay.incidents.service import list_incidents

    with _errors():
        items = list_incidents(open_workspace(home), system=system, status=status or None, kind=kind)
    if as_json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in items], indent=2, ensure_ascii=False))
        return
    table = Table(
        Column("id", no_wrap=True),
        "kind",
        "status",
        "severity",
        "severe",
        "assignee",
        Column("deadline", no_wrap=True),
        "title",
    )
    for i in items:
        table.add_row(
            *(
                Text(v)
                for v in (
                    i.id,
                    i.kind,
                    i.status,
                    i.severity or "",
                    "yes" if i.severe else "",
                    i.assignee or "",
                    str(i.deadline or ""),
                    i.title,
                )
            )
        )
    console.print(table)


@app.command("show")
def show(
    incident: str = typer.Argument(..., help="The incident id."),
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """One incident's record and its event log."""
    import json

    from rich.text import Text

    from assay.incidents.service import events, get_incident

    ws = open_workspace(home)
    with _errors():
        inc = get_incident(ws, incident)
        log = events(ws, incident)
    if as_json:
        out = {"incident": inc.model_dump(mode="json"), "events": [e.model_dump(mode="json") for e in log]}
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for label, value in (
        ("id", inc.id),
        ("system", inc.system + (f" / {inc.component}" if inc.component else "")),
        ("kind", inc.kind),
        ("status", inc.status),
        ("title", inc.title),
        ("description", inc.description),
        (
            "dates",
            f"occurred {inc.occurred or '?'}, detected {inc.detected or '?'}, aware {inc.became_aware}",
        ),
        ("harm types", ", ".join(inc.harm_types)),
        ("affected groups", ", ".join(inc.affected_groups)),
        ("severity", inc.severity or "not set"),
        ("policy", f"{inc.policy_id}@{inc.policy_version}"),
        ("assignee", inc.assignee or ""),
        ("causes", inc.causes),
        ("mitigations", inc.mitigations),
        ("corrective actions", "; ".join(inc.corrective_actions)),
        ("evidence", ", ".join(e.ref for e in inc.evidence)),
        ("duplicate of", inc.duplicate_of or ""),
        (
            "near-duplicate of",
            f"{inc.near_duplicate_of} ({round(100 * (inc.near_duplicate_similarity or 0))}% similar)"
            if inc.near_duplicate_of
            else "",
        ),
        ("reward tier", inc.reward_tier or ""),
        ("reported to authority", str(inc.authority_reported_at or "")),
        ("advisory", f"{inc.advisory_id} (public: /incidents/{inc.system})" if inc.advisory_id else ""),
    ):
        if value:
            line = Text(f"{label}: ", style="bold")
            line.append(value)
            console.print(line)
    _print_judgement(inc)
    console.print(Text("events:", style="bold"))
    for e in log:
        detail = e.data.get("text") or e.data.get("note") or ""
        move = (
            f" {e.data.get('from') or 'nobody'} → {e.data.get('to')}"
            if e.kind in ("moved", "assigned")
            else ""
        )
        console.print(
            Text(
                f"  #{e.seq} {e.at:%Y-%m-%d %H:%M} {e.kind}{move} by {e.actor}"
                + (f": {detail}" if detail else "")
            )
        )


@app.command("triage")
def triage_(
    incident: str = typer.Argument(..., help="The incident id."),
    severity: str | None = typer.Option(None, "--severity", help="low, medium, high or critical."),
    harm: list[str] = typer.Option([], "--harm", help="Harm types (repeatable; replaces the list)."),
    group: list[str] = typer.Option([], "--group", help="Affected groups (repeatable; replaces the list)."),
    death: bool | None = typer.Option(None, "--death/--no-death"),
    critical_infrastructure: bool | None = typer.Option(
        None, "--critical-infrastructure/--no-critical-infrastructure"
    ),
    widespread: bool | None = typer.Option(None, "--widespread/--no-widespread"),
    note: str = typer.Option("", "--note"),
    policy: str | None = POLICY_OPT,
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Judge an incident: severity, harms, groups; the rules set severe and the deadline."""
    from assay.incidents.service import triage

    levels = ("low", "medium", "high", "critical")
    if severity is not None and severity not in levels:
        stderr.print(f"--severity: '{severity}' is not one of {', '.join(levels)}", markup=False)
        raise typer.Exit(2)
    with _errors():
        inc = triage(
            open_workspace(home),
            incident,
            severity=severity,  # type: ignore[arg-type]
            harm_types=harm or None,
            affected_groups=group or None,
            death=death,
            critical_infrastructure=critical_infrastructure,
            widespread=widespread,
            policy=_policy(policy),
            note=note,
            actor=_actor(actor),
        )
    console.print(f"{inc.id} is {inc.status}", markup=False, highlight=False)
    _print_judgement(inc)


@app.command("move")
def move_(
    incident: str = typer.Argument(..., help="The incident id."),
    state: str = typer.Argument(..., help="The next state."),
    note: str = typer.Option("", "--note"),
    of: str | None = typer.Option(None, "--of", help="With duplicate: the original incident's id."),
    causes: str | None = typer.Option(None, "--causes", help="Record the causes found."),
    mitigation: str | None = typer.Option(None, "--mitigation", help="Add a mitigation."),
    corrective_action: str | None = typer.Option(
        None, "--corrective-action", help="Add a corrective action."
    ),
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Move an incident to its next state (received → triaged → investigating → mitigated → resolved →
    closed; or duplicate, rejected)."""
    from assay.incidents.service import move

    with _errors():
        inc = move(
            open_workspace(home),
            incident,
            state,
            note=note,
            duplicate_of=of,
            causes=causes,
            mitigation=mitigation,
            corrective_action=corrective_action,
            actor=_actor(actor),
        )
    console.print(f"{inc.id} is {inc.status}", markup=False, highlight=False)


@app.command("assign")
def assign_(
    incident: str = typer.Argument(..., help="The incident id."),
    who: str = typer.Argument(..., help="Who handles it."),
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Assign an incident."""
    from assay.incidents.service import assign

    with _errors():
        inc = assign(open_workspace(home), incident, who, actor=_actor(actor))
    console.print(f"{inc.id} assigned to {inc.assignee}", markup=False, highlight=False)


@app.command("comment")
def comment_(
    incident: str = typer.Argument(..., help="The incident id."),
    text: str = typer.Argument(..., help="The comment."),
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Add a comment to an incident's log."""
    from assay.incidents.service import comment

    with _errors():
        inc = comment(open_workspace(home), incident, text, actor=_actor(actor))
    console.print(f"comment #{inc.event_count} added to {inc.id}", markup=False, highlight=False)


@app.command("filed")
def filed(
    incident: str = typer.Argument(..., help="The incident id."),
    on: str | None = typer.Option(None, "--on", help="The day it was reported (default today)."),
    initial: bool = typer.Option(False, "--initial", help="An initial, incomplete report (where allowed)."),
    reference: str = typer.Option("", "--reference", help="The authority's reference."),
    actor: str | None = ACTOR_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Record that a severe incident was reported to the authority; this stops its deadline clock."""
    from assay.incidents.service import file_report

    with _errors():
        inc = file_report(
            open_workspace(home),
            incident,
            on=_date(on, "--on"),
            initial=initial,
            reference=reference,
            actor=_actor(actor),
        )
    late = inc.deadline is not None and inc.authority_reported_at and inc.authority_reported_at > inc.deadline
    console.print(
        f"{inc.id} reported to the authority on {inc.authority_reported_at}"
        + (f", after its deadline {inc.deadline}" if late else ""),
        markup=False,
        highlight=False,
    )


@app.command("due")
def due_(
    today: str | None = typer.Option(None, "--today", help="Judge as on this date (YYYY-MM-DD)."),
    within: int | None = typer.Option(
        None, "--within", min=0, help="Days ahead to list as due soon (default: the policy's reminder_days)."
    ),
    policy: str | None = POLICY_OPT,
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """Severe incidents not yet reported to the authority: overdue, and due within the reminder window.
    Exit 1 when any is overdue."""
    import json

    from rich.table import Column, Table
    from rich.text import Text

    from assay.incidents.service import due

    day = _date(today, "--today") or dt.date.today()
    with _errors():
        choice = _policy(policy)
        items = due(open_workspace(home), day, within=within, policy=choice.policy if choice else None)
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in items], indent=2, ensure_ascii=False))
    elif not items:
        console.print("nothing due", markup=False)
    else:
        table = Table(
            Column("id", no_wrap=True),
            Column("state", no_wrap=True),
            Column("deadline", no_wrap=True),
            Column("days left", no_wrap=True),
            "rule",
            "title",
        )
        for d in items:
            table.add_row(
                Text(d.incident_id),
                Text(d.state.replace("_", " "), style="red" if d.state == "overdue" else "yellow"),
                Text(str(d.deadline)),
                Text(str(d.days_left)),
                Text(d.rule_id or ""),
                Text(d.title),
            )
        console.print(table)
    if any(d.state == "overdue" for d in items):
        raise typer.Exit(1)


@app.command("remind")
def remind_(
    now: str | None = typer.Option(
        None, "--now", help="Judge as at this time (ISO 8601, e.g. 2026-06-01T09:00:00+00:00; default: now)."
    ),
    policy: str | None = POLICY_OPT,
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """Queue deadline reminders to the accountable parties (each lead time once per incident; for cron).
    `assay notify run` delivers them."""
    import json

    from assay.incidents.reminders import remind

    at = None
    if now is not None:
        try:
            at = dt.datetime.fromisoformat(now)
        except ValueError:
            stderr.print(f"--now: '{now}' is not a time like 2026-06-01T09:00:00+00:00", markup=False)
            raise typer.Exit(2) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
    with _errors():
        choice = _policy(policy)
        sent = remind(open_workspace(home), now=at, policy=choice.policy if choice else None)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in sent], indent=2, ensure_ascii=False))
        return
    if not sent:
        console.print("no reminder due", markup=False)
    for r in sent:
        leads = ", ".join(f"{h} h" for h in r.lead_hours)
        console.print(
            f"{r.incident_id}: due {r.due_at:%Y-%m-%d %H:%M} UTC, {r.hours_left:.0f} h left "
            f"(lead {leads}); {r.notices} notice(s) queued",
            markup=False,
            highlight=False,
        )


@app.command("audit")
def audit_(
    incident: str | None = typer.Argument(None, help="Only this incident."),
    home: Path | None = HOME_OPTION,
    as_json: bool = JSON_OPT,
) -> None:
    """Verify every incident's signed, hash-linked event log. Exit 1 naming the first broken link."""
    import json

    from assay.incidents.service import audit

    with _errors():
        results = audit(open_workspace(home), incident)
    bad = [a for a in results if not a.ok]
    if as_json:
        typer.echo(json.dumps([a.model_dump(mode="json") for a in results], indent=2))
    else:
        for a in bad:
            stderr.print(
                f"BROKEN {a.incident_id}: {a.problem}", markup=False, highlight=False, soft_wrap=True
            )
        console.print(
            f"{len(results) - len(bad)} of {len(results)} incident log(s) intact",
            markup=False,
            highlight=False,
        )
    if bad:
        raise typer.Exit(1)


@app.command("export")
def export_(
    incident: str | None = typer.Argument(None, help="The incident id (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Every incident."),
    fmt: str = typer.Option(..., "--format", "-f", help="avid, aiid or oecd-csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Export public records (the reporter's contact is never included)."""
    from assay.incidents.exchange import FORMATS, export
    from assay.incidents.service import get_incident, list_incidents

    if fmt not in FORMATS:
        stderr.print(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}", markup=False)
        raise typer.Exit(2)
    if bool(incident) == all_:
        stderr.print("give one incident id or --all", markup=False)
        raise typer.Exit(2)
    ws = open_workspace(home)
    with _errors():
        items = list_incidents(ws) if all_ else [get_incident(ws, incident or "")]
    text = export(ws, items, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    from assay.store.blobs import atomic_write

    atomic_write(output, text.encode("utf-8"))
    typer.echo(f"wrote {output}", err=True)


@app.command("import-aiid")
def import_aiid_(
    file: Path = typer.Argument(..., help="AIID incident JSON: one incident or a list."),
    system: str = typer.Option(..., "--system", "-s", help="The registered system they concern."),
    policy: str | None = POLICY_OPT,
    home: Path | None = HOME_OPTION,
) -> None:
    """Import AI Incident Database incidents as incidents of a system (again: nothing is duplicated)."""
    from assay.incidents.exchange import import_aiid

    with _errors():
        results = import_aiid(open_workspace(home), file, system, policy=_policy(policy))
    added = sum(1 for _, new in results if new)
    for ident, new in results:
        console.print(f"{'added' if new else 'already imported'} {ident}", markup=False, highlight=False)
    console.print(f"{added} added, {len(results) - added} already present", markup=False, highlight=False)


@app.command("rules")
def rules(policy: str | None = POLICY_OPT, as_json: bool = JSON_OPT) -> None:
    """The incident rules that apply: the materiality statement, each rule and its deadline, the contacts."""
    import json

    from rich.table import Column, Table
    from rich.text import Text

    from assay.incidents.policy import policy_choice

    with _errors():
        choice = policy_choice(_policy(policy))
    pol = choice.policy
    if as_json:
        typer.echo(json.dumps({"by_default": choice.by_default, **pol.model_dump(mode="json")}, indent=2))
        return
    head = Text(f"{pol.title} ({pol.id}@{pol.version})", style="bold")
    if pol.illustrative:
        head.append(" — illustrative thresholds, not an authority's", style="yellow")
    console.print(head)
    if pol.source:
        console.print(Text(pol.source))
    console.print(Text(pol.materiality))
    table = Table(Column("rule", no_wrap=True), "when", "severe", "deadline", "initial report", "source")
    for r in pol.rules:
        when = [
            f"{k}: {', '.join(v) if isinstance(v, list) else ('yes' if v else 'no')}"
            for k, v in r.match.model_dump(exclude_defaults=True).items()
        ]
        table.add_row(
            Text(r.id),
            Text("; ".join(when) or "always"),
            Text("yes" if r.severe else "no"),
            Text(f"{r.deadline_days} days" if r.deadline_days is not None else ""),
            Text("allowed" if r.initial_report_allowed else ""),
            Text(r.cite),
        )
    console.print(table)
    for c in pol.contacts:
        console.print(Text(f"{c.role}: {c.name} " + " ".join(x for x in (c.email, c.webhook) if x)))
