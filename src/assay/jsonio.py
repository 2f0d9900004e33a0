"""JSON reading with limits, for files that come from someone else (sample files, Moonshot data, uploads).

JSON has no aliases, so its cost is bounded by its size; what needs a cap is the size itself (the file
is parsed whole) and the nesting depth: `json` recurses in C up to Python's recursion limit, and the
code that walks the result afterwards (metadata cleaning, pydantic, JSON dumps) recurses in Python, so a
2 MiB `[[[[…` would surface later as a RecursionError traceback instead of an error naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int = 256 * MiB  # whole-file JSON (Moonshot datasets are tens of MB)
    max_depth: int = 64


DEFAULT_LIMITS = JsonLimits()


class JsonLimitError(ValueError):
    """A JSON document over a limit, or not JSON at all; names the file and, where known, the line."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None) -> None:
        self.file = file
        self.message = message
        self.line = line
        self.column = column
        where = file + (f":{line}" if line else "")
        super().__init__(f"{where}: {message}")


def check_depth(value: Any, max_depth: int) -> int | None:
    """The depth at which `value` first passes `max_depth`, or None; iterative, so it cannot recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return None


def loads(raw: str | bytes, *, file: str = "<json>", limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse one JSON document within `limits`. Syntax errors stay `json.JSONDecodeError` (callers
    report their line and column); limits raise `JsonLimitError`."""
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > limits.max_bytes:
        raise JsonLimitError(file, f"larger than {limits.max_bytes // MiB or 1} MiB")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonLimitError(file, f"nested deeper than {limits.max_depth} levels") from None
    if check_depth(value, limits.max_depth) is not None:
        raise JsonLimitError(file, f"nested deeper than {limits.max_depth} levels")
    return value


def read_json(path: str | Path, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """A JSON file, refused by size before it is read."""
    p = Path(path)
    if p.stat().st_size > limits.max_bytes:
        raise JsonLimitError(str(p), f"larger than {limits.max_bytes // MiB or 1} MiB")
    return loads(p.read_bytes(), file=str(p), limits=limits)
