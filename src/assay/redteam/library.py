"""Finding and loading attacks: the built-in folder, the user's folders and installed plugins.

Sources, in order: the built-in attack folder (offered through the entry point `assay.attacks` like
any plugin, and loaded directly too, so a source checkout works before it is installed), the folders of
`ASSAY_ATTACKS_PATH` (os.pathsep-separated), the folders a caller passes (`--attacks-dir`), then other
packages' entry points in the group `assay.attacks`.

A folder holds attack YAML files (`*.yaml`/`*.yml`: one attack, a list, `attacks: [...]`, or several
`---` documents) and,
optionally, Python files (`*.py`) whose `@register_transform` functions the YAML names; the Python files
are imported first. An entry point's object may be a folder path, a callable returning a folder path or
attack records, or a module (importing it registers its transforms).

Every record is validated: its ATLAS and OWASP LLM ids must exist in the catalog, its transform must be
registered, and its id must be unique across sources.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import ValidationError

from assay.redteam.attack import Attack, AttackMode, AttackSpec, get_transform
from assay.yamlio import YamlLimitError, YamlLimits, read_yaml_text, safe_load_all

ATTACK_FILE_LIMITS = YamlLimits(max_bytes=8 * 1024 * 1024)  # attack records are short templates

ENTRY_POINT_GROUP = "assay.attacks"
ENV_VAR = "ASSAY_ATTACKS_PATH"
BUILTIN_DIR = Path(__file__).resolve().parent / "attacks"


class AttackInvalid(ValueError):
    """One or more attack records could not be loaded; each problem names its file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} attack problem(s):\n  - " + "\n  - ".join(problems))


def builtin_attacks_dir() -> Path:
    """The entry-point object for Assay's own attacks: the folder of built-in YAML files."""
    return BUILTIN_DIR


def attack_dirs(extra: Sequence[str | Path] | None = None) -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    dirs.extend(Path(p) for p in extra or ())
    return dirs


def _import_file(path: Path) -> ModuleType:
    """Import a user's transform file under a private module name derived from its path."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"assay_user_attacks_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _records(data: Any) -> list[Any]:
    if data is None:
        return []
    if isinstance(data, dict) and "attacks" in data:
        return list(data["attacks"] or [])
    if isinstance(data, list):
        return data
    return [data]


def read_folder(folder: Path, problems: list[str]) -> list[AttackSpec]:
    """Import the folder's Python files, then read and validate its YAML attack records."""
    if not folder.is_dir():
        problems.append(f"{folder}: not a folder")
        return []
    for py in sorted(folder.glob("*.py")):
        if py.name.startswith("_"):
            continue
        try:
            _import_file(py)
        except Exception as exc:  # a user's file failed: report it with its name
            problems.append(f"{py}: import failed: {type(exc).__name__}: {exc}")
    specs: list[AttackSpec] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            documents = safe_load_all(read_yaml_text(path, ATTACK_FILE_LIMITS), file=str(path))
        except YamlLimitError as exc:
            problems.append(f"{exc}")  # names the file and line already
            continue
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid YAML: {exc}")
            continue
        for data in documents:
            specs.extend(parse_records(_records(data), str(path), problems))
    return specs


def parse_records(records: Iterable[Any], source: str, problems: list[str]) -> list[AttackSpec]:
    specs = []
    for i, raw in enumerate(records):
        if isinstance(raw, AttackSpec):
            specs.append(raw if raw.source else raw.model_copy(update={"source": source}))
            continue
        if not isinstance(raw, dict):
            problems.append(f"{source}: attack #{i + 1} is not a mapping")
            continue
        try:
            specs.append(AttackSpec.model_validate({**raw, "source": raw.get("source") or source}))
        except ValidationError as exc:
            where = raw.get("id", f"#{i + 1}")
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(attack)"
                problems.append(f"{source}: attack {where}: {field}: {err['msg']}")
    return specs


def _from_entry_point(obj: Any, name: str, problems: list[str]) -> list[AttackSpec]:
    if isinstance(obj, ModuleType):
        return []  # importing it registered its transforms
    if callable(obj) and not isinstance(obj, type):
        obj = obj()
    if isinstance(obj, str | os.PathLike):
        return read_folder(Path(obj), problems)
    if isinstance(obj, Iterable):
        return parse_records(obj, f"entry point {name}", problems)
    problems.append(f"entry point {name}: gives {type(obj).__name__}, not a folder or attack records")
    return []


def _check_ids(specs: list[AttackSpec], problems: list[str]) -> None:
    from assay.catalog.loader import load_catalog

    catalog = load_catalog()
    atlas = catalog.framework("mitre-atlas")
    owasp = {fid: catalog.framework(fid) for fid in catalog.framework_ids if fid.startswith("owasp-llm-")}
    for spec in specs:
        for tid in spec.atlas:
            if atlas.entry(tid) is None:
                problems.append(f"{spec.source}: attack {spec.id}: ATLAS id {tid} is not in the catalog")
        for oid in spec.owasp_llm:
            edition = oid.split(":", 1)[1]
            framework = owasp.get(f"owasp-llm-{edition}")
            if framework is None or framework.entry(oid) is None:
                problems.append(f"{spec.source}: attack {spec.id}: OWASP id {oid} is not in the catalog")


def load_attacks(
    dirs: Sequence[str | Path] | None = None, *, plugins: bool = True, check_ids: bool = True
) -> dict[str, Attack]:
    """Every attack available, by id, validated; raises AttackInvalid listing all problems."""
    problems: list[str] = []
    specs: list[AttackSpec] = read_folder(BUILTIN_DIR, problems)
    seen_dirs = {BUILTIN_DIR.resolve()}
    for folder in attack_dirs(dirs):
        if folder.resolve() in seen_dirs:
            continue
        seen_dirs.add(folder.resolve())
        specs.extend(read_folder(folder, problems))
    if plugins:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin: name it, keep the rest
                problems.append(f"entry point {ep.name}: cannot load {ep.value}: {exc}")
                continue
            if obj is builtin_attacks_dir or (isinstance(obj, str | os.PathLike) and Path(obj) in seen_dirs):
                continue
            specs.extend(_from_entry_point(obj, ep.name, problems))
    if check_ids:
        _check_ids(specs, problems)
    # the baseline first, then one-shot attacks, then conversations, multi-turn and adaptive ones
    modes = list(AttackMode)
    specs.sort(key=lambda spec: (spec.family != "baseline", modes.index(spec.mode)))
    attacks: dict[str, Attack] = {}
    for spec in specs:
        if spec.id in attacks:
            problems.append(
                f"{spec.source}: attack id '{spec.id}' is already defined in {attacks[spec.id].spec.source}"
            )
            continue
        try:
            fn = get_transform(spec.transform)
        except KeyError:
            problems.append(f"{spec.source}: attack {spec.id}: no transform named '{spec.transform}'")
            continue
        attacks[spec.id] = Attack(spec=spec, fn=fn)
    if problems:
        raise AttackInvalid(problems)
    return attacks


def select_attacks(available: dict[str, Attack], names: str | Sequence[str]) -> list[Attack]:
    """`all`, or a comma-separated list of ids (a family name selects the whole family)."""
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not wanted or wanted == ["all"]:
        return list(available.values())
    picked: list[Attack] = []
    unknown = []
    for name in wanted:
        if name in available:
            found = [available[name]]
        else:
            found = [a for a in available.values() if a.spec.family == name]
        if not found:
            unknown.append(name)
        picked.extend(a for a in found if a not in picked)
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(available), n=1)
            hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ValueError(f"unknown attack(s) {', '.join(hints)}; known: {', '.join(sorted(available))}")
    return picked
