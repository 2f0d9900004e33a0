"""Load the catalog from package data plus any user folders, and refuse anything inconsistent.

Every problem is reported with the file and, where there is one, the control id, because the person
fixing it is usually editing YAML by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assay.catalog.models import (
    FRAMEWORKS,
    Catalog,
    CatalogDocument,
    Control,
    Dimension,
    EvidenceKind,
    Framework,
)
from assay.yamlio import safe_load

YAML_SUFFIXES = (".yaml", ".yml")


class CatalogError(ValueError):
    """The catalog files are broken; `problems` lists each one as `file: [control id:] what is wrong`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"catalog has {count} problem{'s' if count != 1 else ''}:\n  - " + "\n  - ".join(problems)
        )


def load_catalog(extra_dirs: Iterable[str | os.PathLike[str]] | None = None) -> Catalog:
    """The built-in catalog, extended with the YAML files found (recursively) in `extra_dirs`.

    Results are cached per set of folders, so calling this often is cheap; edits to user files made
    after the first call are seen only after `clear_cache()`.
    """
    key = tuple(str(Path(d).expanduser().resolve()) for d in extra_dirs or ())
    return _load(key)


@lru_cache(maxsize=16)
def _load(extra_dirs: tuple[str, ...]) -> Catalog:
    sources: list[tuple[str, str]] = [(name, text) for name, text in _builtin_files()]
    problems: list[str] = []
    for folder in extra_dirs:
        path = Path(folder)
        if not path.is_dir():
            problems.append(f"{folder}: extra catalog folder not found")
            continue
        for file in sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()):
            try:
                sources.append((str(file), file.read_text("utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{file}: cannot be read ({exc})")
    builder = _Builder(problems)
    for name, text in sources:
        builder.add(name, text)
    return builder.build()


def clear_cache() -> None:
    """Forget loaded catalogs, e.g. after editing a user folder in a long-running process."""
    _load.cache_clear()


def _builtin_files() -> Iterator[tuple[str, str]]:
    """Package data files in a stable order: dimensions and vocabularies first, then controls."""
    yield from _walk(resources.files("assay.catalog").joinpath("data"), "data")


def _walk(node: Traversable, label: str) -> Iterator[tuple[str, str]]:
    children = sorted(node.iterdir(), key=lambda t: (t.is_dir(), t.name))
    for child in children:
        name = f"{label}/{child.name}"
        if child.is_dir():
            yield from _walk(child, name)
        elif child.name.endswith(YAML_SUFFIXES):
            yield f"assay.catalog:{name}", child.read_text("utf-8")


@dataclass
class _Builder:
    """Collects records from many files, remembering where each came from for error messages."""

    problems: list[str]
    dimensions: dict[str, tuple[Dimension, str]] = field(default_factory=dict)
    kinds: dict[str, tuple[EvidenceKind, str]] = field(default_factory=dict)
    frameworks: dict[str, tuple[Framework, str]] = field(default_factory=dict)
    controls: dict[str, tuple[Control, str]] = field(default_factory=dict)

    def add(self, name: str, text: str) -> None:
        doc = self._parse(name, text)
        if doc is None:
            return
        for table, records, what in (
            (self.dimensions, doc.dimensions, "dimension"),
            (self.kinds, doc.evidence_kinds, "evidence kind"),
            (self.frameworks, doc.frameworks, "framework"),
            (self.controls, doc.controls, "control"),
        ):
            for record in records:
                if record.id in table:
                    first = table[record.id][1]
                    self.problems.append(
                        f"{name}: duplicate {what} id {record.id} (first defined in {first})"
                    )
                else:
                    table[record.id] = (record, name)  # type: ignore[assignment]

    def _parse(self, name: str, text: str) -> CatalogDocument | None:
        try:
            data = safe_load(text, file=name)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(f"{name}: not valid YAML{where}: {problem}")
            return None
        if data is None:
            return None
        if not isinstance(data, dict):
            self.problems.append(f"{name}: top level must be a mapping with keys {_doc_keys()}")
            return None
        try:
            return CatalogDocument.model_validate(data)
        except ValidationError as exc:
            self.problems.extend(_describe(name, data, err) for err in exc.errors())
            return None

    def build(self) -> Catalog:
        self._cross_check()
        if self.problems:
            raise CatalogError(self.problems)
        dims = sorted((d for d, _ in self.dimensions.values()), key=lambda d: d.number)
        order = {d.id: i for i, d in enumerate(dims)}
        controls = [c for c, _ in self.controls.values()]
        controls.sort(key=lambda c: order[c.dimension])  # stable: file order within a dimension
        frameworks = [f for f, _ in self.frameworks.values()]
        frameworks.sort(key=lambda f: FRAMEWORKS.index(f.id) if f.id in FRAMEWORKS else len(FRAMEWORKS))
        return Catalog(
            dimensions=tuple(dims),
            evidence_kinds=tuple(k for k, _ in self.kinds.values()),
            frameworks=tuple(frameworks),
            controls=tuple(controls),
            sources={cid: src for cid, (_, src) in self.controls.items()},
        )

    def _cross_check(self) -> None:
        numbers: dict[int, str] = {}
        for dim, name in self.dimensions.values():
            if dim.number in numbers:
                self.problems.append(
                    f"{name}: dimension {dim.id} reuses number {dim.number} ({numbers[dim.number]})"
                )
            numbers.setdefault(dim.number, dim.id)
        for control, name in self.controls.values():
            where = f"{name}: control {control.id}"
            if control.dimension not in self.dimensions:
                self.problems.append(
                    f"{where}: unknown dimension {control.dimension!r} (known: {', '.join(self.dimensions)})"
                )
            for kind in control.evidence:
                if kind not in self.kinds:
                    self.problems.append(
                        f"{where}: unknown evidence kind {kind!r} (known: {', '.join(self.kinds)})"
                    )
            for link in control.crosswalk:
                entry = self.frameworks.get(link.framework)
                if entry is None:
                    self.problems.append(
                        f"{where}: crosswalk to unknown framework {link.framework!r} "
                        f"(known: {', '.join(self.frameworks)})"
                    )
                elif entry[0].entry(link.target) is None:
                    self.problems.append(
                        f"{where}: crosswalk target {link.target!r} is not in the "
                        f"{link.framework} reference list"
                    )


def _doc_keys() -> str:
    return ", ".join(CatalogDocument.model_fields)


def _describe(name: str, data: dict[str, Any], error: Any) -> str:
    """Turn one pydantic error into `file: control <id>: field: message`."""
    loc = list(error["loc"])
    subject = ""
    if len(loc) >= 2 and isinstance(loc[1], int):
        section, index = loc[0], loc[1]
        items = data.get(section)
        record = items[index] if isinstance(items, list) and index < len(items) else None
        label = {"controls": "control", "dimensions": "dimension", "frameworks": "framework"}.get(
            str(section), str(section)
        )
        rid = record.get("id") if isinstance(record, dict) else None
        subject = f"{label} {rid}: " if rid else f"{label} #{index + 1}: "
        loc = loc[2:]
    field_path = ".".join(str(part) for part in loc)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{name}: {subject}{field_path + ': ' if field_path else ''}{message}"
