"""Exchange with the public incident databases: AVID report JSON, AI Incident Database (AIID) incident
JSON and an OECD AI Incidents Monitor (AIM)-style CSV out; AIID incident JSON in.

Every export is built from the public `Incident` record only, so the reporter's contact (kept in its
own table) cannot reach one. The field names are the public formats' own; the mapping is Assay's and
is described in docs/incidents.md.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.incidents.models import Incident, IncidentReport
from assay.manifest.problems import Problem
from assay.manifest.schema import IsoDate, VisibleText
from assay.workspace import Workspace

Format = Literal["avid", "aiid", "oecd-csv"]
FORMATS: tuple[str, ...] = ("avid", "aiid", "oecd-csv")
AVID_DATA_VERSION = "0.2"
_SECURITY = {"security-compromise", "safety-bypass", "privacy"}
_ETHICS = {
    "discrimination",
    "fundamental-rights",
    "misinformation",
    "harmful-content",
    "psychological",
    "intellectual-property",
    "reputational",
}
OECD_COLUMNS = (
    "id",
    "type",
    "title",
    "date",
    "description",
    "system",
    "component",
    "sector",
    "harm_types",
    "harm_level",
    "affected_stakeholders",
    "severe",
    "status",
    "deployers",
    "developers",
    "corrective_actions",
)


class Parties(BaseModel):
    """Who the registry says develops and deploys the system (public names only)."""

    system_name: str = ""
    sector: str = ""
    developers: list[str] = Field(default_factory=list)
    deployers: list[str] = Field(default_factory=list)
    components: dict[str, str] = Field(default_factory=dict)


def parties_of(ws: Workspace, system: str) -> Parties:
    from assay.registry.service import SystemNotFound, get_manifest

    try:
        m = get_manifest(ws, system)
    except SystemNotFound:
        return Parties(system_name=system)
    dev = [p.name for p in m.parties if "model_developer" in p.roles]
    dep = [
        p.name
        for p in m.parties
        if {"application_deployer", "deploying_organisation"} & {str(r) for r in p.roles}
    ]
    return Parties(
        system_name=m.system.name,
        sector=m.system.sector or "",
        developers=dev,
        deployers=dep,
        components={c.id: c.name for c in m.components},
    )


def _risk_domains(inc: Incident) -> list[str]:
    harms = set(inc.harm_types)
    out = []
    if harms & _SECURITY or inc.kind == "vulnerability":
        out.append("Security")
    if harms & _ETHICS:
        out.append("Ethics")
    if not out or harms - _SECURITY - _ETHICS:
        out.append("Performance")
    return out


def to_avid(inc: Incident, parties: Parties) -> dict[str, Any]:
    """An AVID report: affects (developer, deployer, artifacts), problem type, description, impact
    (AVID taxonomy risk domains), references to the evidence by hash, credit, reported date."""
    artifacts = [{"type": "System", "name": parties.system_name or inc.system}]
    if inc.component:
        artifacts.append({"type": "Model", "name": parties.components.get(inc.component, inc.component)})
    return {
        "data_type": "AVID",
        "data_version": AVID_DATA_VERSION,
        "metadata": {"report_id": inc.id},
        "affects": {"developer": parties.developers, "deployer": parties.deployers, "artifacts": artifacts},
        "problemtype": {
            "classof": "Third-party Report" if inc.source != "cli" else "Undisclosed",
            "type": "Advisory" if inc.kind == "vulnerability" else "Issue",
            "description": {"lang": "eng", "value": inc.title},
        },
        "metrics": [],
        "references": [
            {"type": "source", "label": f"evidence {link.ref}", "url": f"assay:evidence/{link.ref}"}
            for link in inc.evidence
        ],
        "description": {"lang": "eng", "value": inc.description},
        "impact": {
            "avid": {
                "risk_domain": _risk_domains(inc),
                "sep_view": [],
                "lifecycle_view": [],
                "taxonomy_version": AVID_DATA_VERSION,
            }
        },
        "credit": [{"lang": "eng", "value": inc.reporter_name}] if inc.reporter_name else [],
        "reported_date": inc.received_at.date().isoformat(),
    }


def to_aiid(inc: Incident, parties: Parties) -> dict[str, Any]:
    """An AIID-style incident: its title, description, date and the three "alleged" party lists."""
    return {
        "incident_id": inc.id,
        "title": inc.title,
        "description": inc.description,
        "date": (inc.occurred or inc.became_aware).isoformat(),
        "Alleged deployer of AI system": parties.deployers,
        "Alleged developer of AI system": parties.developers,
        "Alleged harmed or nearly harmed parties": inc.affected_groups,
        "implicated_systems": [parties.system_name or inc.system],
        "reports": [],
        "harm_types": inc.harm_types,
        "severity": inc.severity,
        "status": inc.status,
        "external_ids": inc.external_ids,
    }


def _oecd_row(inc: Incident, parties: Parties) -> dict[str, str]:
    return {
        "id": inc.id,
        "type": "hazard" if inc.kind == "vulnerability" else "incident",
        "title": inc.title,
        "date": (inc.occurred or inc.became_aware).isoformat(),
        "description": inc.description,
        "system": parties.system_name or inc.system,
        "component": parties.components.get(inc.component or "", inc.component or ""),
        "sector": parties.sector,
        "harm_types": ";".join(inc.harm_types),
        "harm_level": inc.severity or "",
        "affected_stakeholders": ";".join(inc.affected_groups),
        "severe": "yes" if inc.severe else "no",
        "status": inc.status,
        "deployers": ";".join(parties.deployers),
        "developers": ";".join(parties.developers),
        "corrective_actions": ";".join(inc.corrective_actions),
    }


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula is prefixed with an apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export(ws: Workspace, incidents: list[Incident], fmt: str) -> str:
    """The incidents in one format, as text (JSON: one object, or a list for several)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; formats are {', '.join(FORMATS)}")
    cache: dict[str, Parties] = {}

    def parties(system: str) -> Parties:
        if system not in cache:
            cache[system] = parties_of(ws, system)
        return cache[system]

    if fmt == "oecd-csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=OECD_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for inc in incidents:
            writer.writerow({k: _csv_safe(v) for k, v in _oecd_row(inc, parties(inc.system)).items()})
        return buf.getvalue()
    build = to_avid if fmt == "avid" else to_aiid
    items = [build(inc, parties(inc.system)) for inc in incidents]
    return json.dumps(items[0] if len(items) == 1 else items, indent=2, ensure_ascii=False) + "\n"


class AiidIncident(BaseModel):
    """One incident as the AI Incident Database publishes it (the fields Assay reads)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    incident_id: int | str
    title: VisibleText(1, 300)  # type: ignore[valid-type]
    description: VisibleText(1, 20_000)  # type: ignore[valid-type]
    date: IsoDate
    deployers: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("Alleged deployer of AI system", "AllegedDeployerOfAISystem"),
        max_length=100,
    )
    developers: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("Alleged developer of AI system", "AllegedDeveloperOfAISystem"),
        max_length=100,
    )
    harmed: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "Alleged harmed or nearly harmed parties", "AllegedHarmedOrNearlyHarmedParties"
        ),
        max_length=50,
    )

    @field_validator("incident_id")
    @classmethod
    def _id(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value


class ImportInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.render() for p in problems))


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def parse_aiid(raw: bytes | str, file: str) -> list[AiidIncident]:
    """A file holding one AIID incident, a list of them, or `{"incidents": [...]}`. Every problem is
    collected and named by its place in the file (`[2].date`)."""
    from assay.jsonio import JsonLimitError, loads

    try:
        data = loads(raw, file=file)
    except json.JSONDecodeError as exc:
        raise ImportInvalid(
            [
                Problem(
                    file=file,
                    line=exc.lineno,
                    column=exc.colno,
                    field="(document)",
                    message=exc.msg,
                    expected="JSON",
                )
            ]
        ) from None
    except JsonLimitError as exc:
        raise ImportInvalid([Problem(file=file, field="(document)", message=exc.message)]) from None
    prefix = ""
    if isinstance(data, dict) and isinstance(data.get("incidents"), list):
        data, prefix = data["incidents"], "incidents"
    items = data if isinstance(data, list) else [data]
    single = not isinstance(data, list)
    out: list[AiidIncident] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        where = prefix if single else f"{prefix}[{i}]"
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    file=file,
                    field=where or "(document)",
                    message=f"is {type(item).__name__}",
                    expected="an AIID incident object",
                )
            )
            continue
        try:
            out.append(AiidIncident.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(Problem(file=file, field=_loc(where, err["loc"]), message=err["msg"]))
    if not items:
        problems.append(
            Problem(
                file=file,
                field="(document)",
                message="holds no incidents",
                expected="an AIID incident or a list of them",
            )
        )
    if problems:
        raise ImportInvalid(problems)
    return out


def import_aiid(ws: Workspace, path: Path, system: str, *, policy: Any = None) -> list[tuple[str, bool]]:
    """Record each AIID incident as an incident of `system`; an incident imported before (same AIID id,
    same system) is skipped, so importing a file twice adds nothing. Returns (id, newly added) pairs."""
    from assay.incidents.service import list_incidents, report

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportInvalid([Problem(file=str(path), field="(file)", message=str(exc))]) from None
    parsed = parse_aiid(raw, str(path))
    already = {
        inc.external_ids.get("aiid"): inc.id
        for inc in list_incidents(ws, system=system)
        if inc.external_ids.get("aiid")
    }
    out: list[tuple[str, bool]] = []
    for item in parsed:
        key = str(item.incident_id)
        if key in already:
            out.append((already[key], False))
            continue
        rep = IncidentReport(
            system=system,
            title=item.title,
            description=item.description,
            occurred=item.date,
            affected_groups=item.harmed,
            source="import:aiid",
            external_ids={"aiid": key},
        )
        inc = report(ws, rep, policy=policy, actor="import:aiid", file=str(path))
        already[key] = inc.id
        out.append((inc.id, True))
    return out
