"""Incidents as the CLI (and, next, the API and the form) use them: report, triage, move, assign,
comment, record the report to the authority, list what is due, audit the logs.

Every change runs in one transaction that locks the incident row, changes the record and appends its
signed event, so a change without its event (or the reverse) is never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assay.assurance.chain import GENESIS
from assay.incidents.events import append_event, check_chain, record_sha256, to_event
from assay.incidents.models import (
    ID_PATTERN,
    OPEN_STATUSES,
    PUBLIC_STATUSES,
    STATUSES,
    TRANSITIONS,
    ChainAudit,
    DueItem,
    Incident,
    IncidentEvent,
    IncidentReport,
    Reporter,
    advisory_id,
    check_text,
    incident_id,
    normalise_id,
)
from assay.incidents.policy import (
    BUILTIN,
    DEFAULT_POLICY,
    IncidentsPolicy,
    PolicyChoice,
    Severity,
    SeverityFacts,
    builtin_policy,
    evaluate,
    harm_vocabulary,
    policy_choice,
)
from assay.manifest.problems import Problem
from assay.store import incidents as rows
from assay.workspace import Workspace


class IncidentError(ValueError):
    """A request the record or the workflow refuses; the message says why and what would be accepted."""


class AlreadyReported(Exception):
    """The idempotency key was used before: for the same report (`same`) or for a different one."""

    def __init__(self, incident_id: str, same: bool) -> None:
        super().__init__(incident_id)
        self.incident_id = incident_id
        self.same = same


class IncidentNotFound(LookupError):
    def __init__(self, ident: str) -> None:
        hint = "" if ID_PATTERN.match(ident) else " (ids look like AS-HELPDESK-2026-0001)"
        super().__init__(f"no incident with id '{ident}' in this workspace{hint}")
        self.ident = ident


class ReportInvalid(IncidentError):
    """Every problem with a submitted report, each naming its field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.render() for p in problems))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _to_incident(row: Any) -> Incident:
    from pydantic import ValidationError

    try:
        return Incident.model_validate(
            {
                **row.record,
                "event_count": row.event_count,
                "head_hash": row.head_hash,
                "updated_at": row.updated_at,
            }
        )
    except (ValidationError, TypeError) as exc:
        raise IncidentError(
            f"the stored record of {row.id} is not a valid incident ({str(exc).splitlines()[0]}); "
            "it was changed outside Assay: run `assay incidents audit`"
        ) from None


_UNREAD: Any = object()


def _check_references(ws: Workspace, rep: IncidentReport, file: str, known: Any = _UNREAD) -> None:
    """The system and component must be registered; evidence must exist in this workspace. `known`:
    the system's components when the caller has read them already (None: no such system)."""
    from assay.assurance.evidence import get_evidence
    from assay.registry.service import SystemNotFound

    problems: list[Problem] = []
    if known is _UNREAD:
        with ws.db.session() as s:
            known = rows.system_components(s, rep.system)
    if known is None:
        problems.append(
            Problem(
                file=file,
                field="system",
                message=str(SystemNotFound(rep.system)),
                expected="a system registered by `assay assess` or the registry API",
            )
        )
    elif rep.component is not None and rep.component not in known:
        problems.append(
            Problem(
                file=file,
                field="component",
                message=f"'{rep.component}' is not a component of system '{rep.system}'",
                expected="one of " + ", ".join(known),
            )
        )
    for i, link in enumerate(rep.evidence):
        ref = link.ref
        found = ws.blobs.exists(ref) if len(ref) == 64 else get_evidence(ws, ref) is not None
        if not found:
            what = "blob" if len(ref) == 64 else "evidence record"
            problems.append(
                Problem(
                    file=file,
                    field=f"evidence[{i}].ref",
                    message=f"no {what} {ref} in this workspace",
                    expected="an evidence id from `assay evidence list` or a stored blob's sha256",
                )
            )
    if problems:
        raise ReportInvalid(problems)


def _facts(inc: Incident) -> SeverityFacts:
    return SeverityFacts(
        kind=inc.kind,
        harm_types=inc.harm_types,
        affected_groups=inc.affected_groups,
        severity=inc.severity,
        critical_infrastructure=inc.critical_infrastructure,
        death=inc.death,
        widespread=inc.widespread,
    )


def _apply_policy(inc: Incident, policy: IncidentsPolicy) -> dict[str, Any]:
    """Set severe, rule and deadline from the policy; returns what the event records."""
    verdict = evaluate(policy, _facts(inc), inc.became_aware)
    inc.severe = verdict.severe
    inc.rule_id = verdict.rule_id
    inc.rule_cite = verdict.cite
    inc.deadline = verdict.deadline
    inc.initial_report_allowed = verdict.initial_report_allowed
    return {
        "severe": verdict.severe,
        "rule": verdict.rule_id,
        "deadline": verdict.deadline.isoformat() if verdict.deadline else None,
        "policy": f"{policy.id}@{policy.version}",
    }


@dataclass
class PreparedReport:
    """A report checked and judged, before it is numbered and stored (`report`, or a batch of them)."""

    rep: IncidentReport
    inc: Incident
    choice: PolicyChoice
    judged: dict[str, Any]
    print_: Any
    today: dt.date
    now: dt.datetime
    actor: str

    def event_data(self) -> dict[str, Any]:
        data = {"source": self.rep.source, **self.judged, "by_default": self.choice.by_default}
        if self.inc.near_duplicate_of:
            data["near_duplicate_of"] = self.inc.near_duplicate_of
            data["similarity"] = self.inc.near_duplicate_similarity
        return data


def prepare_report(
    ws: Workspace,
    rep: IncidentReport,
    *,
    policy: PolicyChoice | IncidentsPolicy | None = None,
    actor: str = "reporter",
    today: dt.date | None = None,
    file: str = "(report)",
    components: Any = _UNREAD,
) -> PreparedReport:
    """Everything `report` does before its transaction: the checks, the record, the policy's verdict and,
    for a vulnerability, the fingerprint. Raises ReportInvalid naming the fields."""
    from assay.incidents.duplicates import report_fingerprint

    actor = _text(actor, "the actor", 200)
    now = _now()
    today = today or now.date()
    future = [
        Problem(file=file, field=name, message=f"{value} is in the future", expected=f"a date up to {today}")
        for name in ("occurred", "detected", "became_aware")
        if (value := getattr(rep, name)) is not None and value > today + dt.timedelta(days=1)
    ]
    if future:
        raise ReportInvalid(future)
    _check_references(ws, rep, file, components)
    choice = policy_choice(policy)
    pol = choice.policy
    if rep.reward_tier is not None and rep.reward_tier not in pol.reward_tiers:
        raise ReportInvalid(
            [
                Problem(
                    file=file,
                    field="reward_tier",
                    message=f"'{rep.reward_tier}' is not a tier of policy '{pol.id}'",
                    expected="one of " + ", ".join(pol.reward_tiers),
                )
            ]
        )
    aware = rep.became_aware or today
    inc = Incident(
        id="pending",
        system=rep.system,
        component=rep.component,
        kind=rep.kind,
        title=rep.title,
        description=rep.description,
        occurred=rep.occurred,
        detected=rep.detected,
        became_aware=aware,
        received_at=now,
        updated_at=now,
        harm_types=rep.harm_types,
        affected_groups=rep.affected_groups,
        severity=rep.severity,
        critical_infrastructure=rep.critical_infrastructure,
        death=rep.death,
        widespread=rep.widespread,
        policy_id=pol.id,
        policy_version=pol.version,
        policy_by_default=choice.by_default,
        evidence=rep.evidence,
        causes=rep.causes,
        mitigations=rep.mitigations,
        reporter_name=rep.reporter.name,
        reward_tier=rep.reward_tier,
        disclosure_date=today + dt.timedelta(days=pol.disclosure_days)
        if rep.kind == "vulnerability"
        else None,
        source=rep.source,
        external_ids=rep.external_ids,
    )
    judged = _apply_policy(inc, pol)
    print_ = report_fingerprint(rep.title, rep.description) if rep.kind == "vulnerability" else None
    return PreparedReport(
        rep=rep, inc=inc, choice=choice, judged=judged, print_=print_, today=today, now=now, actor=actor
    )


def report(
    ws: Workspace,
    rep: IncidentReport,
    *,
    policy: PolicyChoice | IncidentsPolicy | None = None,
    actor: str = "reporter",
    today: dt.date | None = None,
    file: str = "(report)",
    idempotency: tuple[str, str] | None = None,
) -> Incident:
    """Accept a report: check its references, judge it under the policy, number it, keep the reporter's
    contact apart, flag a near-duplicate vulnerability, and log the `reported` event — one transaction.
    (`assay.incidents.batch` stores many prepared reports in one transaction the same way.)"""
    from assay.incidents.duplicates import find_near_duplicate

    p = prepare_report(ws, rep, policy=policy, actor=actor, today=today, file=file)
    inc, print_, today, now = p.inc, p.print_, p.today, p.now
    with ws.db.write_session() as s:
        if idempotency is not None:
            seen = rows.get_idempotency(s, idempotency[0])
            if seen is not None:
                raise AlreadyReported(seen["incident_id"], seen["request_sha256"] == idempotency[1])
        if print_ is not None:
            near = find_near_duplicate(s, rep.system, print_)
            if near is not None:
                inc.near_duplicate_of, inc.near_duplicate_similarity = near.incident_id, near.similarity
        number = rows.next_number(s, rep.system, today.year)
        inc.id = incident_id(rep.system, today.year, number)
        if idempotency is not None:
            rows.put_idempotency(s, idempotency[0], idempotency[1], inc.id)
        rows.insert_incident(
            s,
            {
                "id": inc.id,
                "system_slug": inc.system,
                "year": today.year,
                "number": number,
                "kind": inc.kind,
                "status": inc.status,
                "severe": inc.severe,
                "deadline": inc.deadline,
                "record": inc.public(),
                "fingerprint": print_.fingerprint if print_ else b"",
                "event_count": 0,
                "head_hash": GENESIS,
                "received_at": now,
                "updated_at": now,
            },
        )
        contact = rep.reporter
        if contact.email or contact.other_contact or contact.name:
            rows.put_reporter(s, inc.id, contact.name, contact.email, contact.other_contact)
        if print_ is not None:
            rows.add_bands(s, inc.id, print_.bands)
        row = rows.lock_incident(s, inc.id)
        append_event(s, ws.signing_key, row, inc, "reported", p.actor, p.event_data(), now)
        announce_report(s, inc, p.choice.policy, rep.reporter.email)
    return inc


def announce_report(
    session: Any,
    inc: Incident,
    pol: IncidentsPolicy,
    reporter_email: str | None,
    found: Any = None,
    record: dict[str, Any] | None = None,
) -> None:
    """What a new report owes, queued in its transaction: the authority's notice when severe, the
    accountable parties' notice, and the reporter's acknowledgement (`assay.incidents.notices`)."""
    from assay.incidents import notices

    if inc.severe:
        notify_severe(session, inc, pol)
    if inc.severe or not inc.source.startswith("import:"):  # an imported old case is no news to them
        topic = "incident.severe" if inc.severe else "incident.reported"
        notices.to_parties(session, inc, topic, 1, found=found, record=record)
    notices.to_reporter(session, inc, reporter_email, 1, received=True)


def notify_severe(session: Any, inc: Incident, pol: IncidentsPolicy) -> list[str]:
    """Queue the notifications a severe incident owes — to each authority and sector contact of the
    policy, by e-mail and signed webhook — in the caller's transaction (`assay.notify`'s outbox), so
    the state change and its notifications commit together; `assay notify run` delivers them."""
    from assay.notify import enqueue

    deadline = f"due {inc.deadline}" if inc.deadline else "no deadline set"
    subject = f"Severe AI incident {inc.id} ({inc.system}): {deadline}"
    payload = {
        "incident": inc.public(),
        "rule": inc.rule_id,
        "deadline": str(inc.deadline) if inc.deadline else None,
        "text": (
            f"{subject}\n\n{inc.title}\n\nReported under policy {inc.policy_id}@{inc.policy_version}"
            f"{' (rule ' + inc.rule_id + ')' if inc.rule_id else ''}. An initial report "
            f"{'may be incomplete' if inc.initial_report_allowed else 'must be complete'}."
        ),
    }
    ids = []
    for c in pol.contacts:
        if c.email:
            ids.append(
                enqueue(
                    session,
                    channel="email",
                    destination=c.email,
                    topic="incident.severe",
                    subject=subject,
                    payload=payload,
                )
            )
        if c.webhook:
            ids.append(
                enqueue(
                    session,
                    channel="webhook",
                    destination=c.webhook,
                    topic="incident.severe",
                    payload=payload,
                    secret_env=c.secret_env,
                )
            )
    return ids


def _text(value: str, what: str, max_length: int = 20_000, *, required: bool = True) -> str:
    try:
        return check_text(value, what, max_length, required=required)
    except ValueError as exc:
        raise IncidentError(str(exc)) from None


def _change(
    ws: Workspace,
    ident: str,
    kind: str,
    actor: str,
    mutate: Callable[[Incident], dict[str, Any]],
    policy_for_notice: Callable[[Incident], IncidentsPolicy] | None = None,
) -> Incident:
    """Lock the row, apply `mutate` (which may refuse), append its event: one transaction."""
    ident = normalise_id(ident)
    actor = _text(actor, "the actor", 200)
    now = _now()
    with ws.db.write_session() as s:
        row = rows.lock_incident(s, ident)
        if row is None:
            raise IncidentNotFound(ident)
        inc = _to_incident(row)
        was_severe, was_status = inc.severe, inc.status
        data = mutate(inc)
        _publish_if_remediated(s, inc, data)
        event = append_event(s, ws.signing_key, row, inc, kind, actor, data, now)
        inc.updated_at = now
        if inc.severe and not was_severe and policy_for_notice is not None:
            from assay.incidents import notices

            notify_severe(s, inc, policy_for_notice(inc))
            notices.to_parties(s, inc, "incident.severe", event.seq)
        if inc.status != was_status:
            from assay.incidents import notices

            contact = rows.get_reporter(s, inc.id)
            notices.to_reporter(s, inc, (contact or {}).get("email"), event.seq, received=False)
        return inc


def _publish_if_remediated(session: Any, inc: Incident, data: dict[str, Any]) -> None:
    """An incident that reaches a remediated state gets its advisory id, once: in the change's own
    transaction and signed record, so the id is never lost, never reissued, and kept through a reopening."""
    from assay.store.advisories import issue_advisory

    if inc.status not in PUBLIC_STATUSES or inc.advisory_id is not None:
        return
    inc.advisory_id = issue_advisory(session, inc.id, inc.system, _now().year, advisory_id)
    data["advisory_id"] = inc.advisory_id


def _policy_for(inc: Incident, policy: PolicyChoice | IncidentsPolicy | None) -> IncidentsPolicy:
    if policy is not None:
        return policy_choice(policy).policy
    if inc.policy_id in BUILTIN:
        return builtin_policy(inc.policy_id)
    raise IncidentError(
        f"{inc.id} was judged under policy '{inc.policy_id}@{inc.policy_version}', which is not built in; "
        "give that policy again (--policy FILE)"
    )


def triage(
    ws: Workspace,
    ident: str,
    *,
    severity: Severity | None = None,
    harm_types: Sequence[str] | None = None,
    affected_groups: Sequence[str] | None = None,
    critical_infrastructure: bool | None = None,
    death: bool | None = None,
    widespread: bool | None = None,
    policy: PolicyChoice | IncidentsPolicy | None = None,
    note: str = "",
    actor: str = "triager",
) -> Incident:
    """Judge an open incident: set what is known, re-evaluate the rules (severe, rule, deadline from the
    awareness date). A received incident becomes triaged; a later one keeps its state."""
    if severity is not None and severity not in ("low", "medium", "high", "critical"):
        raise IncidentError(f"unknown severity '{severity}'; severities are low, medium, high, critical")
    note = _text(note, "the note", required=False)
    groups = [_text(g, "an affected group", 200) for g in affected_groups or [] if g.strip()]
    vocab = harm_vocabulary()
    unknown = [h for h in (harm_types or []) if h not in vocab]
    if unknown:
        raise IncidentError(f"unknown harm type(s) {', '.join(unknown)}; known: {', '.join(vocab)}")

    def mutate(inc: Incident) -> dict[str, Any]:
        if inc.status not in OPEN_STATUSES:
            raise IncidentError(
                f"{inc.id} is {inc.status}; only open incidents ({', '.join(OPEN_STATUSES)}) can be triaged"
            )
        before = {"severity": inc.severity, "severe": inc.severe, "rule": inc.rule_id}
        if severity is not None:
            inc.severity = severity
        if harm_types is not None:
            inc.harm_types = list(dict.fromkeys(harm_types))
        if affected_groups is not None:
            inc.affected_groups = list(dict.fromkeys(groups))
        for flag, value in (
            ("critical_infrastructure", critical_infrastructure),
            ("death", death),
            ("widespread", widespread),
        ):
            if value is not None:
                setattr(inc, flag, value)
        if "death" in inc.harm_types:
            inc.death = True
        elif inc.death:
            inc.harm_types.append("death")
        if "critical-infrastructure" in inc.harm_types:
            inc.critical_infrastructure = True
        judged = _apply_policy(inc, _policy_for(inc, policy))
        if policy is not None:
            chosen = policy_choice(policy)
            inc.policy_id, inc.policy_version = chosen.policy.id, chosen.policy.version
            inc.policy_by_default = chosen.by_default
        moved = inc.status == "received"
        if moved:
            inc.status = "triaged"
        return {
            **judged,
            "before": before,
            "severity": inc.severity,
            "harm_types": inc.harm_types,
            "affected_groups": inc.affected_groups,
            "to": inc.status if moved else None,
            "note": note,
        }

    return _change(ws, ident, "triaged", actor, mutate, lambda inc: _policy_for(inc, policy))


def move(
    ws: Workspace,
    ident: str,
    state: str,
    *,
    note: str = "",
    duplicate_of: str | None = None,
    causes: str | None = None,
    mitigation: str | None = None,
    corrective_action: str | None = None,
    actor: str = "triager",
) -> Incident:
    """Move to the next state, if the workflow allows it (the error names the allowed ones)."""
    if state not in STATUSES:
        raise IncidentError(f"unknown state '{state}'; states are {', '.join(STATUSES)}")
    note = _text(note, "the note", required=False)
    causes = _text(causes, "the causes", required=False) if causes is not None else None
    mitigation = _text(mitigation, "the mitigation") if mitigation is not None else None
    if corrective_action is not None:
        corrective_action = _text(corrective_action, "the corrective action", 2000)
    if state == "duplicate" and not duplicate_of:
        raise IncidentError("moving to duplicate needs the id of the incident it duplicates (--of ID)")
    if duplicate_of is not None:
        duplicate_of = normalise_id(duplicate_of)
        if state != "duplicate":
            raise IncidentError("--of names the original only when moving to duplicate")
        if duplicate_of == normalise_id(ident):
            raise IncidentError("an incident cannot duplicate itself")
        get_incident(ws, duplicate_of)

    def mutate(inc: Incident) -> dict[str, Any]:
        allowed = TRANSITIONS[inc.status]
        if state not in allowed:
            nxt = ", ".join(allowed) if allowed else "none: it is final"
            raise IncidentError(f"{inc.id} is {inc.status}; it cannot move to {state} (allowed next: {nxt})")
        data: dict[str, Any] = {"from": inc.status, "to": state, "note": note}
        inc.status = state  # type: ignore[assignment]
        if duplicate_of:
            inc.duplicate_of = data["duplicate_of"] = duplicate_of
        if causes is not None:
            inc.causes = data["causes"] = causes
        if mitigation is not None:
            inc.mitigations = (inc.mitigations + "\n" + mitigation).strip()
            data["mitigation"] = mitigation
        if corrective_action is not None:
            inc.corrective_actions.append(corrective_action)
            data["corrective_action"] = corrective_action
        return data

    return _change(ws, ident, "moved", actor, mutate)


def assign(ws: Workspace, ident: str, who: str, *, actor: str = "triager") -> Incident:
    who = _text(who, "the assignee", 200)

    def mutate(inc: Incident) -> dict[str, Any]:
        data = {"from": inc.assignee, "to": who}
        inc.assignee = who
        return data

    return _change(ws, ident, "assigned", actor, mutate)


def comment(ws: Workspace, ident: str, text: str, *, actor: str = "triager") -> Incident:
    text = _text(text, "the comment")
    return _change(ws, ident, "commented", actor, lambda inc: {"text": text})


def file_report(
    ws: Workspace,
    ident: str,
    *,
    on: dt.date | None = None,
    initial: bool = False,
    reference: str = "",
    actor: str = "triager",
) -> Incident:
    """Record that the incident was reported to the authority; this stops its deadline clock. An initial,
    incomplete report stops it only where the rule allows one (EU Art. 73(5))."""
    on = on or _now().date()
    reference = _text(reference, "the reference", 200, required=False)

    def mutate(inc: Incident) -> dict[str, Any]:
        if not inc.severe:
            raise IncidentError(f"{inc.id} is not severe under its policy; nothing is due to the authority")
        if initial and not inc.initial_report_allowed:
            raise IncidentError(
                f"rule {inc.rule_id} of {inc.id} does not allow an initial incomplete report; file the "
                "complete report"
            )
        if on < inc.became_aware:
            raise IncidentError(f"the report date {on} is before the awareness date {inc.became_aware}")
        inc.authority_reported_at = on
        inc.authority_report_initial = initial
        inc.authority_reference = reference
        late = inc.deadline is not None and on > inc.deadline
        return {"on": on.isoformat(), "initial": initial, "reference": reference, "late": late}

    return _change(ws, ident, "filed", actor, mutate)


def get_incident(ws: Workspace, ident: str) -> Incident:
    ident = normalise_id(ident)
    with ws.db.session() as s:
        row = rows.get_incident_row(s, ident)
        if row is None:
            raise IncidentNotFound(ident)
        return _to_incident(row)


def list_incidents(
    ws: Workspace,
    *,
    system: str | None = None,
    status: Sequence[str] | None = None,
    kind: str | None = None,
) -> list[Incident]:
    if kind is not None and kind not in ("incident", "vulnerability"):
        raise IncidentError(f"unknown kind '{kind}'; kinds are incident, vulnerability")
    bad = [x for x in (status or []) if x not in STATUSES]
    if bad:
        raise IncidentError(f"unknown status {', '.join(bad)}; states are {', '.join(STATUSES)}")
    with ws.db.session() as s:
        return [_to_incident(r) for r in rows.list_incident_rows(s, system, status, kind)]


def events(ws: Workspace, ident: str) -> list[IncidentEvent]:
    ident = normalise_id(ident)
    with ws.db.session() as s:
        if rows.get_incident_row(s, ident) is None:
            raise IncidentNotFound(ident)
        return [to_event(r) for r in rows.event_rows(s, ident)]


def reporter_contact(ws: Workspace, ident: str) -> Reporter | None:
    """The private contact, for the people who answer the reporter; never part of an export."""
    with ws.db.session() as s:
        found = rows.get_reporter(s, normalise_id(ident))
    return Reporter.model_validate(found) if found else None


def due(
    ws: Workspace, today: dt.date, *, within: int | None = None, policy: IncidentsPolicy | None = None
) -> list[DueItem]:
    """Severe incidents not yet reported to the authority whose deadline has passed (overdue) or falls
    within the reminder window (`within` days; default the policy's `reminder_days`, EU set: 2)."""
    window = within if within is not None else (policy or builtin_policy(DEFAULT_POLICY)).reminder_days
    if window < 0:
        raise IncidentError("the reminder window is a number of days, 0 or more")
    out: list[DueItem] = []
    for inc in list_incidents(ws):
        if not inc.severe or inc.deadline is None or inc.status in ("duplicate", "rejected"):
            continue
        if inc.authority_reported_at is not None and (
            not inc.authority_report_initial or inc.initial_report_allowed
        ):
            continue
        left = (inc.deadline - today).days
        if left > window:
            continue
        out.append(
            DueItem(
                incident_id=inc.id,
                system=inc.system,
                title=inc.title,
                status=inc.status,
                rule_id=inc.rule_id,
                deadline=inc.deadline,
                days_left=left,
                state="overdue" if left < 0 else "due_soon",
                initial_report_allowed=inc.initial_report_allowed,
            )
        )
    return sorted(out, key=lambda d: (d.deadline, d.incident_id))


def audit(ws: Workspace, incident_id: str | None = None) -> list[ChainAudit]:
    """Verify every incident's log (or one), and that no issued incident number is missing. Each
    verdict names the first broken link."""
    key = ws.signing_key
    out: list[ChainAudit] = []
    with ws.db.session() as s:
        if incident_id is not None:
            ids = [normalise_id(incident_id)]
            if rows.get_incident_row(s, ids[0]) is None and ids[0] not in rows.event_incident_ids(s):
                raise IncidentNotFound(ids[0])
        else:
            ids = sorted(set(rows.incident_ids(s)) | set(rows.event_incident_ids(s)))
        for ident in ids:
            row = rows.get_incident_row(s, ident)
            head = (row.event_count, row.head_hash) if row is not None else None
            current = None
            if row is not None:
                try:
                    current = record_sha256(_to_incident(row))
                except IncidentError:  # a record edited into something that no longer validates
                    current = "(invalid record)"
            verdict = check_chain(ident, rows.event_rows(s, ident), key, head, current)
            if verdict.ok and row is not None:
                verdict = _check_index(verdict, row)
            out.append(verdict)
        if incident_id is None:
            seen = {a.incident_id for a in out}
            for system, year, last in rows.counters(s):
                used = rows.numbers_in_use(s, system, year)
                for n in range(1, last + 1):
                    missing = incident_id_for(system, year, n)
                    if n not in used and missing not in seen:
                        out.append(
                            ChainAudit(
                                incident_id=missing,
                                events=0,
                                ok=False,
                                problem=f"{missing} was issued but its record and its log are gone",
                            )
                        )
    return out


def _check_index(verdict: ChainAudit, row: Any) -> ChainAudit:
    """The indexed columns (what `list --status` and `due` filter on) must say what the record says."""
    rec = row.record
    deadline = dt.date.fromisoformat(rec["deadline"]) if rec.get("deadline") else None
    for column, stored, recorded in (
        ("status", row.status, rec.get("status")),
        ("severe", bool(row.severe), bool(rec.get("severe"))),
        ("deadline", row.deadline, deadline),
        ("kind", row.kind, rec.get("kind")),
        ("system_slug", row.system_slug, rec.get("system")),
    ):
        if stored != recorded:
            return verdict.model_copy(
                update={
                    "ok": False,
                    "problem": f"the {column} column says {stored}, but the signed record says {recorded}: "
                    "the index was edited outside Assay",
                }
            )
    return verdict


def incident_id_for(system: str, year: int, number: int) -> str:
    return incident_id(system, year, number)
