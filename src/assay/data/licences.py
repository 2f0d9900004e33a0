"""Declared licences of a dataset, checked against the SPDX licence list shipped in the package.

Where the licence comes from, in order: the manifest's `datasets[].licence`, then a Hugging Face
dataset card's `license:` front matter (README.md), `dataset_info.json`'s `license`, and an
`SPDX-License-Identifier:` line in a LICENSE file. A non-commercial licence feeding a system that
declares commercial use (`system.commercial: true`) is an error; share-alike and no-derivatives terms
are warnings, since whether they bite depends on what is distributed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from assay import jsonio

NOT_SPDX_OK = {"proprietary", "other", "unknown", "none", "unlicensed", "see license", "custom"}
_TOKEN = re.compile(r"\(|\)|\s+(?:AND|OR|WITH)\s+|\s+", re.IGNORECASE)
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([^\n]+)", re.IGNORECASE)
MAX_META_BYTES = 1 << 20


class LicenceConflict(BaseModel):
    severity: str
    """"error" or "warning"."""
    licence: str
    message: str


class LicenceCheck(BaseModel):
    declared: str = ""
    source: str = ""
    """Where the declared licence was found: "manifest", "README.md", "dataset_info.json", "LICENSE"."""
    spdx_ids: list[str] = []
    unknown_ids: list[str] = []
    flags: list[str] = []
    conflicts: list[LicenceConflict] = []
    spdx_version: str = ""


@cache
def spdx_list() -> tuple[str, dict[str, list[str]]]:
    raw = json.loads(resources.files("assay.data").joinpath("data/spdx_licences.json").read_text("utf-8"))
    return str(raw["spdx_version"]), {k: list(v) for k, v in raw["licences"].items()}


@cache
def _by_lower() -> dict[str, str]:
    return {k.lower(): k for k in spdx_list()[1]}


def parse_expression(expr: str) -> tuple[list[str], list[str], bool]:
    """(known SPDX ids, unknown words, whether the parts are alternatives joined by OR)."""
    any_or = bool(re.search(r"\sOR\s", expr, re.IGNORECASE))
    known, unknown = [], []
    for part in _TOKEN.split(expr.strip()):
        if not part or part in "()":
            continue
        plus = part.endswith("+")
        lid = _by_lower().get(part.rstrip("+").lower())
        if lid:
            known.append(lid + ("+" if plus else ""))
        elif part.lower() not in NOT_SPDX_OK:
            unknown.append(part)
    return known, unknown, any_or


def declared_in_folder(meta_files: list[Path]) -> tuple[str, str]:
    """The licence a dataset folder declares and the file it came from ("", "") when none."""
    by_name = {p.name.lower(): p for p in meta_files}
    readme = by_name.get("readme.md")
    if readme and readme.stat().st_size <= MAX_META_BYTES:
        m = _FRONT.match(readme.read_text("utf-8", errors="replace"))
        if m:
            for line in m.group(1).splitlines():
                key, _, value = line.partition(":")
                if key.strip().lower() in ("license", "licence") and value.strip():
                    return value.strip().strip("'\""), readme.name
    info = by_name.get("dataset_info.json")
    if info:
        try:
            data = jsonio.read_json(info, jsonio.JsonLimits(max_bytes=MAX_META_BYTES))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("license"), str) and data["license"].strip():
            return data["license"].strip(), info.name
    for name in ("license", "licence", "license.txt", "licence.txt", "license.md", "licence.md", "copying"):
        p = by_name.get(name)
        if p and p.stat().st_size <= MAX_META_BYTES:
            m = _SPDX_LINE.search(p.read_text("utf-8", errors="replace"))
            if m:
                return m.group(1).strip(), p.name
            return "see " + p.name, p.name
    return "", ""


def check_licence(declared: str, source: str, commercial: bool | None) -> LicenceCheck:
    version, table = spdx_list()
    out = LicenceCheck(declared=declared, source=source, spdx_version=version)
    if not declared:
        out.conflicts.append(
            LicenceConflict(
                severity="warning",
                licence="",
                message="no licence declared (set `licence` on the manifest dataset, or ship a LICENSE)",
            )
        )
        return out
    if declared.lower().startswith("see "):
        return out
    known, unknown, alternatives = parse_expression(declared)
    out.spdx_ids, out.unknown_ids = known, unknown
    if unknown:
        out.conflicts.append(
            LicenceConflict(
                severity="warning",
                licence=declared,
                message=f"not on the SPDX licence list {version}: {', '.join(unknown)}",
            )
        )
    per_id = {lid: set(table[lid.rstrip("+")]) for lid in known}
    # With OR the user may pick the least restrictive alternative; with AND every term applies.
    if per_id:
        sets = list(per_id.values())
        flags = set.intersection(*sets) if alternatives else set.union(*sets)
    else:
        flags = set()
    out.flags = sorted(flags)
    restricted = [lid for lid, f in per_id.items() if f & flags]
    named = ", ".join(restricted) or declared
    if "non-commercial" in flags:
        if commercial:
            out.conflicts.append(
                LicenceConflict(
                    severity="error",
                    licence=named,
                    message=f"{named} forbids commercial use, and the manifest declares "
                    "`system.commercial: true`",
                )
            )
        elif commercial is None:
            out.conflicts.append(
                LicenceConflict(
                    severity="warning",
                    licence=named,
                    message=f"{named} forbids commercial use; the manifest does not say whether the "
                    "system is commercial (`system.commercial`)",
                )
            )
    if "share-alike" in flags and commercial is not False:
        out.conflicts.append(
            LicenceConflict(
                severity="warning",
                licence=named,
                message=f"{named} is share-alike: what is derived from this data may have to be shared "
                "under the same terms",
            )
        )
    if "no-derivatives" in flags:
        out.conflicts.append(
            LicenceConflict(
                severity="warning",
                licence=named,
                message=f"{named} allows no derivatives: training on it or adapting it may not be permitted",
            )
        )
    if "deprecated" in flags:
        out.conflicts.append(
            LicenceConflict(severity="warning", licence=named, message=f"{named} is a deprecated SPDX id")
        )
    return out
