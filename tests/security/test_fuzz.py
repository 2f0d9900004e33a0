"""A bounded fuzz of the pickle and header parsers: arbitrary bytes give a verdict, never an uncaught
exception, within a small memory budget (traced) and hypothesis's deadline."""

from __future__ import annotations

import contextlib
import io
import json
import pickletools
import struct
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.security.artifacts import ScanLimits, load_rules
from assay.security.artifacts.headers import HeaderUnreadable, check_gguf, check_safetensors
from assay.security.artifacts.pickles import scan_pickles

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
MEMORY_BUDGET = 16 << 20
LIMITS = ScanLimits()
OPCODES = [op.code.encode("latin-1") for op in pickletools.opcodes]


def _within_budget(fn, *args) -> None:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        fn(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET, peak


# opcodes with random arguments after them: far more reach deep into the walk than random bytes do
opcode_soup = st.lists(st.tuples(st.sampled_from(OPCODES), st.binary(max_size=12)), max_size=60).map(
    lambda parts: b"\x80" + bytes([4]) + b"".join(op + arg for op, arg in parts) + b"."
)


@FUZZ
@given(st.one_of(st.binary(max_size=400), opcode_soup))
def test_pickle_walk_never_raises(data: bytes) -> None:
    def run() -> None:
        scans, error = scan_pickles(data, load_rules(), LIMITS)
        assert isinstance(error, str) and scans

    _within_budget(run)


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 2**64 - 1))
def test_lying_lengths_in_big_arguments_do_not_allocate(tail: bytes, n: int) -> None:
    """BINBYTES8 / BINUNICODE8 claiming up to 2**64 bytes: the window clamps the read to the file."""
    for code in (b"\x8e", b"\x8d", b"\x96"):
        _within_budget(
            lambda c=code: scan_pickles(b"\x80\x05" + c + struct.pack("<Q", n) + tail, load_rules(), LIMITS)
        )


def _check(fn, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(HeaderUnreadable):
        fn(io.BytesIO(data), len(data), LIMITS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**70) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
tensor_entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F16", "I64", "BOOL", "X9"]) | json_values,
        "shape": st.lists(st.integers(-2, 2**40), max_size=4) | json_values,
        "data_offsets": st.lists(st.integers(-2, 2**66), min_size=0, max_size=3) | json_values,
    }
)


@FUZZ
@given(
    st.dictionaries(st.text(max_size=8), tensor_entries | json_values, max_size=6), st.binary(max_size=200)
)
def test_safetensors_header_check_never_raises(header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    blob = struct.pack("<Q", len(raw)) + raw + data
    _within_budget(_check, check_safetensors, blob)


@FUZZ
@given(st.binary(max_size=600), st.binary(max_size=300))
def test_safetensors_random_bytes_never_raise(head: bytes, rest: bytes) -> None:
    _within_budget(_check, check_safetensors, head + rest)


@FUZZ
@given(
    st.sampled_from([1, 2, 3, 7]),
    st.integers(0, 2**64 - 1) | st.integers(0, 4),
    st.integers(0, 2**64 - 1) | st.integers(0, 4),
    st.binary(max_size=600),
)
def test_gguf_header_check_never_raises(version: int, tensors: int, kvs: int, body: bytes) -> None:
    fmt = "<I" if version == 1 else "<Q"
    counts = struct.pack(fmt, tensors % (1 << (32 if version == 1 else 64))) + struct.pack(
        fmt, kvs % (1 << (32 if version == 1 else 64))
    )
    _within_budget(_check, check_gguf, b"GGUF" + struct.pack("<I", version) + counts + body)


@FUZZ
@given(
    st.binary(max_size=300),
    st.sampled_from([b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"\x93NUMPY\x03\x00"]),
)
def test_npy_and_zip_readers_give_a_verdict(body: bytes, magic: bytes) -> None:
    import tempfile
    from pathlib import Path

    from assay.security.artifacts import scan_file

    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("a.npy", magic + body), ("a.pt", b"PK\x03\x04" + body), ("a.pkl", body)):
            p = Path(tmp) / name
            p.write_bytes(data)
            report = scan_file(p)
            assert report.verdict in ("clean", "findings", "unreadable")
            assert report.verdict != "unreadable" or report.error


@FUZZ
@given(
    st.lists(st.integers(0, 5), min_size=0, max_size=3),
    st.sampled_from(["f8", "i4", "u1", "c8", "O"]),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 200),
)
def test_joblib_array_stepping_survives_damage(shape: list[int], dtype: str, flips: list, cut: int) -> None:
    """Real joblib files with bytes flipped and tails cut: the wrapper's shape, dtype and padding are
    read from damaged state, and the walk still ends in a verdict."""
    import numpy as np

    joblib = __import__("pytest").importorskip("joblib", reason="joblib is not installed")
    buf = io.BytesIO()
    array = np.zeros(shape, dtype=dtype) if dtype != "O" else np.array([1, "x"], dtype=object)
    joblib.dump({"a": array, "n": 3}, buf)
    data = bytearray(buf.getvalue())
    for pos, value in flips:
        data[pos % len(data)] = value
    data = data[: max(1, len(data) - cut)]
    _within_budget(lambda: scan_pickles(bytes(data), load_rules(), LIMITS))
