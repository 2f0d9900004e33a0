"""Streaming readers for the dataset formats `assay data scan` accepts.

Every reader yields one `Record` at a time and holds at most one line (capped) or one Arrow batch in
memory, so a multi-gigabyte file is scanned in flat memory. What cannot be read safely stops the scan
with a `DataInputError` naming the file and the place (line, byte offset, row group); a row that is
merely bad (a JSON line that does not parse, a line that is not UTF-8) is kept as a flagged record so
the scan can count it and carry on.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay import jsonio

MiB = 1024 * 1024
DEFAULT_MAX_LINE = 8 * MiB
"""Longest line (bytes) or text value read; a longer one is refused rather than buffered."""
MAX_FIELDS = 256
"""Text fields kept per record; a wider row keeps its first 256."""
BATCH_ROWS = 1024
TEXT_SUFFIXES = {".txt", ".text", ".md"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
CSV_SUFFIXES = {".csv", ".tsv"}
PARQUET_SUFFIXES = {".parquet"}
ARROW_SUFFIXES = {".arrow"}
META_NAMES = {"license", "licence", "license.txt", "licence.txt", "license.md", "licence.md", "readme.md"}
META_NAMES |= {"readme", "readme.txt", "dataset_info.json", "state.json", "dataset_dict.json", "copying"}
BROKEN_FATAL_SHARE = 0.5
"""A file where more than this share of rows is not UTF-8 is refused as not text at all."""


class DataInputError(ValueError):
    """The dataset cannot be read: names the file and where in it, and what was expected."""

    def __init__(self, file: str, message: str, where: str = "") -> None:
        self.file = file
        self.where = where
        self.message = message
        super().__init__(f"{file}{':' + where if where else ''}: {message}")


@dataclass(slots=True)
class Record:
    """One row: where it is and its text fields (column -> text)."""

    file: str
    row: int
    """1-based: the line number in JSONL, CSV and text files, the row index in Parquet and Arrow."""
    fields: dict[str, str]
    malformed: str = ""
    """Why the row could not be parsed (empty when it parsed)."""
    broken_offset: int | None = None
    """Byte offset of the first byte that is not UTF-8, when the row had one."""
    end: int = 0
    """How far into the file reading has got (bytes; 0 where a format cannot tell), for progress."""


@dataclass
class DatasetFiles:
    """The data files of a dataset and the metadata files found beside them."""

    root: Path
    data: list[tuple[Path, str]] = field(default_factory=list)
    meta: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root)) or path.name
    except ValueError:
        return str(path)


def format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    for fmt, suffixes in (
        ("jsonl", JSONL_SUFFIXES),
        ("csv", CSV_SUFFIXES),
        ("parquet", PARQUET_SUFFIXES),
        ("arrow", ARROW_SUFFIXES),
        ("text", TEXT_SUFFIXES),
    ):
        if suffix in suffixes:
            return fmt
    return None


def discover(path: Path) -> DatasetFiles:
    """The files to scan under `path` (a file or a folder); symlinks leaving the folder are refused."""
    if not path.exists():
        raise DataInputError(str(path), "no such file or folder")
    if path.is_file():
        fmt = format_of(path)
        if fmt is None:
            raise DataInputError(
                str(path), "unknown format", "expected .jsonl, .csv, .tsv, .parquet, .arrow, .txt or .md"
            )
        return DatasetFiles(root=path.parent, data=[(path, fmt)])
    root = path.resolve()
    found = DatasetFiles(root=root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for d in list(dirnames):
            if d.startswith("."):
                dirnames.remove(d)
            elif (here / d).is_symlink():
                _check_link(root, here / d)
                dirnames.remove(d)
                found.skipped.append(f"{_rel(root, here / d)} (a linked folder is not followed)")
        for name in sorted(filenames):
            p = here / name
            if name.startswith("."):
                continue
            if p.is_symlink():
                _check_link(root, p)
            if name.lower() in META_NAMES:
                found.meta.append(p)
                continue
            fmt = format_of(p)
            if fmt is None:
                found.skipped.append(_rel(root, p))
            else:
                found.data.append((p, fmt))
    if not found.data:
        raise DataInputError(
            str(path), "no data files found", "a .jsonl, .csv, .parquet, .arrow, .txt or .md file inside"
        )
    return found


def _check_link(root: Path, link: Path) -> None:
    target = link.resolve()
    if target != root and root not in target.parents:
        raise DataInputError(
            str(link),
            f"symlink points outside the dataset folder (to {target}); refused",
            "",
        )


def iter_records(files: DatasetFiles, max_line: int = DEFAULT_MAX_LINE) -> Iterator[Record]:
    for path, fmt in files.data:
        rel = _rel(files.root, path)
        yield from READERS[fmt](path, rel, max_line)


# --- line-based formats -------------------------------------------------------------------------


def _lines(path: Path, rel: str, max_line: int) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, raw line without its newline), refusing a line over `max_line`."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise DataInputError(rel, f"cannot open: {exc.strerror or exc}") from None
    with fh:
        offset = 0
        number = 0
        while True:
            try:
                raw = fh.readline(max_line + 1)
            except OSError as exc:
                raise DataInputError(rel, f"read failed: {exc.strerror or exc}", f"byte {offset}") from None
            if not raw:
                return
            number += 1
            if len(raw) > max_line and not raw.endswith(b"\n"):
                raise DataInputError(
                    rel,
                    f"line longer than {max_line:,} bytes; refused (the limit keeps memory bounded)",
                    f"line {number} (byte {offset})",
                )
            yield number, offset, raw.rstrip(b"\r\n")
            offset += len(raw)


def _decode(raw: bytes, offset: int) -> tuple[str, int | None]:
    """The text, and the file offset of the first byte that is not UTF-8 (None when all is well)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8", errors="replace"), offset + exc.start


class _BrokenShare:
    """Refuses a file that is mostly not UTF-8: that is a wrong encoding, not a few bad rows."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.rows = 0
        self.broken = 0
        self.first: int | None = None

    def add(self, offset: int | None) -> None:
        self.rows += 1
        if offset is not None:
            self.broken += 1
            self.first = offset if self.first is None else self.first

    def check(self) -> None:
        if self.broken and self.broken > BROKEN_FATAL_SHARE * self.rows:
            raise DataInputError(
                self.rel,
                f"not UTF-8 text: {self.broken} of {self.rows} rows have bytes that are not UTF-8",
                f"byte {self.first}",
            )


def read_jsonl(path: Path, rel: str, max_line: int) -> Iterator[Record]:
    limits = jsonio.JsonLimits(max_bytes=max_line)
    share = _BrokenShare(rel)
    for number, offset, raw in _lines(path, rel, max_line):
        if not raw.strip():
            share.add(None)
            yield Record(rel, number, {}, end=offset)
            continue
        text, bad = _decode(raw, offset)
        share.add(bad)
        if bad is not None:
            yield Record(rel, number, {}, broken_offset=bad, end=offset)
            continue
        try:
            value = jsonio.loads(text, file=rel, limits=limits)
        except json.JSONDecodeError as exc:
            yield Record(rel, number, {}, malformed=f"not JSON: {exc.msg} at column {exc.colno}", end=offset)
            continue
        except jsonio.JsonLimitError as exc:
            yield Record(rel, number, {}, malformed=exc.message, end=offset)
            continue
        yield Record(rel, number, text_fields(value), end=offset)
    share.check()


def text_fields(value: Any) -> dict[str, str]:
    """String leaves of a JSON value keyed by their path (list positions folded to `[]`)."""
    out: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [("", value)]
    while stack and len(out) < MAX_FIELDS:
        path, item = stack.pop()
        if isinstance(item, str):
            key = path or "(value)"
            out[key] = out[key] + "\n" + item if key in out else item
        elif isinstance(item, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((f"{path}[]", v) for v in reversed(item))
    return out


def read_csv(path: Path, rel: str, max_line: int) -> Iterator[Record]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    broken: dict[int, int] = {}
    share = _BrokenShare(rel)
    state = {"line": 0, "offset": 0}

    def lines() -> Iterator[str]:
        for number, offset, raw in _lines(path, rel, max_line):
            state["line"], state["offset"] = number, offset
            text, bad = _decode(raw, offset)
            if bad is not None:
                broken[number] = bad
            yield text + "\n"

    old_limit = csv.field_size_limit()
    csv.field_size_limit(max_line)
    try:
        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataInputError(rel, f"not CSV: {exc}", f"line {state['line']}") from None
        header = [h.strip() or f"column{i + 1}" for i, h in enumerate(header)]
        start = state["line"] + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise DataInputError(rel, f"not CSV: {exc}", f"line {state['line']}") from None
            end = reader.line_num
            bad = next((broken.pop(n) for n in sorted(broken) if start <= n <= end), None)
            broken.clear()
            share.add(bad)
            malformed = ""
            if row and len(row) != len(header):
                malformed = f"{len(row)} fields where the header has {len(header)}"
            fields = {
                (header[i] if i < len(header) else f"column{i + 1}"): v
                for i, v in enumerate(row[:MAX_FIELDS])
            }
            yield Record(rel, start, fields, malformed=malformed, broken_offset=bad, end=state["offset"])
            start = end + 1
    finally:
        csv.field_size_limit(old_limit)
    share.check()


def read_text(path: Path, rel: str, max_line: int) -> Iterator[Record]:
    """Paragraphs (runs of non-blank lines) as rows, numbered by their first line."""
    share = _BrokenShare(rel)
    buf: list[str] = []
    size = 0
    first = 0
    bad_at: int | None = None
    for number, offset, raw in _lines(path, rel, max_line):
        if not raw.strip():
            if buf:
                share.add(bad_at)
                yield Record(rel, first, {"text": "\n".join(buf)}, broken_offset=bad_at, end=offset)
                buf, size, bad_at = [], 0, None
            continue
        text, bad = _decode(raw, offset)
        if not buf:
            first = number
        if bad is not None and bad_at is None:
            bad_at = bad
        size += len(raw)
        if size > max_line:
            raise DataInputError(
                rel, f"paragraph longer than {max_line:,} bytes; refused", f"line {first} (byte {offset})"
            )
        buf.append(text)
    if buf:
        share.add(bad_at)
        yield Record(rel, first, {"text": "\n".join(buf)}, broken_offset=bad_at, end=offset)
    share.check()


# --- columnar formats ---------------------------------------------------------------------------


def _string_columns(schema: Any) -> list[str]:
    import pyarrow as pa

    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
    ]


def _batches_to_records(rel: str, batches: Iterator[Any], columns: list[str], where: str) -> Iterator[Record]:
    import pyarrow as pa

    row = 0
    batch_no = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise DataInputError(
                rel, f"{where} is truncated or corrupt: {exc}", f"after row {row} (batch {batch_no + 1})"
            ) from None
        batch_no += 1
        values = [batch.column(c).to_pylist() if c in batch.schema.names else [] for c in columns]
        for i in range(batch.num_rows):
            row += 1
            fields = {c: v[i] for c, v in zip(columns, values, strict=True) if v and v[i] is not None}
            yield Record(rel, row, fields)


def read_parquet(path: Path, rel: str, max_line: int) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataInputError(rel, f"not a readable Parquet file (truncated or corrupt?): {exc}") from None
    columns = _string_columns(pf.schema_arrow)
    if not columns:
        return
    yield from _batches_to_records(
        rel, iter(pf.iter_batches(batch_size=BATCH_ROWS, columns=columns)), columns, "Parquet file"
    )


def read_arrow(path: Path, rel: str, max_line: int) -> Iterator[Record]:
    """`datasets` save_to_disk shards: Arrow IPC stream (or file) format, read batch by batch."""
    import pyarrow as pa

    try:
        source = pa.OSFile(str(path), "rb")
    except (pa.ArrowException, OSError) as exc:
        raise DataInputError(rel, f"cannot open: {exc}") from None
    with source:
        try:
            reader: Any = pa.ipc.open_stream(source)
            batches: Iterator[Any] = iter(reader)
        except pa.ArrowInvalid:
            source.seek(0)
            try:
                reader = pa.ipc.open_file(source)
            except pa.ArrowInvalid as exc:
                raise DataInputError(rel, f"not an Arrow IPC stream or file: {exc}") from None
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        columns = _string_columns(reader.schema)
        yield from _batches_to_records(rel, batches, columns, "Arrow file")


READERS = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "arrow": read_arrow,
    "text": read_text,
}

__all__ = [
    "DataInputError",
    "DatasetFiles",
    "Record",
    "discover",
    "iter_records",
    "text_fields",
]
