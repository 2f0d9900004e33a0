"""Plain-text renderers (JSON and CSV) for catalog records, shared by the CLI and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from assay.catalog.models import Control

CONTROL_COLUMNS: tuple[str, ...] = ("id", "dimension", "title", "statement", "pages", "evidence")


def _as_dict(item: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)


def to_json(items: Sequence[BaseModel | Mapping[str, Any]]) -> str:
    """A JSON array, one object per item, with a trailing newline so files end cleanly."""
    return json.dumps([_as_dict(i) for i in items], indent=2, ensure_ascii=False) + "\n"


def to_csv(items: Sequence[BaseModel | Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV with a header row; list values are joined with `; ` so each record stays on one line."""
    rows = [_as_dict(i) for i in items]
    if columns is None:
        columns = list(rows[0]) if rows else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def controls_to_csv(controls: Sequence[Control]) -> str:
    """Controls as a flat table; crosswalks are left to `crosswalk` output, which has one row per edge."""
    return to_csv(controls, CONTROL_COLUMNS)
