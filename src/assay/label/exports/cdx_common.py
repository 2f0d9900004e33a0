"""What the two CycloneDX 1.6 documents share: licences, suppliers, hashes, serial numbers and the
validation against the official 1.6 JSON schema that cyclonedx-python-lib ships (so it works offline).

The documents are built as plain JSON because the library's object model cannot express `modelCard`;
the library is used only for what it does well here: the schema and the SPDX licence list.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from typing import Any

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
MEDIA_TYPE = "application/vnd.cyclonedx+json"
# Namespace for the BOM serial numbers: a BOM built twice from the same inputs gets the same serial,
# so the file's SHA-256 is stable as evidence.
_SERIAL_NS = uuid.UUID("6f3f1c1e-5b0a-4f43-9c59-3d0f4b7a2e61")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


class ExportInvalid(ValueError):
    """An export does not validate against its standard's schema; `problems` says where and why."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.what = what
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{what} is not valid:\n{shown}{more}")


def utc_time(text: str, field: str = "generated_at") -> str:
    """An ISO 8601 time as CycloneDX and SPDX want it (UTC, 'Z'); a time without an offset is taken
    as UTC, as the label's schema says it is. Anything else is an ExportInvalid naming the field."""
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ExportInvalid("the label", [f"{field}: {text!r} is not an ISO 8601 date and time"]) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def serial_number(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_SERIAL_NS, chr(0).join(parts))}"


def bom_skeleton(serial: str, timestamp: str) -> dict[str, Any]:
    from assay import __version__

    return {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": "assay",
                        "version": __version__,
                        "description": "Model AI Governance Framework for Generative AI, as running software",
                    }
                ]
            },
        },
    }


def licence_choice(licence: str) -> list[dict[str, Any]] | None:
    """An SPDX id as `license.id`, an SPDX expression as `expression`, anything else as `license.name`."""
    from cyclonedx.spdx import fixup_id, is_expression

    text = " ".join(licence.split())
    if not text:
        return None
    spdx_id = fixup_id(text)
    if spdx_id is not None:
        return [{"license": {"id": spdx_id}}]
    if " " in text and is_expression(text):
        return [{"expression": text}]
    return [{"license": {"name": text}}]


def spdx_licence_id(licence: str) -> str | None:
    """The canonical SPDX id for `licence`, or None when it is not on the SPDX list."""
    from cyclonedx.spdx import fixup_id

    text = licence.strip()
    return fixup_id(text) if text else None


def _conforms(value: str, fmt: str) -> bool:
    """Whether the schema's own format checker accepts `value` (so a BOM never fails on a contact)."""
    from jsonschema import Draft7Validator

    return bool(Draft7Validator.FORMAT_CHECKER.conforms(value, fmt))


def organisation(name: str, contact: str = "") -> dict[str, Any]:
    """A CycloneDX organizationalEntity; a contact becomes a URL or an e-mail only when it is one."""
    entity: dict[str, Any] = {"name": name}
    contact = contact.strip()
    if _URL.match(contact) and _conforms(contact, "iri-reference"):
        entity["url"] = [contact]
    elif _EMAIL.match(contact) and _conforms(contact, "idn-email"):
        entity["contact"] = [{"email": contact}]
    return entity


def sha256_hash(digest: str) -> dict[str, str]:
    return {"alg": "SHA-256", "content": digest}


def prop(name: str, value: object) -> dict[str, str]:
    return {"name": f"assay:{name}", "value": str(value)}


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The library's strict JSON validator for 1.6; built once (the schema is large)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    return JsonStrictValidator(SchemaVersion.V1_6)


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _bom_refs(node: Any, path: str, seen: dict[str, str], problems: list[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("bom-ref")
        if isinstance(ref, str):
            if ref in seen:
                problems.append(f"{path}.bom-ref: '{ref}' is used twice (also at {seen[ref]})")
            seen.setdefault(ref, path)
        for key, value in node.items():
            _bom_refs(value, f"{path}.{key}" if path else key, seen, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _bom_refs(value, f"{path}[{i}]", seen, problems)


def reference_problems(bom: dict[str, Any]) -> list[str]:
    """What the JSON schema cannot check: bom-refs are unique (the spec requires it) and every
    dependency and model-card dataset reference names one that exists."""
    seen: dict[str, str] = {}
    problems: list[str] = []
    _bom_refs(bom, "", seen, problems)
    for i, dep in enumerate(bom.get("dependencies") or []):
        if not isinstance(dep, dict):
            continue
        refs = [("ref", dep.get("ref"))] + [
            (f"dependsOn[{j}]", r) for j, r in enumerate(dep.get("dependsOn") or [])
        ]
        for where, ref in refs:
            if isinstance(ref, str) and ref not in seen:
                problems.append(
                    f"dependencies[{i}].{where}: '{ref}' is not the bom-ref of anything in the BOM"
                )
    for i, comp in enumerate(bom.get("components") or []):
        card = comp.get("modelCard") if isinstance(comp, dict) else None
        datasets = ((card or {}).get("modelParameters") or {}).get("datasets") or []
        for j, ds in enumerate(datasets):
            ref = ds.get("ref") if isinstance(ds, dict) else None
            if isinstance(ref, str) and ref not in seen:
                problems.append(
                    f"components[{i}].modelCard.modelParameters.datasets[{j}].ref: "
                    f"'{ref}' names no data component"
                )
    return problems


def cyclonedx_problems(bom: dict[str, Any]) -> list[str]:
    """Every place where `bom` breaks the CycloneDX 1.6 JSON schema (checked with the library's strict
    validator), or its references dangle, as 'path: message' lines."""
    errors = _validator().validate_str(json.dumps(bom), all_errors=True)
    problems = []
    for err in errors or []:
        raw = err.data  # a jsonschema ValidationError
        message = raw.message if len(raw.message) <= 300 else raw.message[:300] + "…"
        problems.append(f"{_where(raw.absolute_path)}: {message}")
    return sorted(set(problems)) + reference_problems(bom)


def validate_cyclonedx(bom: dict[str, Any], what: str = "CycloneDX 1.6 BOM") -> dict[str, Any]:
    """Return `bom` if it validates against the official CycloneDX 1.6 schema; else raise ExportInvalid."""
    problems = cyclonedx_problems(bom)
    if problems:
        raise ExportInvalid(what, problems)
    return bom


def to_json_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
