"""Containers that hold pickles: zip archives (torch's `.pt`/`.bin`, numpy's `.npz`), `.npy` files with
object arrays, and compressed joblib files. Every claimed size is checked against a limit before any
byte is inflated, so a zip bomb is refused instead of expanded."""

from __future__ import annotations

import ast
import bz2
import lzma
import math
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

from assay.security.artifacts.limits import ScanLimits
from assay.security.artifacts.models import FileReport
from assay.security.artifacts.pickles import scan_pickles
from assay.security.artifacts.rules import Rules

NPY_MAGIC = b"\x93NUMPY"
MAX_FINDINGS = 1000
"""Per file: a hostile pickle can repeat an unresolvable opcode millions of times."""


class Refused(ValueError):
    """Input this scan will not read further (a zip bomb, a member over a limit, a broken archive)."""


def add_pickle_scans(
    report: FileReport, buf: Any, rules: Rules, limits: ScanLimits, member: str | None, start: int = 0
) -> None:
    scans, error = scan_pickles(buf, rules, limits, member=member, file=report.file, start=start)
    where = f"{member}: " if member else ""
    for s in scans:
        report.findings.extend(s.findings)
        report.imports.extend(s.imports)
        report.notes.extend(s.notes)
        if s.arrays_skipped:
            report.notes.append(
                f"{where}{s.arrays_skipped} joblib array(s), "
                f"{s.array_bytes_skipped} bytes of data, stepped over"
            )
        if s.repeats:
            report.notes.append(f"{where}{s.repeats} more import opcodes repeat globals listed once")
    if len(report.findings) > MAX_FINDINGS:
        report.notes.append(
            f"{len(report.findings) - MAX_FINDINGS} findings after the first {MAX_FINDINGS} left out"
        )
        del report.findings[MAX_FINDINGS:]
    if error and not report.error:
        report.error = error


def scan_zip(report: FileReport, path: str, rules: Rules, limits: ScanLimits) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Refused(f"not a readable zip archive: {exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_members:
            raise Refused(f"zip members: expected at most {limits.max_zip_members}, found {len(infos)}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_zip_total_uncompressed:
            raise Refused(
                f"zip bomb refused: members claim {total} bytes uncompressed, "
                f"more than the limit of {limits.max_zip_total_uncompressed}"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.zip_ratio_floor and ratio > limits.max_zip_ratio:
                raise Refused(
                    f"zip bomb refused: member {info.filename!r} expands {ratio:.0f}x "
                    f"({info.compress_size} -> {info.file_size} bytes; limit {limits.max_zip_ratio:.0f}x)"
                )
        scanned = 0
        for info in infos:
            name = info.filename
            low = name.lower()
            if info.is_dir() or not (low.endswith((".pkl", ".pickle")) or low.endswith(".npy")):
                continue
            if info.file_size > limits.max_pickle_bytes:
                raise Refused(
                    f"member {name!r}: {info.file_size} bytes, more than the limit of "
                    f"{limits.max_pickle_bytes}"
                )
            data = _read_member(zf, info, limits)
            scanned += 1
            if low.endswith(".npy"):
                scan_npy_bytes(report, data, rules, limits, member=name)
            else:
                add_pickle_scans(report, data, rules, limits, member=name)
        report.notes.append(f"zip: {len(infos)} members, {scanned} scanned as pickles or arrays")
        if not scanned:
            raise Refused("a zip archive with no pickle (.pkl) or array (.npy) member: not a model file")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ScanLimits) -> bytes:
    """Read one member in chunks, refusing it if it inflates past what its header claimed."""
    chunks: list[bytes] = []
    got = 0
    try:
        with zf.open(info) as member:
            while block := member.read(1 << 20):
                got += len(block)
                if got > info.file_size or got > limits.max_pickle_bytes:
                    raise Refused(
                        f"member {info.filename!r} inflates past its declared {info.file_size} bytes"
                    )
                chunks.append(block)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise Refused(f"member {info.filename!r} cannot be read: {exc}") from None
    return b"".join(chunks)


def parse_npy_header(data: Any, limits: ScanLimits) -> tuple[Any, tuple[int, ...], int]:
    """(dtype, shape, data offset) from an .npy header, read with `ast.literal_eval` (no code runs)."""
    import numpy as np

    if bytes(data[:6]) != NPY_MAGIC:
        raise Refused(f"magic: expected {NPY_MAGIC!r}, found {bytes(data[:6])!r}")
    if len(data) < 10:
        raise Refused(f"npy header: expected at least 10 bytes, found {len(data)}; truncated")
    major = data[6]
    if major == 1:
        (hlen,), start = struct.unpack("<H", bytes(data[8:10])), 10
    elif major in (2, 3):
        if len(data) < 12:
            raise Refused("npy header length: truncated")
        (hlen,), start = struct.unpack("<I", bytes(data[8:12])), 12
    else:
        raise Refused(f"npy version: expected 1, 2 or 3, found {major}")
    if hlen > limits.max_npy_header or start + hlen > len(data):
        raise Refused(
            f"npy header length: expected at most "
            f"{min(limits.max_npy_header, len(data) - start)}, found {hlen}"
        )
    text = bytes(data[start : start + hlen]).decode("latin-1")
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError) as exc:
        raise Refused(f"npy header: expected a Python literal dict, found {type(exc).__name__}") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise Refused("npy header: expected keys descr, fortran_order and shape")
    shape = header["shape"]
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise Refused(f"npy header shape: expected a tuple of non-negative integers, found {shape!r}")
    try:
        dtype = np.dtype(header["descr"])
    except (TypeError, ValueError) as exc:
        raise Refused(
            f"npy header descr: expected a numpy dtype, found {header['descr']!r} ({exc})"
        ) from None
    return dtype, shape, start + hlen


def scan_npy_bytes(
    report: FileReport, data: Any, rules: Rules, limits: ScanLimits, member: str | None = None
) -> None:
    where = f"{member}: " if member else ""
    try:
        dtype, shape, offset = parse_npy_header(data, limits)
    except Refused as exc:
        raise Refused(f"{where}{exc}") from None
    if dtype.hasobject:
        add_pickle_scans(report, data, rules, limits, member, start=offset)
        return
    want = math.prod(shape) * dtype.itemsize
    found = len(data) - offset
    if found != want:
        report.findings.append(
            rules.finding(
                "header-inconsistent",
                "high",
                f"{where}array data: expected {want} bytes for shape {shape} of {dtype}, found {found}",
                file=report.file,
                member=member,
                offset=offset,
                field="shape",
                expected=str(want),
                found=str(found),
            )
        )


_DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "zlib": zlib.decompressobj,
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "bz2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}
COMPRESSED_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ": "xz",
    b"\x78\x9c": "zlib",
    b"\x78\x01": "zlib",
    b"\x78\xda": "zlib",
}
_BLOCK = 1 << 20


def compression_of(head: bytes) -> str | None:
    if len(head) >= 2 and head[0] == 0x78 and int.from_bytes(head[:2], "big") % 31 == 0:
        return "zlib"  # a zlib stream header: deflate, 32K window, any level (RFC 1950 check bits)
    for magic, kind in COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def decompress_to_temp(src: IO[bytes], kind: str, limits: ScanLimits, compressed_size: int) -> IO[bytes]:
    """Inflate a compressed joblib/pickle file into a temporary file a megabyte at a time, refusing it
    once it passes the size or ratio limit (a decompression bomb never lands whole on disk)."""
    d = _DECOMPRESSORS[kind]()
    cap = min(
        limits.max_decompressed, max(int(compressed_size * limits.max_zip_ratio), limits.zip_ratio_floor)
    )
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, closed on error here
    total = 0

    def emit(block: bytes) -> None:
        nonlocal total
        total += len(block)
        if total > cap:
            raise Refused(
                f"{kind} stream expands past {cap} bytes from {compressed_size} compressed: "
                "decompression bomb refused"
            )
        out.write(block)

    try:
        streaming = kind in ("zlib", "gzip")
        while True:
            chunk = src.read(_BLOCK)
            if streaming:
                data = chunk
                while data:
                    emit(d.decompress(data, _BLOCK))
                    data = d.unconsumed_tail
                if not chunk or d.eof:
                    break
            else:
                if d.eof:
                    break
                emit(d.decompress(chunk, _BLOCK))
                while not d.eof and not d.needs_input:
                    emit(d.decompress(b"", _BLOCK))
                if not chunk:
                    break
        if not d.eof:
            raise Refused(f"{kind} stream ends early: truncated")
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        out.close()
        raise Refused(f"{kind} stream cannot be read: {exc}") from None
    except Refused:
        out.close()
        raise
    out.seek(0)
    return out
