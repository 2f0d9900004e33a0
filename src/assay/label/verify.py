"""`assay label verify`: is this label.json the one that was signed, and does everything it lists still
check out?

The file's hash must be that of a signed `label` record whose signature holds; every evidence record
the label lists must exist, have the hash the label gives, keep its bytes and its signature. A label
edited after signing matches no record; the check then compares it with the newest signed label of the
same system to name the values that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from assay.assurance.evidence import Evidence, check_evidence, get_evidence, list_evidence
from assay.label.models import Disclosure
from assay.label.service import KIND
from assay.store.blobs import sha256_bytes
from assay.workspace import Workspace


class LabelUnreadable(ValueError):
    """The file is not a label at all (missing, not JSON, not the schema): bad input, exit 2."""


class LabelProblem(BaseModel):
    what: str
    message: str


class LabelCheck(BaseModel):
    path: str
    sha256: str
    system: str
    label_evidence_id: str | None = None
    evidence_checked: int = 0
    problems: list[LabelProblem] = []

    @property
    def ok(self) -> bool:
        return not self.problems


def read_label(path: Path) -> tuple[bytes, Disclosure]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise LabelUnreadable(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return content, Disclosure.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise LabelUnreadable(
            f"{path}: not a label ({exc.error_count()} problem(s); first: {where}: {first['msg']})"
        ) from None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def changed_fields(old: Any, new: Any, limit: int = 10) -> list[str]:
    """Dotted paths whose values differ between two JSON documents (at most `limit`)."""
    a, b = _flatten(old), _flatten(new)
    diffs = [k for k in sorted(set(a) | set(b)) if a.get(k, "<absent>") != b.get(k, "<absent>")]
    return diffs[:limit]


TWINS = 50  # signed labels compared with a changed one, newest first


def _signed_twin(ws: Workspace, records: list[Evidence], changed: dict[str, Any]) -> dict[str, Any] | None:
    """Of the newest signed labels, the one closest to the changed file (fewest differing values): the
    version it was most likely edited from, so the problem names just what was changed."""
    best: tuple[int, dict[str, Any]] | None = None
    for r in list(reversed(records))[:TWINS]:
        try:
            signed = json.loads(ws.blobs.get(r.sha256))
        except (OSError, ValueError):
            continue
        n = len(changed_fields(signed, changed, limit=10_000))
        if best is None or n < best[0]:
            best = (n, signed)
    return best[1] if best else None


def verify_label(ws: Workspace, path: Path) -> LabelCheck:
    content, label = read_label(path)
    digest = sha256_bytes(content)
    system = label.identity.system_id
    check = LabelCheck(path=str(path), sha256=digest, system=system)
    records = list_evidence(ws, system=system, kind=KIND, limit=1_000_000)
    record = next((r for r in reversed(records) if r.sha256 == digest), None)
    if record is None:
        message = f"its hash {digest[:16]}… matches no signed label of '{system}' in {ws.home}"
        edited = json.loads(content)
        twin = _signed_twin(ws, records, edited)
        if twin is not None:
            fields = changed_fields(twin, edited)
            if fields:
                message += f"; compared with the closest signed label, changed: {', '.join(fields)}"
        check.problems.append(LabelProblem(what="label", message=message))
    else:
        check.label_evidence_id = record.id
        result = check_evidence(ws, record)
        check.problems += [LabelProblem(what="label", message=p) for p in result.problems]
    for ref in label.evidence:
        what = f"evidence {ref.name or ref.evidence_id} ({ref.kind}, {ref.sha256[:12]}…)"
        ev = get_evidence(ws, ref.evidence_id)
        check.evidence_checked += 1
        if ev is None:
            check.problems.append(LabelProblem(what=what, message="no such record in the evidence store"))
            continue
        if ev.sha256 != ref.sha256:
            check.problems.append(
                LabelProblem(
                    what=what, message=f"the record's hash is {ev.sha256}, not the one the label lists"
                )
            )
        result = check_evidence(ws, ev)
        check.problems += [LabelProblem(what=what, message=p) for p in result.problems]
    return check


def workspace_for(path: Path) -> Workspace:
    """ASSAY_HOME, else the `.assay` folder beside the label or beside its `out/` folder."""
    import os

    from assay.workspace import ENV_HOME

    if os.environ.get(ENV_HOME):
        return Workspace.at()
    folder = path.resolve().parent
    for candidate in (folder, folder.parent):
        if (candidate / ".assay").is_dir():
            return Workspace(candidate / ".assay")
    return Workspace.at()
