"""The public intake: a report from anyone, an id and a receipt back, safe retries.

A reporter has no account, so the receipt is what lets them follow their report: an HMAC of the
incident id under a secret kept in the workspace (`keys/receipts.key`, 0600), so nothing per report
needs storing and a receipt cannot be forged or moved to another incident. A retry that carries the
same `Idempotency-Key` and body gets the same incident back (the key is stored in the report's own
transaction); the same key with a different body is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
from typing import Annotated, Any, Literal

from pydantic import Field

from assay.incidents.models import MAX_TEXT, Incident, IncidentReport, Severity, _Typed
from assay.incidents.policy import harm_vocabulary
from assay.incidents.service import AlreadyReported, get_incident, report
from assay.manifest.schema import INVISIBLE, IsoDate
from assay.workspace import Workspace

HarmType = Literal[tuple(harm_vocabulary())]  # type: ignore[valid-type]
_NO_CONTROL = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
# invisible characters that are not controls (the manifest's INVISIBLE set, controls taken out)
_BLANK = "[" + INVISIBLE.replace("\\s\\x00-\\x1f\\x7f-\\xa0", "\\t\\n\\r \\x80-\\xa0") + "]"


def _typed(max_length: int, *, required: bool) -> Any:
    """Text a person typed, as the schema states it: no control characters (tab and newline are
    fine) and, when required, at least one visible character — the same rules the record enforces."""
    pattern = f"^{_BLANK}*[^{INVISIBLE}]{_NO_CONTROL}*$" if required else f"^{_NO_CONTROL}*$"
    return Annotated[str, Field(min_length=1 if required else 0, max_length=max_length, pattern=pattern)]


class PublicReporter(_Typed):
    name: _typed(200, required=False) = ""  # type: ignore[valid-type]
    # no control characters in the schema's pattern either, so what it promises is what is accepted
    email: str | None = Field(
        None, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$", max_length=320
    )
    other_contact: _typed(500, required=False) = ""  # type: ignore[valid-type]


MAX_IDEMPOTENCY_KEY = 200


class IdempotencyConflict(ValueError):
    """The key was used for a different report."""


class PublicReport(_Typed):
    """What the public may submit: a report without the fields only Assay sets (source, external ids).

    Harm types are an enum here, so the published schema says which exist."""

    system: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    component: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: Literal["incident", "vulnerability"] = "incident"
    title: _typed(300, required=True)  # type: ignore[valid-type]
    description: _typed(MAX_TEXT, required=True)  # type: ignore[valid-type]
    occurred: IsoDate | None = None
    detected: IsoDate | None = None
    became_aware: IsoDate | None = None
    harm_types: list[HarmType] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    affected_groups: list[_typed(200, required=True)] = Field(default_factory=list, max_length=50)  # type: ignore[valid-type]
    severity: Severity | None = None
    reporter: PublicReporter = Field(default_factory=PublicReporter)

    def as_report(self, source: str) -> IncidentReport:
        """The full report; what only the full model checks (harm vocabulary …) is a ReportInvalid."""
        from pydantic import ValidationError

        from assay.incidents.service import ReportInvalid
        from assay.manifest.problems import Problem

        try:
            return IncidentReport.model_validate({**self.model_dump(mode="json"), "source": source})
        except ValidationError as exc:
            raise ReportInvalid(
                [
                    Problem(
                        file="<request body>",
                        field=".".join(str(x) for x in e["loc"]) or "(body)",
                        message=e["msg"].removeprefix("Value error, "),
                    )
                    for e in exc.errors()
                ]
            ) from None


class Receipt(_Typed):
    id: str
    receipt: str = Field(description="keep it: with the id it shows this report's status, nothing else")
    status_url: str
    replayed: bool = Field(False, description="true when this answers a retry with the same key")


class PublicStatus(_Typed):
    """What a reporter sees through their receipt."""

    id: str
    kind: str
    system: str
    title: str
    status: str
    received_at: dt.datetime
    updated_at: dt.datetime


_receipt_keys: dict[str, bytes] = {}


def _receipt_key(ws: Workspace) -> bytes:
    """The workspace's receipt secret, read once per process (every answer of the intake needs it)."""
    found = _receipt_keys.get(str(ws.home))
    if found is None:
        found = _receipt_keys[str(ws.home)] = _read_or_make_key(ws.home / "keys" / "receipts.key")
    return found


def _read_or_make_key(path: Any) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()  # another process made it first
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        return path.read_bytes()


def receipt_for(ws: Workspace, incident_id: str) -> str:
    mac = hmac.new(_receipt_key(ws), incident_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def check_receipt(ws: Workspace, incident_id: str, receipt: str) -> bool:
    return hmac.compare_digest(receipt_for(ws, incident_id), receipt or "")


def submit(
    ws: Workspace,
    rep: PublicReport,
    *,
    source: str = "api",
    idempotency_key: str | None = None,
    body_sha256: str = "",
    policy: Any = None,
) -> tuple[Incident, bool]:
    """Accept a public report; (incident, replayed). Raises IdempotencyConflict for a reused key."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise IdempotencyConflict(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    key = (idempotency_key, body_sha256) if idempotency_key else None
    for _ in range(2):  # a concurrent first use of the same key: the loser finds the winner's row
        try:
            return report(ws, rep.as_report(source), policy=policy, actor="reporter", idempotency=key), False
        except AlreadyReported as seen:
            if not seen.same:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used for a different report"
                ) from None
            return get_incident(ws, seen.incident_id), True
        except Exception as exc:  # a unique-key race on PostgreSQL: look again
            if key is None or "idempotency" not in str(exc).lower():
                raise
    raise IdempotencyConflict("this Idempotency-Key is being used by another request; retry")


def public_status(inc: Incident) -> PublicStatus:
    return PublicStatus(
        id=inc.id,
        kind=inc.kind,
        system=inc.system,
        title=inc.title,
        status=inc.status,
        received_at=inc.received_at,
        updated_at=inc.updated_at,
    )
