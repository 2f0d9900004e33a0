"""Finding a suite by name: the built-in suites first, then the user's folders, then a plain path.

Built-in suites live in `assay/evals/suites/builtin/<name>/suite.yaml`; a user adds folders with
`ASSAY_SUITES_PATH` (os.pathsep-separated) or the loader's `search_path`, each holding either
`<name>/suite.yaml` or `<name>.yaml`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
ENV_VAR = "ASSAY_SUITES_PATH"


def suite_dirs(search_path: Sequence[str | Path] | None = None) -> list[Path]:
    """Folders searched for suite names, in order of precedence."""
    dirs = [BUILTIN_DIR]
    dirs.extend(Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip())
    dirs.extend(Path(p) for p in search_path or ())
    return dirs


def _candidates(folder: Path, name: str) -> list[Path]:
    return [
        folder / name / "suite.yaml",
        folder / name / "suite.yml",
        folder / f"{name}.yaml",
        folder / f"{name}.yml",
    ]


def is_name(text: str) -> bool:
    """A bare name has no folder separator and no file suffix."""
    return bool(text) and "/" not in text and os.sep not in text and not Path(text).suffix


def resolve_suite(name: str, search_path: Sequence[str | Path] | None = None) -> Path | None:
    """The suite file a bare name stands for, or None (then the caller treats the text as a path)."""
    if not is_name(name):
        return None
    for folder in suite_dirs(search_path):
        for candidate in _candidates(folder, name):
            if candidate.is_file():
                return candidate
    return None


def list_suites(search_path: Sequence[str | Path] | None = None) -> dict[str, Path]:
    """Every suite reachable by name; an earlier folder's suite hides a later one of the same name."""
    found: dict[str, Path] = {}
    for folder in suite_dirs(search_path):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and ((entry / "suite.yaml").is_file() or (entry / "suite.yml").is_file()):
                name = entry.name
                path = entry / "suite.yaml" if (entry / "suite.yaml").is_file() else entry / "suite.yml"
            elif entry.suffix in (".yaml", ".yml") and entry.is_file():
                name, path = entry.stem, entry
            else:
                continue
            found.setdefault(name, path)
    return found
