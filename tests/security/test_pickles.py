"""Pickle disassembly: every protocol, every opcode that imports or calls, and nothing ever runs."""

from __future__ import annotations

import collections
import io
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest

from assay.security.artifacts import ScanLimits, load_rules, scan_file
from assay.security.artifacts.pickles import scan_pickles

from .conftest import Custom, RunsShell, marker_command

IMPORT_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST"}


def _scan_bytes(data: bytes):  # type: ignore[no-untyped-def]
    return scan_pickles(data, load_rules(), ScanLimits())


def _import_offsets(data: bytes) -> dict[int, str]:
    """Where pickletools itself sees import opcodes, to check the offsets the scanner reports."""
    return {pos: op.name for op, _, pos in pickletools.genops(data) if op.name in IMPORT_OPCODES}


@pytest.mark.parametrize("protocol", range(0, 6))
def test_os_system_found_at_its_opcode_in_every_protocol(protocol: int, marker: Path) -> None:
    data = pickle.dumps([collections.OrderedDict(a=1), RunsShell(marker_command(marker))], protocol=protocol)
    scans, error = _scan_bytes(data)
    assert error == ""
    findings = [f for s in scans for f in s.findings]
    assert len(findings) == 1
    (f,) = findings
    assert f.severity == "critical" and f.kind == "dangerous-import"
    assert f.import_ in ("posix.system", "nt.system", "os.system")
    assert _import_offsets(data)[f.offset] == f.opcode
    assert "LLM03:2025" in f.owasp and "AML.T0011.000" in f.atlas
    # the allowed import was seen too, and is not a finding
    assert any(i.module == "collections" and i.allowed for s in scans for i in s.imports)
    assert not marker.exists()


def _op(code: str) -> bytes:
    return pickletools.code2op[code].code.encode("latin-1")


def _short_unicode(s: str) -> bytes:
    raw = s.encode()
    return _op("\x8c") + bytes([len(raw)]) + raw


def test_stack_global_resolved_through_the_memo() -> None:
    """builtins.eval assembled from memoized strings that were popped and fetched back (by hand)."""
    data = (
        _op("\x80")
        + b"\x04"
        + _short_unicode("builtins")
        + _op("\x94")  # MEMOIZE -> 0
        + _short_unicode("eval")
        + _op("\x94")  # MEMOIZE -> 1
        + _op("0")
        + _op("0")  # POP both
        + _op("h")
        + b"\x00"
        + _op("h")
        + b"\x01"  # BINGET 0, BINGET 1
    )
    at = len(data)
    data += _op("\x93") + _short_unicode("print(1)") + _op("\x85") + _op("R") + _op(".")
    pickletools.dis(data, out=io.StringIO())  # a valid pickle by the standard library's own reading
    scans, error = _scan_bytes(data)
    (f,) = scans[0].findings
    assert error == "" and f.import_ == "builtins.eval" and f.offset == at and f.opcode == "STACK_GLOBAL"
    assert f.severity == "critical"


def test_inst_and_obj_opcodes() -> None:
    inst = b"(S'echo hi'\nios\nsystem\n."  # protocol 0: INST os system with one argument
    scans, error = _scan_bytes(inst)
    assert error == "" and scans[0].findings[0].opcode == "INST" and scans[0].findings[0].offset == 12
    obj = b"\x80\x02(csubprocess\nPopen\nS'ls'\no."  # OBJ: MARK, class, args
    scans, error = _scan_bytes(obj)
    assert error == "" and scans[0].findings[0].import_ == "subprocess.Popen"


def test_a_stack_global_built_at_load_time_is_unresolved() -> None:
    """The module name is the result of a call: it cannot be known without running it."""
    data = (
        b"\x80\x04"
        + _short_unicode("collections")
        + _short_unicode("OrderedDict")
        + b"\x93)R"  # STACK_GLOBAL, EMPTY_TUPLE, REDUCE: an OrderedDict object as the "module"
        + _short_unicode("system")
        + b"\x93."
    )
    scans, error = _scan_bytes(data)
    kinds = [f.kind for f in scans[0].findings]
    assert error == "" and kinds == ["unresolved-import"]


def test_benign_objects_are_clean() -> None:
    data = pickle.dumps({"a": np.arange(5), "b": collections.OrderedDict(x=[1, 2.5, "s", b"b"])}, protocol=5)
    scans, error = _scan_bytes(data)
    assert error == "" and not [f for s in scans for f in s.findings]


def test_unknown_class_is_a_medium_finding() -> None:
    scans, _ = _scan_bytes(pickle.dumps(Custom()))
    (f,) = scans[0].findings
    assert f.kind == "unknown-import" and f.severity == "medium" and f.import_.endswith("conftest.Custom")


def test_malformed_pickles_get_a_verdict_not_a_traceback(tmp_path: Path, marker: Path) -> None:
    good = pickle.dumps([1, 2, 3], protocol=4)
    cases = {
        "truncated.pkl": good[:-3],
        "unknown-opcode.pkl": b"\x80\x04\xff",
        "no-stop.pkl": b"\x80\x02K\x01",
        "empty-stack.pkl": b"\x80\x02R.",
        "missing-memo.pkl": b"\x80\x02h\x07.",
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        report = scan_file(p)
        assert report.verdict == "unreadable", name
        assert "not a valid pickle" in report.error and "byte" in report.error, report.error
    # a payload before the damage is still reported: pickle.load would have run it already
    evil = pickle.dumps(RunsShell(marker_command(marker)), protocol=2)
    p = tmp_path / "evil-then-junk.pkl"
    p.write_bytes(evil[:-1] + b"\xff")
    report = scan_file(p)
    assert report.verdict == "findings" and report.error and report.findings[0].severity == "critical"
    assert not marker.exists()


def test_torch_legacy_format_and_its_raw_storage_bytes(tmp_path: Path) -> None:
    import torch

    p = tmp_path / "legacy.pt"
    torch.save({"w": torch.arange(6.0)}, p, _use_new_zipfile_serialization=False)
    report = scan_file(p)
    assert report.verdict == "clean", report
    assert {(i.module, i.name) for i in report.imports} >= {("torch._utils", "_rebuild_tensor_v2")}
    assert any("read as data" in n for n in report.notes)


def test_joblib_arrays_are_stepped_over_and_payloads_after_them_found(tmp_path: Path, marker: Path) -> None:
    joblib = pytest.importorskip("joblib", reason="joblib is not installed")
    good = tmp_path / "good.joblib"
    joblib.dump({"a": np.arange(100.0), "o": np.array([1, "x"], dtype=object)}, good)
    assert scan_file(good).verdict == "clean"
    for compress in (0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3)):
        p = tmp_path / f"evil-{compress}.joblib"
        joblib.dump({"a": np.arange(1000.0), "e": RunsShell(marker_command(marker))}, p, compress=compress)
        report = scan_file(p)
        assert report.verdict == "findings", (compress, report.error)
        assert report.findings[0].import_.endswith(".system")
    assert not marker.exists()


def test_object_npy_and_npz(tmp_path: Path, marker: Path) -> None:
    npy = tmp_path / "obj.npy"
    np.save(npy, np.array([RunsShell(marker_command(marker))], dtype=object), allow_pickle=True)
    assert scan_file(npy).findings[0].severity == "critical"
    npz = tmp_path / "a.npz"
    np.savez(npz, plain=np.arange(3), obj=np.array([RunsShell(marker_command(marker))], dtype=object))
    report = scan_file(npz)
    assert report.format == "zip" and report.findings[0].member == "obj.npy"
    lying = tmp_path / "lying.npy"
    np.save(lying, np.arange(10))
    lying.write_bytes(lying.read_bytes()[:-8])
    (f,) = scan_file(lying).findings
    assert f.kind == "header-inconsistent" and f.expected == "80" and f.found == "72"
    assert not marker.exists()


def test_python2_names_are_judged_as_python3_imports_them() -> None:
    """The unpickler maps protocol 0-2 names (fix_imports): `commands` is `subprocess` on Python 3."""
    scans, _ = _scan_bytes(b"ccommands\ngetoutput\n(S'id'\ntR.")
    (f,) = scans[0].findings
    assert f.import_ == "subprocess.getoutput" and f.severity == "critical"
    scans, _ = _scan_bytes(b"c__builtin__\nset\n(tR.")
    assert scans[0].findings == [] and scans[0].imports[0].module == "builtins"


def test_a_repeated_import_is_reported_once(tmp_path: Path) -> None:
    """A million GLOBAL os.system opcodes: one finding at the first, a note counting the rest."""
    body = b"\x80\x02" + b"cos\nsystem\n0" * 200_000 + b"N."
    p = tmp_path / "many.pkl"
    p.write_bytes(body)
    report = scan_file(p)
    assert len(report.findings) == 1 and report.findings[0].offset == 2
    assert len(report.imports) == 1
    assert any("199999 more import opcodes" in n for n in report.notes)
