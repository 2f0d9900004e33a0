"""Row readers for sample files: JSONL, CSV/TSV, a JSON array, Parquet and Arrow.

Each reader yields `(line, row)`; `line` is the 1-based line where a record starts in a text file and
None in a binary one (there the row index stands in). Problems that make a whole file unreadable are
raised as `SuiteInvalid`; problems with one record go into the report and the record is skipped.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from assay import jsonio
from assay.evals.suites.report import LoadReport, Problem, SuiteInvalid

Row = tuple[int | None, Any]

TEXT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".json": "json"}
BINARY_FORMATS = {".parquet": "parquet", ".arrow": "arrow"}

LINE_LIMITS = jsonio.JsonLimits(max_bytes=16 * jsonio.MiB)  # one JSONL record

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long prompts are normal in eval data


def fatal(
    file: Path | str, message: str, *, line: int | None = None, field: str = "(file)", expected: str = ""
) -> NoReturn:
    """Raise a one-problem SuiteInvalid (used where reading cannot go on)."""
    raise SuiteInvalid([Problem(file=str(file), line=line, field=field, message=message, expected=expected)])


def iter_jsonl(path: Path, report: LoadReport) -> Iterator[Row]:
    """One JSON object per line; blank lines are allowed, a bad line is skipped and reported."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                report.rows_read += 1
                report.skipped.append(
                    Problem(file=str(path), line=number, field="(line)", message="not UTF-8 text")
                )
                continue
            if not text.strip():
                continue
            try:
                yield number, jsonio.loads(text, file=str(path), limits=LINE_LIMITS)
            except jsonio.JsonLimitError as exc:
                report.rows_read += 1
                report.skipped.append(
                    Problem(file=str(path), line=number, field="(line)", message=exc.message)
                )
            except json.JSONDecodeError as exc:
                report.rows_read += 1
                report.skipped.append(
                    Problem(
                        file=str(path),
                        line=number,
                        column=exc.colno,
                        field="(line)",
                        message=f"invalid JSON: {exc.msg}",
                        expected="one JSON object per line",
                    )
                )


def csv_columns(path: Path, delimiter: str = ",") -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        try:
            header = next(csv.reader(fh, delimiter=delimiter), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            fatal(path, f"cannot read the header: {exc}", line=1)
    if not header:
        fatal(path, "the file is empty", line=1, expected="a header row naming the columns")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        fatal(path, f"column(s) named twice in the header: {', '.join(dupes)}", line=1)
    return header


def iter_csv(path: Path, report: LoadReport, delimiter: str = ",") -> Iterator[Row]:
    """A header row then records; a record's line is where it starts (quoted fields may span lines)."""
    header = csv_columns(path, delimiter)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader)
        end_of_previous = reader.line_num
        while True:
            start = end_of_previous + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                fatal(path, "not UTF-8 text", line=start)
            except csv.Error as exc:
                report.rows_read += 1
                report.skipped.append(Problem(file=str(path), line=start, field="(row)", message=str(exc)))
                end_of_previous = reader.line_num
                continue
            end_of_previous = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                report.rows_read += 1
                report.skipped.append(
                    Problem(
                        file=str(path),
                        line=start,
                        field="(row)",
                        message=f"{len(record)} field(s) where the header has {len(header)}",
                        expected=f"{len(header)} fields: {', '.join(header)}",
                    )
                )
                continue
            yield start, {k: (v if v != "" else None) for k, v in zip(header, record, strict=True)}


def iter_json_array(path: Path, report: LoadReport, data: Any = None) -> Iterator[Row]:
    """A JSON file holding a list of objects (or `{"samples": [...]}`); no line numbers are known.

    The whole file is parsed at once, so it suits files up to a few hundred megabytes.
    """
    if data is None:
        data = read_json(path)
    if isinstance(data, dict):
        for key in ("samples", "examples", "data", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        fatal(path, "a JSON sample file must hold a list of objects", expected="[{...}, {...}]")
    for row in data:
        yield None, row


def read_json(path: Path) -> Any:
    """A whole JSON file, within the size and depth limits of `assay.jsonio`."""
    try:
        return jsonio.read_json(path)
    except jsonio.JsonLimitError as exc:
        fatal(path, exc.message, expected="a JSON document within the limits")
    except json.JSONDecodeError as exc:
        fatal(path, f"invalid JSON: {exc.msg}", line=exc.lineno, expected="a JSON document")
    except UnicodeDecodeError:
        fatal(path, "not UTF-8 text")


def _label_names(schema: Any) -> dict[str, list[str]]:
    """Hugging Face writes its feature types into the schema; ClassLabel ints become their names."""
    meta = schema.metadata or {}
    raw = meta.get(b"huggingface")
    if not raw:
        return {}
    try:
        info = json.loads(raw)
    except (ValueError, TypeError):
        return {}
    return label_names_from_features((info.get("info") or {}).get("features") or {})


def label_names_from_features(features: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(features, dict):
        for name, feat in features.items():
            if isinstance(feat, dict) and feat.get("_type") == "ClassLabel" and feat.get("names"):
                out[name] = [str(n) for n in feat["names"]]
    return out


def _apply_labels(row: dict[str, Any], labels: dict[str, list[str]]) -> dict[str, Any]:
    for column, names in labels.items():
        value = row.get(column)
        if isinstance(value, int) and 0 <= value < len(names):
            row[column] = names[value]
    return row


def iter_record_batches(batches: Iterator[Any], schema: Any, labels: dict[str, list[str]]) -> Iterator[Row]:
    labels = {**_label_names(schema), **labels}
    for batch in batches:
        for row in batch.to_pylist():
            yield None, _apply_labels(row, labels) if labels else row


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        fatal(path, f"not a readable Parquet file: {exc}")


def iter_parquet(path: Path, labels: dict[str, list[str]] | None = None) -> Iterator[Row]:
    """Rows batch by batch, so a large file is never held whole in memory."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        fatal(path, f"not a readable Parquet file: {exc}")
    yield from iter_record_batches(pf.iter_batches(batch_size=4096), pf.schema_arrow, labels or {})


def _open_arrow(path: Path) -> Any:
    """`save_to_disk` writes the Arrow IPC *stream* format; accept the random-access file format too."""
    import pyarrow as pa

    source = pa.memory_map(str(path), "r")
    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        try:
            return pa.ipc.open_file(source)
        except pa.ArrowInvalid as exc:
            fatal(path, f"not an Arrow IPC stream or file: {exc}")


def arrow_columns(path: Path) -> list[str]:
    return list(_open_arrow(path).schema.names)


def iter_arrow(path: Path, labels: dict[str, list[str]] | None = None) -> Iterator[Row]:
    reader = _open_arrow(path)
    if hasattr(reader, "num_record_batches"):
        batches: Iterator[Any] = (reader.get_batch(i) for i in range(reader.num_record_batches))
    else:
        batches = iter(reader)
    yield from iter_record_batches(batches, reader.schema, labels or {})


def columns_of(path: Path, fmt: str) -> list[str] | None:
    """Column names of a tabular file (None where rows may differ, as in JSONL)."""
    if fmt in ("csv", "tsv"):
        return csv_columns(path, "\t" if fmt == "tsv" else ",")
    if fmt == "parquet":
        return parquet_columns(path)
    if fmt == "arrow":
        return arrow_columns(path)
    return None


def iter_rows(
    path: Path, fmt: str, report: LoadReport, labels: dict[str, list[str]] | None = None
) -> Iterator[Row]:
    if fmt == "jsonl":
        return iter_jsonl(path, report)
    if fmt in ("csv", "tsv"):
        return iter_csv(path, report, "\t" if fmt == "tsv" else ",")
    if fmt == "json":
        return iter_json_array(path, report)
    if fmt == "parquet":
        return iter_parquet(path, labels)
    if fmt == "arrow":
        return iter_arrow(path, labels)
    fatal(path, f"unknown sample file format '{fmt}'", expected="jsonl, csv, tsv, json, parquet or arrow")
