"""Labels as stored things: the bytes of label.json, recording one as signed evidence, reading the
current one back, and what `--strict` holds against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from assay.assurance.evidence import Evidence, list_evidence, record_evidence
from assay.label.models import Disclosure
from assay.store.blobs import atomic_write, sha256_bytes
from assay.workspace import Workspace

KIND = "label.disclosure"  # the catalog's evidence kind for the food-label disclosure
NAME = "label.json"
LOCALE_FILES = frozenset({"label.zh.html", "label.ms.html", "label.ta.html", "label.pdf"})
"""Renderings recorded as `label.locale` (the label in another language); the rest: `label.disclosure`."""
MEDIA_TYPE = "application/json"


def label_bytes(disclosure: Disclosure) -> bytes:
    """The one way a label is written, so the file, the blob and a re-serialisation hash the same."""
    data = disclosure.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def title(disclosure: Disclosure) -> str:
    c = disclosure.completeness
    red = sum(g.status == "red" for g in disclosure.grades)
    pack = f", pack {disclosure.policy.pack_id}@{disclosure.policy.pack_version}" if disclosure.policy else ""
    return (
        f"Food label of {disclosure.identity.name} v{disclosure.identity.version}: "
        f"{len(disclosure.grades)} grade(s), {red} red, completeness {100 * c.score:.0f}%{pack}"
    )


def write_label(ws: Workspace, disclosure: Disclosure, path: Path) -> Evidence:
    """Write label.json atomically and record the same bytes as signed evidence of kind `label`."""
    content = label_bytes(disclosure)
    atomic_write(path, content)
    return record_evidence(
        ws,
        content,
        kind=KIND,
        system=disclosure.identity.system_id,
        name=NAME,
        media_type=MEDIA_TYPE,
        summary=title(disclosure),
    )


def current_label(ws: Workspace, system_id: str) -> tuple[Disclosure, Evidence] | None:
    """The newest recorded label of a system whose bytes still match their hash (None when none does)."""
    records = list_evidence(ws, system=system_id, kind=KIND, limit=1_000_000)
    for ev in reversed(records):
        if ev.name != NAME and not ev.name.endswith("/" + NAME):
            continue  # the label's exports share its evidence kind; only label.json is the label
        try:
            content = ws.blobs.get(ev.sha256)
            if sha256_bytes(content) != ev.sha256:
                continue  # changed after it was signed: never published as the signed label
            return Disclosure.model_validate_json(content), ev
        except (OSError, ValueError):
            continue
    return None


def strict_problems(disclosure: Disclosure) -> list[str]:
    """Why `assay assess --strict` fails: each red grade and each required area not disclosed."""
    problems = [
        f"red: {g.rule_id} ({g.title}){f' on {g.target}' if g.target else ''}: {g.reason}"
        for g in disclosure.grades
        if g.status == "red"
    ]
    problems += [
        f"not disclosed: required area '{area}' has no source" for area in disclosure.completeness.missing
    ]
    return problems


class LabelFile(NamedTuple):
    """One file written beside label.json, with the evidence kind it is recorded under."""

    name: str
    content: bytes
    media_type: str
    kind: str


def label_files(
    folder: Path, disclosure: Disclosure, manifest: Any, *, printed: bool
) -> tuple[list[LabelFile], str | None]:
    """Write the label's renderings (HTML in four languages, badge, and when `printed` PNG and PDF)
    and its exports (CycloneDX, SPDX, model card) into `folder`; return them with their evidence kinds,
    and why printing was left out if it failed (no Chromium, or Chromium's error). Callers record them."""
    from assay.label.exports import model_for_target, write_exports
    from assay.label.render import ChromiumNotFound, RenderError, write_renderings

    why = None
    try:
        files = write_renderings(folder, disclosure, printed=printed)
    except ChromiumNotFound as exc:
        why, files = f"no PNG or PDF ({exc})", write_renderings(folder, disclosure, printed=False)
    except RenderError as exc:
        why = f"printing failed, no PNG or PDF: {exc}"
        files = write_renderings(folder, disclosure, printed=False)
    exports = write_exports(disclosure, model_for_target(manifest))
    for name, content, _ in exports:
        atomic_write(folder / name, content)
    out = [
        LabelFile(name, content, media, "label.locale" if name in LOCALE_FILES else "label.disclosure")
        for name, content, media in [*files, *exports]
    ]
    return out, why
