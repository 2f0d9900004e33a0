"""Zip archives (torch's format) are opened within limits: a zip bomb is refused, never inflated."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

from assay.security.artifacts import ScanLimits, scan_file

from .conftest import RunsShell, marker_command, torch_style_zip


def test_benign_torch_zips_are_clean(model_files: dict[str, Path]) -> None:
    for name in ("benign.pt", "handmade.bin"):
        report = scan_file(model_files[name])
        assert report.format == "zip" and report.verdict == "clean", report
        assert report.sha256 and len(report.sha256) == 64
    imports = {(i.module, i.name) for i in scan_file(model_files["benign.pt"]).imports}
    assert ("torch._utils", "_rebuild_tensor_v2") in imports


def test_malicious_member_named_with_its_offset(model_files: dict[str, Path], marker: Path) -> None:
    report = scan_file(model_files["evil.pt"])
    (f,) = report.findings
    assert f.member == "archive/data.pkl" and f.opcode == "GLOBAL" and f.offset is not None
    payload = zipfile.ZipFile(model_files["evil.pt"]).read("archive/data.pkl")
    assert payload[f.offset : f.offset + 1] == b"c"  # GLOBAL's opcode byte sits at the reported offset
    assert not marker.exists()


def test_zip_bomb_refused_with_a_clear_message(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\x00" * (64 << 20))  # 64 MiB of zeros: ~64 KiB compressed
    assert bomb.stat().st_size < 1 << 20
    report = scan_file(bomb)
    assert report.verdict == "unreadable"
    assert "zip bomb refused" in report.error and "archive/data.pkl" in report.error


def test_member_count_and_total_size_limits(tmp_path: Path) -> None:
    many = tmp_path / "many.pt"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(20):
            zf.writestr(f"archive/data/{i}", b"x")
        zf.writestr("archive/data.pkl", pickle.dumps({}))
    assert scan_file(many).verdict == "clean"
    refused = scan_file(many, limits=ScanLimits(max_zip_members=10))
    assert refused.verdict == "unreadable" and "expected at most 10, found 21" in refused.error
    total = scan_file(many, limits=ScanLimits(max_zip_total_uncompressed=10))
    assert "zip bomb refused" in total.error and "claim" in total.error


def test_a_zip_without_pickles_and_a_broken_zip_are_not_model_files(tmp_path: Path, marker: Path) -> None:
    plain = tmp_path / "notes.bin"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert "not a model file" in scan_file(plain).error
    broken = tmp_path / "broken.pt"
    data = torch_style_zip(tmp_path / "x.pt", pickle.dumps(RunsShell(marker_command(marker)))).read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    report = scan_file(broken)
    assert report.verdict == "unreadable" and report.error
    assert not marker.exists()


def test_real_torch_checkpoints_have_no_false_positives(tmp_path: Path) -> None:
    """What torch.save writes for state dicts of many dtypes, parameters, optimiser state and sparse
    tensors is allowed; a whole pickled nn.Module imports its classes, which are code: medium findings."""
    import numpy as np
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4), torch.nn.Embedding(10, 4))
    state = {
        "model": model.state_dict(),
        "optim": torch.optim.SGD(model.parameters(), lr=0.1).state_dict(),
        "bf16": torch.ones(3, dtype=torch.bfloat16),
        "i8": torch.ones(3, dtype=torch.int8),
        "complex": torch.ones(2, dtype=torch.complex64),
        "param": torch.nn.Parameter(torch.ones(2)),
        "size": torch.Size([2, 3]),
        "dtype": torch.float16,
        "device": torch.device("cpu"),
        "numpy": np.ones(3),
        "sparse": torch.ones(3, 3).to_sparse(),
    }
    torch.save(state, tmp_path / "ckpt.pt")
    report = scan_file(tmp_path / "ckpt.pt")
    assert report.verdict == "clean", [f.import_ for f in report.findings]
    torch.save(model, tmp_path / "module.pt")
    findings = scan_file(tmp_path / "module.pt").findings
    assert findings and {f.severity for f in findings} == {"medium"}
    assert "torch.nn.modules.linear.Linear" in {f.import_ for f in findings}
