"""Header checks for the tensor formats that carry no code — safetensors and GGUF — reading headers
only, never tensor data. A header that lies (sizes, offsets, dtypes that do not add up) is how a loader
bug is reached, and a truncated file is a broken download; both get a verdict naming the field."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from assay.security.artifacts.limits import ScanLimits
from assay.security.artifacts.rules import load_formats


class HeaderUnreadable(ValueError):
    """The header cannot be read at all: too short, not the format, or over a limit."""


@dataclass
class HeaderProblem:
    field: str
    expected: str
    found: str
    offset: int | None = None

    @property
    def message(self) -> str:
        return f"{self.field}: expected {self.expected}, found {self.found}"


@dataclass
class HeaderCheck:
    format: str
    problems: list[HeaderProblem] = field(default_factory=list)
    tensors: int = 0
    notes: list[str] = field(default_factory=list)

    def bad(self, fld: str, expected: str, found: object, offset: int | None = None) -> None:
        self.problems.append(HeaderProblem(fld, expected, str(found), offset))


def _read_exact(f: BinaryIO, n: int, what: str, size: int) -> bytes:
    start = f.tell()
    data = f.read(n)
    if len(data) != n:
        raise HeaderUnreadable(
            f"{what} at byte {start}: expected {n} bytes, found {len(data)} (file is {size} bytes; truncated)"
        )
    return data


# -- safetensors ---------------------------------------------------------------------------------------


def check_safetensors(f: BinaryIO, size: int, limits: ScanLimits) -> HeaderCheck:
    check = HeaderCheck("safetensors")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, "header length", size))
    if n > limits.max_safetensors_header:
        raise HeaderUnreadable(
            f"header length: expected at most {limits.max_safetensors_header} bytes, found {n}"
        )
    if 8 + n > size:
        raise HeaderUnreadable(
            f"header length: expected at most {size - 8} (the bytes after the length), found {n}; truncated"
        )
    raw = _read_exact(f, n, "header", size)
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in items:
            if k in seen:
                duplicates.append(k)
            seen[k] = v
        return seen

    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HeaderUnreadable(f"header: expected UTF-8 JSON, found {type(exc).__name__}: {exc}") from None
    if not isinstance(header, dict):
        raise HeaderUnreadable(f"header: expected a JSON object, found {type(header).__name__}")
    for name in duplicates:
        check.bad(f"key {name!r}", "each key once in the header (a loader keeps only one of them)", "twice")
    dtypes = load_formats().safetensors_dtypes
    data_len = size - 8 - n
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            _check_metadata(check, entry)
            continue
        where = f"tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            check.bad(where, "an object with dtype, shape and data_offsets", found)
            continue
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        width = dtypes.get(dtype) if isinstance(dtype, str) else None
        if width is None:
            check.bad(f"{where}.dtype", f"one of {', '.join(dtypes)}", repr(dtype))
        if not (isinstance(shape, list) and all(_is_count(d) for d in shape)):
            check.bad(f"{where}.shape", "a list of non-negative integers", repr(shape))
            shape = None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
            check.bad(f"{where}.data_offsets", "[begin, end] as non-negative integers", repr(offsets))
            continue
        begin, end = offsets
        if begin > end:
            check.bad(f"{where}.data_offsets", "begin <= end", f"[{begin}, {end}]")
            continue
        if end > data_len:
            check.bad(
                f"{where}.data_offsets",
                f"end within the {data_len} data bytes after the header",
                f"end {end}",
            )
        if width is not None and shape is not None:
            want = math.prod(shape) * width
            if end - begin != want:
                check.bad(
                    f"{where}.data_offsets",
                    f"{want} bytes ({'x'.join(map(str, shape)) or 'scalar'} of {dtype})",
                    f"{end - begin} bytes",
                )
        spans.append((begin, end, name))
        check.tensors += 1
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin < cursor:
            check.bad(f"tensor {name!r}.data_offsets", f"begin >= {cursor} (no overlap)", f"begin {begin}")
        elif begin > cursor:
            check.bad(f"tensor {name!r}.data_offsets", f"begin {cursor} (no gap)", f"begin {begin}")
        cursor = max(cursor, end)
    if cursor != data_len and not check.problems:
        check.bad("data", f"{cursor} bytes of tensor data after the header", f"{data_len} bytes")
    return check


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_metadata(check: HeaderCheck, meta: Any) -> None:
    if not isinstance(meta, dict):
        check.bad("__metadata__", "an object of string to string", type(meta).__name__)
        return
    for k, v in meta.items():
        if not isinstance(v, str):
            check.bad(f"__metadata__.{k}", "a string value", type(v).__name__)


# -- GGUF ----------------------------------------------------------------------------------------------

GGUF_MAGIC = b"GGUF"
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
STRING, ARRAY = 8, 9
DEFAULT_ALIGNMENT = 32


class _Reader:
    def __init__(self, f: BinaryIO, size: int, limits: ScanLimits, count_fmt: str) -> None:
        self.f, self.size, self.limits, self.count_fmt = f, size, limits, count_fmt

    def unpack(self, fmt: str, what: str) -> Any:
        return struct.unpack(fmt, _read_exact(self.f, struct.calcsize(fmt), what, self.size))[0]

    def count(self, what: str) -> int:
        return self.unpack(self.count_fmt, what)

    def string(self, what: str) -> str:
        n = self.count(f"{what} length")
        at = self.f.tell()
        if n > self.limits.max_gguf_string:
            raise HeaderUnreadable(
                f"{what} length at byte {at - 8}: expected at most {self.limits.max_gguf_string}, found {n}"
            )
        if at + n > self.size:
            raise HeaderUnreadable(
                f"{what} at byte {at}: expected {n} bytes, found {self.size - at}; truncated"
            )
        return _read_exact(self.f, n, what, self.size).decode("utf-8", "replace")

    def value(self, vtype: int, what: str, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype], what)
        if vtype == STRING:
            return self.string(what)
        if vtype == ARRAY and depth < 3:  # arrays of arrays are legal; a deep nest is not a model
            at = self.f.tell()
            etype = self.unpack("<I", f"{what} element type")
            n = self.count(f"{what} element count")
            if n > self.limits.max_gguf_array:
                raise HeaderUnreadable(
                    f"{what} element count at byte {at + 4}: expected at most "
                    f"{self.limits.max_gguf_array}, found {n}"
                )
            if etype in _SCALARS:
                width = struct.calcsize(_SCALARS[etype])
                if self.f.tell() + n * width > self.size:
                    raise HeaderUnreadable(
                        f"{what} at byte {at}: {n} elements of {width} bytes run past the end of the "
                        f"{self.size}-byte file; truncated"
                    )
                self.f.seek(n * width, 1)
                return f"[{n} values]"
            for i in range(n):
                self.value(etype, f"{what}[{i}]", depth + 1)
            return f"[{n} values]"
        raise HeaderUnreadable(f"{what} type at byte {self.f.tell() - 4}: expected 0-12, found {vtype}")


def check_gguf(f: BinaryIO, size: int, limits: ScanLimits) -> HeaderCheck:
    check = HeaderCheck("gguf")
    magic = _read_exact(f, 4, "magic", size)
    if magic != GGUF_MAGIC:
        raise HeaderUnreadable(f"magic: expected {GGUF_MAGIC!r}, found {magic!r}")
    version = struct.unpack("<I", _read_exact(f, 4, "version", size))[0]
    if version not in (1, 2, 3):
        raise HeaderUnreadable(f"version: expected 1, 2 or 3, found {version}")
    r = _Reader(f, size, limits, "<I" if version == 1 else "<Q")
    n_tensors = r.count("tensor count")
    n_kv = r.count("metadata count")
    if n_tensors > limits.max_gguf_tensors:
        raise HeaderUnreadable(f"tensor count: expected at most {limits.max_gguf_tensors}, found {n_tensors}")
    if n_kv > limits.max_gguf_kv:
        raise HeaderUnreadable(f"metadata count: expected at most {limits.max_gguf_kv}, found {n_kv}")
    alignment = DEFAULT_ALIGNMENT
    for i in range(n_kv):
        key = r.string(f"metadata key #{i}")
        vtype = r.unpack("<I", f"metadata {key!r} type")
        value = r.value(vtype, f"metadata {key!r}")
        if key == "general.alignment":
            if vtype != 4 or not isinstance(value, int) or value <= 0 or value & (value - 1):
                check.bad("general.alignment", "a power of two as uint32", f"{value!r} (type {vtype})")
            else:
                alignment = value
    types = load_formats().ggml_types
    tensors: list[tuple[str, int, int]] = []
    for i in range(n_tensors):
        name = r.string(f"tensor #{i} name")
        n_dims = r.unpack("<I", f"tensor {name!r} dimension count")
        if n_dims > 8:
            raise HeaderUnreadable(f"tensor {name!r} dimension count: expected at most 8, found {n_dims}")
        dims = [r.count(f"tensor {name!r} dimension {d}") for d in range(n_dims)]
        ttype = r.unpack("<I", f"tensor {name!r} type")
        offset = r.unpack("<Q", f"tensor {name!r} offset")
        where = f"tensor {name!r}"
        info = types.get(ttype)
        if info is None:
            check.bad(f"{where}.type", "a known GGML type number", ttype)
            continue
        elements = math.prod(dims)
        block, nbytes = info.block
        if elements % block:
            check.bad(f"{where}.dimensions", f"a multiple of {block} elements for {info.name}", elements)
            continue
        if offset % alignment:
            check.bad(f"{where}.offset", f"a multiple of the alignment {alignment}", offset)
        tensors.append((name, offset, elements // block * nbytes))
        check.tensors += 1
    header_end = f.tell()
    data_start = -(-header_end // alignment) * alignment
    data_len = size - data_start
    if data_len < 0:
        raise HeaderUnreadable(
            f"tensor data: expected to start at byte {data_start}, but the file is {size} bytes"
        )
    cursor = 0
    for name, offset, nbytes in sorted(tensors, key=lambda t: t[1]):
        if offset < cursor:
            check.bad(f"tensor {name!r}.offset", f">= {cursor} (no overlap with the previous tensor)", offset)
        if offset + nbytes > data_len:
            check.bad(
                f"tensor {name!r}.offset",
                f"offset + {nbytes} bytes within the {data_len} data bytes (file ends at {size})",
                f"ends at {offset + nbytes}",
            )
        cursor = max(cursor, offset + nbytes)
    check.notes.append(f"GGUF v{version}: {n_tensors} tensors, {n_kv} metadata keys, alignment {alignment}")
    return check
