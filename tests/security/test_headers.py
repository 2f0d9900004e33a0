"""safetensors and GGUF headers against the file: truncated and lying headers named field by field.
The verdicts are cross-checked against the formats' own libraries (safetensors, gguf)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from assay.security.artifacts import scan_file
from assay.security.artifacts.rules import load_formats


def _safetensors(path: Path, header: dict, data: bytes) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


GOOD = {
    "__metadata__": {"format": "pt"},
    "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    "b": {"dtype": "I64", "shape": [4], "data_offsets": [24, 56]},
}


def _loads_with_safetensors(path: Path) -> bool:
    from safetensors import safe_open

    try:
        with safe_open(str(path), "np") as f:
            for k in f.keys():  # noqa: SIM118 - safe_open has keys(), not iteration
                f.get_slice(k)
        return True
    except Exception:  # noqa: BLE001 - any refusal by the library counts
        return False


def test_real_safetensors_file_is_clean(model_files: dict[str, Path]) -> None:
    report = scan_file(model_files["weights.safetensors"])
    assert report.format == "safetensors" and report.verdict == "clean", report
    renamed = model_files["weights.safetensors"].with_name("model.bin")
    renamed.write_bytes(model_files["weights.safetensors"].read_bytes())
    assert scan_file(renamed).format == "safetensors"  # recognised by content, not by name


@pytest.mark.parametrize(
    ("name", "header", "data_len", "field", "expected", "found"),
    [
        ("good", GOOD, 56, None, None, None),
        ("shape-lies", {**GOOD, "a": {**GOOD["a"], "shape": [2, 4]}}, 56, "tensor 'a'.data_offsets",
         "32 bytes (2x4 of F32)", "24 bytes"),
        ("bad-dtype", {**GOOD, "a": {**GOOD["a"], "dtype": "F33"}}, 56, "tensor 'a'.dtype", None, "'F33'"),
        ("overlap", {**GOOD, "b": {**GOOD["b"], "data_offsets": [16, 48]}}, 56, "tensor 'b'.data_offsets",
         "begin >= 24 (no overlap)", "begin 16"),
        ("past-end", GOOD, 40, "tensor 'b'.data_offsets", "end within the 40 data bytes after the header",
         "end 56"),
        ("gap", {**GOOD, "b": {**GOOD["b"], "data_offsets": [32, 64]}}, 64, "tensor 'b'.data_offsets",
         "begin 24 (no gap)", "begin 32"),
        ("metadata", {**GOOD, "__metadata__": {"n": 1}}, 56, "__metadata__.n", "a string value", "int"),
    ],
)  # fmt: skip
def test_lying_safetensors_headers(
    tmp_path: Path, name: str, header: dict, data_len: int, field: str | None, expected: str | None,
    found: str | None,
) -> None:  # fmt: skip
    path = _safetensors(tmp_path / f"{name}.safetensors", header, b"\x00" * data_len)
    report = scan_file(path)
    if field is None:
        assert report.verdict == "clean" and _loads_with_safetensors(path)
        return
    assert report.verdict == "findings"
    f = next(f for f in report.findings if f.field == field)
    assert f.kind == "header-inconsistent" and f.severity == "high"
    assert expected is None or f.expected == expected
    assert found is None or f.found == found
    assert not _loads_with_safetensors(path), "the library accepts a header the scanner calls a lie"


def test_duplicate_tensor_names_are_a_lie(tmp_path: Path) -> None:
    """Two entries for one name: JSON readers keep one, so the other's bytes hide in the file."""
    raw = json.dumps(GOOD).encode()
    raw = raw[:-1] + b', "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    path = tmp_path / "dup.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\x00" * 56)
    fields = {f.field for f in scan_file(path).findings}
    assert "key 'a'" in fields
    assert not _loads_with_safetensors(path)


def test_truncated_safetensors_is_unreadable(tmp_path: Path) -> None:
    full = _safetensors(tmp_path / "full.safetensors", GOOD, b"\x00" * 56).read_bytes()
    for cut, words in ((4, "header length"), (30, "header length: expected at most")):
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(full[:cut])
        report = scan_file(p)
        assert report.verdict == "unreadable" and words in report.error, report.error
    p = tmp_path / "notjson.safetensors"
    p.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    assert "expected UTF-8 JSON" in scan_file(p).error


# -- GGUF ------------------------------------------------------------------------------------------


def _bundled_gguf() -> Path:
    from assay.evals.bundled.engine import ModelUnavailable, find_gguf

    try:
        return find_gguf()
    except ModelUnavailable as exc:
        pytest.skip(f"the bundled model is not installed: {exc}")


def test_bundled_gguf_is_clean_and_agrees_with_the_gguf_library() -> None:
    gguf = pytest.importorskip("gguf", reason="the gguf package (model extra) is not installed")
    path = _bundled_gguf()
    report = scan_file(path)
    assert report.format == "gguf" and report.verdict == "clean", report
    reader = gguf.GGUFReader(path)
    assert f"{len(reader.tensors)} tensors" in report.notes[0]


def test_ggml_type_table_matches_the_gguf_library() -> None:
    gguf = pytest.importorskip("gguf", reason="the gguf package (model extra) is not installed")
    ours = {k: tuple(v.block) for k, v in load_formats().ggml_types.items()}
    theirs = {t.value: tuple(s) for t, s in gguf.GGML_QUANT_SIZES.items()}
    assert ours == theirs


def _small_gguf(path: Path) -> Path:
    gguf = pytest.importorskip("gguf", reason="the gguf package (model extra) is not installed")
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("test.count", 7)
    w.add_array("test.list", ["a", "b", "c"])
    w.add_tensor("t0", np.ones((4, 8), dtype=np.float32))
    w.add_tensor("t1", np.zeros((16,), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_small_gguf_clean_then_truncated_and_lying(tmp_path: Path) -> None:
    good = _small_gguf(tmp_path / "small.gguf")
    assert scan_file(good).verdict == "clean"
    data = bytearray(good.read_bytes())
    # truncated inside the tensor data: the last tensor runs past the end
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(bytes(data[:-10]))
    f = scan_file(cut).findings[0]
    assert f.field == "tensor 't1'.offset" and "within the" in f.expected and f.found.startswith("ends at")
    # truncated inside the header
    head = tmp_path / "head.gguf"
    head.write_bytes(bytes(data[:40]))
    assert scan_file(head).verdict == "unreadable" and "truncated" in scan_file(head).error
    # a tensor count that lies
    liar = tmp_path / "count.gguf"
    liar.write_bytes(bytes(data[:8]) + struct.pack("<Q", 1 << 40) + bytes(data[16:]))
    assert "tensor count: expected at most" in scan_file(liar).error
    # bad magic and bad version
    magic = tmp_path / "magic.gguf"
    magic.write_bytes(b"GGUX" + bytes(data[4:]))
    assert scan_file(magic).verdict == "unreadable"
    version = tmp_path / "version.gguf"
    version.write_bytes(bytes(data[:4]) + struct.pack("<I", 9) + bytes(data[8:]))
    assert "version: expected 1, 2 or 3, found 9" in scan_file(version).error
