"""Turning one foreign row (a JSONL object, a CSV record, a Parquet row) into a `Sample`.

Public datasets name their columns every which way (`prompt`, `question`, `answer`, `label` …), so a
`FieldMap` says which column is which; unset entries fall back to the common names below. Everything
a row holds that is not a sample field is kept in `metadata`, so nothing the dataset says is lost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from assay.evals.models import Sample
from assay.evals.suites.report import LoadReport, Problem

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "input": ("input", "prompt", "question", "messages"),
    "target": ("target", "answer", "expected", "label"),
    "choices": ("choices", "options"),
    "category": ("category",),
    "language": ("language", "lang"),
    "expect": ("expect",),
    "risk_ids": ("risk_ids",),
    "metadata": ("metadata",),
}
MAPPABLE = ("id", "input", "target", "choices", "category", "language")
NO_COLUMN = "-"  # a FieldMap entry of "-" means: this field comes from no column at all
REPORTED = {"input": "the prompt", "target": "the expected answer"}  # inferred mappings said up front


class FieldMap(BaseModel):
    """Which source column feeds which sample field; None means "try the usual names"."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    input: str | None = None
    target: str | None = None
    choices: str | None = None
    category: str | None = None
    language: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base: FieldMap | None = None) -> FieldMap:
        """Read `input_field=`, `target_field=` … loader options over an optional base map."""
        data = base.model_dump() if base else {}
        for name in MAPPABLE:
            value = options.get(f"{name}_field")
            if value is not None:
                data[name] = value
        return cls.model_validate(data)

    def candidates(self, name: str) -> tuple[str, ...]:
        chosen = getattr(self, name, None)
        if chosen == NO_COLUMN:
            return ()
        return (chosen,) if chosen else DEFAULT_COLUMNS[name]

    def column_problems(self, columns: Iterable[str], file: str) -> list[Problem]:
        """For tabular files: a named column that does not exist is one problem, not one per row."""
        present = set(columns)
        problems = []
        for name in MAPPABLE:
            chosen = getattr(self, name)
            if chosen and chosen != NO_COLUMN and chosen not in present:
                problems.append(
                    Problem(
                        file=file,
                        field=f"{name}_field",
                        message=f"column '{chosen}' is not in the file",
                        expected="one of: " + ", ".join(sorted(present)),
                    )
                )
        if not self.input and not present.intersection(DEFAULT_COLUMNS["input"]):
            problems.append(
                Problem(
                    file=file,
                    field="input_field",
                    message="no prompt column found (tried " + ", ".join(DEFAULT_COLUMNS["input"]) + ")",
                    expected="input_field naming one of: " + ", ".join(sorted(present)),
                )
            )
        return problems


class RowError(ValueError):
    """A row that cannot become a sample; `field` names the source column at fault."""

    def __init__(self, field: str, message: str, expected: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.expected = expected


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_safe(value: Any) -> Any:
    """Metadata must survive a JSON log: dates become ISO text, bytes and the unknown become text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_list(value: Any, column: str, *, split_commas: bool = False) -> list[str] | None:
    if _blank(value):
        return None
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise RowError(column, f"not a valid JSON list: {exc.msg}", "a JSON array of text") from None
            if isinstance(parsed, list):
                return [_text(v) for v in parsed]
        if split_commas:
            return [part.strip() for part in stripped.split(",") if part.strip()]
    raise RowError(column, f"expected a list, got {type(value).__name__}", "a list or a JSON array")


def _pick(row: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    for name in names:
        if name in row:
            return name, row[name]
    return None, None


def row_to_sample(row: Mapping[str, Any], fields: FieldMap, index: int, id_prefix: str = "") -> Sample:
    """Build a sample from one row; raise RowError naming the column when the row cannot be used.

    A row without an id gets `<id_prefix><index>`: stable as long as the file is, so resumed runs and
    re-scores line up.
    """
    used: set[str] = set()
    data: dict[str, Any] = {}

    column, value = _pick(row, fields.candidates("input"))
    if column is None:
        tried = ", ".join(fields.candidates("input"))
        raise RowError(fields.input or "input", f"no prompt in this row (looked for {tried})", "a prompt")
    used.add(column)
    if _blank(value):
        raise RowError(column, "the prompt is empty", "non-empty text or a list of chat messages")
    if isinstance(value, str):
        data["input"] = value
    elif isinstance(value, list):
        data["input"] = value  # chat messages; Sample validates roles and content
    elif isinstance(value, int | float) and not isinstance(value, bool):
        data["input"] = _text(value)
    else:
        raise RowError(column, f"a prompt must be text or chat messages, got {type(value).__name__}")

    column, value = _pick(row, fields.candidates("id"))
    if column is not None:
        used.add(column)
    data["id"] = f"{id_prefix}{index}" if _blank(value) else _text(value)

    column, value = _pick(row, fields.candidates("target"))
    if column is not None:
        used.add(column)
        if not _blank(value):
            data["target"] = [_text(v) for v in value] if isinstance(value, list | tuple) else _text(value)

    column, value = _pick(row, fields.candidates("choices"))
    if column is not None:
        used.add(column)
        data["choices"] = _as_list(value, column)

    for name in ("category", "language", "expect"):
        column, value = _pick(row, fields.candidates(name))
        if column is not None:
            used.add(column)
            if not _blank(value):
                data[name] = _text(value).strip().lower() if name == "expect" else _text(value)

    column, value = _pick(row, DEFAULT_COLUMNS["risk_ids"])
    if column is not None:
        used.add(column)
        data["risk_ids"] = _as_list(value, column, split_commas=True) or []

    metadata: dict[str, Any] = {}
    column, value = _pick(row, DEFAULT_COLUMNS["metadata"])
    if column is not None and not _blank(value):
        used.add(column)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise RowError(column, "metadata is not a JSON object", "a JSON object") from None
        if not isinstance(value, Mapping):
            raise RowError(column, "metadata is not an object", "a mapping")
        metadata.update(_json_safe(value))
    for key, val in row.items():
        if key is not None and key not in used:
            metadata.setdefault(str(key), _json_safe(val))
    data["metadata"] = metadata

    try:
        return Sample.model_validate(data)
    except ValidationError as exc:
        raise _row_error(exc, fields) from None


def _row_error(exc: ValidationError, fields: FieldMap) -> RowError:
    """Name the source column (not the sample field) so the message points into the user's file."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else "input"
    source = getattr(fields, field, None) if field in MAPPABLE else None
    where = ".".join(str(p) for p in err["loc"][1:])
    message = err["msg"].removeprefix("Value error, ") + (f" (at {where})" if where else "")
    return RowError(source or field, message)


class SampleCollector:
    """Gathers samples from a stream of rows, recording bad rows and duplicate ids in a report."""

    def __init__(self, report: LoadReport, fields: FieldMap, file: str, id_prefix: str = "") -> None:
        self.report = report
        self.fields = fields
        self.file = file
        self.id_prefix = id_prefix
        self.samples: list[Sample] = []
        self._seen: dict[str, str] = {}
        self.index = 0
        self.inferred: dict[str, str] = {}  # sample field -> the column chosen by its common name

    def _note_inferred(self, row: Mapping[str, Any]) -> None:
        for name in REPORTED:
            if name not in self.inferred and getattr(self.fields, name) is None:
                column, _ = _pick(row, DEFAULT_COLUMNS[name])
                if column is not None:
                    self.inferred[name] = column

    def mapping_notes(self) -> list[Problem]:
        """Say which columns were taken by their common names, so a mapping is never silent (a `label`
        column read as the expected answer changes what a run scores)."""
        notes = []
        for name, column in self.inferred.items():
            if column == name:
                continue
            option = f"--{name}-column"
            notes.append(
                Problem(
                    file=self.file,
                    field=f"{name}_field",
                    message=f"using column '{column}' as {REPORTED[name]}; pass {option} to choose another"
                    + (f" or {option} {NO_COLUMN} for none" if name == "target" else ""),
                )
            )
        return notes

    def where(self, line: int | None) -> str:
        return f"line {line}" if line is not None else f"row {self.index}"

    def skip(self, line: int | None, field: str, message: str, expected: str = "") -> None:
        self.report.skipped.append(
            Problem(file=self.file, line=line, field=field, message=message, expected=expected)
        )

    def add_row(self, row: Any, line: int | None = None, file: str | None = None) -> None:
        """One record; `line` is its line in a text file, None for binary formats (row index used)."""
        index = self.index
        self.index += 1
        self.report.rows_read += 1
        file = file or self.file
        field_prefix = "" if line is not None else f"[{index}]."
        if isinstance(row, str):
            row = {self.fields.input or "input": row}  # a list of plain strings is a list of prompts
        if not isinstance(row, Mapping):
            self.report.skipped.append(
                Problem(
                    file=file,
                    line=line,
                    field=field_prefix.rstrip(".") or "(row)",
                    message=f"a row must be an object, got {type(row).__name__}",
                    expected="an object with at least a prompt, or a prompt as text",
                )
            )
            return
        self._note_inferred(row)
        try:
            sample = row_to_sample(row, self.fields, index, self.id_prefix)
        except RowError as exc:
            self.report.skipped.append(
                Problem(
                    file=file,
                    line=line,
                    field=field_prefix + exc.field,
                    message=exc.message,
                    expected=exc.expected,
                )
            )
            return
        self.add_sample(sample, line, file, field_prefix)

    def add_sample(self, sample: Sample, line: int | None, file: str, field_prefix: str = "") -> None:
        place = f"{file}:{line}" if line is not None else f"{file} {field_prefix.rstrip('.') or ''}".strip()
        if sample.id in self._seen:
            self.report.skipped.append(
                Problem(
                    file=file,
                    line=line,
                    field=field_prefix + "id",
                    message=f"duplicate sample id '{sample.id}' (first at {self._seen[sample.id]})",
                    expected="each sample id once",
                )
            )
            return
        self._seen[sample.id] = place
        self.samples.append(sample)
        self.report.samples_loaded += 1
