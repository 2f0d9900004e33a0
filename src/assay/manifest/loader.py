"""Read and check an `assay.yaml`, reporting every problem at once with file, line, column and field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from assay.manifest.problems import ManifestInvalid, Problem
from assay.manifest.references import check_references
from assay.manifest.schema import Manifest
from assay.manifest.yamlpos import LocatedYaml, YamlSyntaxError, load_located
from assay.yamlio import YamlLimits

MAX_MANIFEST_BYTES = 2 * 1024 * 1024
MANIFEST_LIMITS = YamlLimits(max_bytes=MAX_MANIFEST_BYTES)


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _model_at(path: tuple[str | int, ...], root: type[BaseModel] = Manifest) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at `path`, for did-you-mean suggestions."""
    model: Any = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        ann = field.annotation
        model = _unwrap(ann)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _expected(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "this field is required"
    if kind == "enum":
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if kind in ("too_short", "string_too_short"):
        return f"at least {ctx.get('min_length')} item(s)/character(s)"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return kind.replace("_parsing", "").replace("_type", "").replace("_", " ")
    return ""


def _problems_from_validation(
    exc: ValidationError, located: LocatedYaml, file: str, root: type[BaseModel] = Manifest
) -> list[Problem]:
    """Pydantic's errors as located Problems; `root` is the model validated (policy packs reuse this)."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        pos = located.locate(loc)
        message = err["msg"]
        suggestion = None
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            model = _model_at(loc[:-1], root)
            if model is not None and isinstance(key, str):
                names = [f.alias or n for n, f in model.model_fields.items()]
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                if close:
                    suggestion = close[0]
                message = f"unknown key '{key}'"
                expected = "one of: " + ", ".join(sorted(names))
            else:
                expected = ""
        else:
            expected = _expected(err)
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
        problems.append(
            Problem(
                file=file,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                field=format_path(loc),
                message=message,
                expected=expected,
                suggestion=suggestion,
            )
        )
    return problems


def parse_manifest_text(text: str, file: str = "assay.yaml", *, base_dir: FsPath | None = None) -> Manifest:
    """Validate manifest text; raise ManifestInvalid listing every problem.

    With `base_dir` (the manifest's folder) everything a run needs is resolved too: the files and suite
    names it points at (`files.py`), then every suite and the attack library, loaded (`runnable.py`)."""
    try:
        located = load_located(text, file=file, limits=MANIFEST_LIMITS)
    except YamlSyntaxError as exc:
        raise ManifestInvalid([exc.as_problem(file)]) from None
    return _validate_located(located, file, base_dir=base_dir)


def parse_manifest_data(data: Any, file: str = "<data>") -> Manifest:
    """Validate an already-parsed manifest (e.g. a JSON body sent to the API)."""
    return _validate_located(LocatedYaml(value=data), file)


def _findings_to_problems(
    findings: Iterable[tuple[tuple[str | int, ...], str, str]], located: LocatedYaml, file: str
) -> list[Problem]:
    problems = []
    for path, message, expected in findings:
        pos = located.locate(path)
        problems.append(
            Problem(
                file=file,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                field=format_path(path),
                message=message,
                expected=expected,
            )
        )
    return problems


def _validate_located(located: LocatedYaml, file: str, *, base_dir: FsPath | None = None) -> Manifest:
    problems: list[Problem] = []
    for path, pos in located.duplicate_keys:
        problems.append(
            Problem(
                file=file,
                line=pos.line,
                column=pos.column,
                field=format_path(path),
                message=f"key '{path[-1]}' appears twice",
                expected="each key once",
            )
        )
    if not isinstance(located.value, dict):
        problems.append(
            Problem(
                file=file,
                line=1,
                column=1,
                field="(document)",
                message="the manifest is empty or not a mapping",
                expected="a mapping with at least 'system' and 'parties'",
            )
        )
        raise ManifestInvalid(problems)
    try:
        manifest = Manifest.model_validate(located.value)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, located, file))
        raise ManifestInvalid(problems) from None
    problems.extend(_findings_to_problems(check_references(manifest), located, file))
    if base_dir is not None:
        from assay.manifest.files import check_files

        problems.extend(_findings_to_problems(check_files(manifest, base_dir), located, file))
        if not problems:
            from assay.manifest.runnable import check_runnable

            findings, loaded = check_runnable(manifest, base_dir)
            problems.extend(_findings_to_problems(findings, located, file))
            problems.extend(loaded)
    if problems:
        raise ManifestInvalid(problems)
    return manifest


def load_manifest(path: str | FsPath, *, runnable: bool = False) -> Manifest:
    """Read a manifest file; every failure is a ManifestInvalid naming the file.

    With `runnable` (as `assay validate` and `assay assess` use it), paths and suite names are resolved
    against the manifest's folder and every suite and attack it names is loaded; commands that only
    read the registry sections leave it off."""
    p = FsPath(path)
    name = str(p)
    try:
        if p.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestInvalid(
                [Problem(file=name, field="(document)", message="file is larger than 2 MiB")]
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ManifestInvalid(
            [
                Problem(
                    file=name, field="(document)", message="file not found", expected="a path to assay.yaml"
                )
            ]
        ) from None
    except IsADirectoryError:
        candidate = p / "assay.yaml"
        if candidate.exists():
            return load_manifest(candidate, runnable=runnable)
        raise ManifestInvalid(
            [Problem(file=name, field="(document)", message="is a folder with no assay.yaml in it")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestInvalid(
            [Problem(file=name, line=line, field="(document)", message="not UTF-8 text", expected="UTF-8")]
        ) from None
    return parse_manifest_text(text, name, base_dir=p.parent if runnable else None)
