"""Model files for the scanner tests, written without ever loading a pickle.

Malicious pickles come from objects whose `__reduce__` names `os.system` with a command that would
create a marker file: dumping only records the call, and the tests check the marker never appears.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest


class RunsShell:
    """Pickles as a call to os.system(command); never unpickled here."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


class Custom:
    """A class from outside the allow-list: an unknown import, not a dangerous one."""

    def __init__(self) -> None:
        self.x = 1


def marker_command(marker: Path) -> str:
    return f"touch {marker}"


def torch_style_zip(path: Path, payload: bytes, *, folder: str = "archive") -> Path:
    """The layout torch.save writes (data.pkl, byteorder, data/0, version), built with zipfile."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/data.pkl", payload)
        zf.writestr(f"{folder}/byteorder", "little")
        zf.writestr(f"{folder}/data/0", b"\x00" * 16)
        zf.writestr(f"{folder}/version", "3\n")
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    m = tmp_path / "PWNED"
    assert not m.exists()
    return m


@pytest.fixture
def model_files(tmp_path: Path, marker: Path) -> dict[str, Path]:
    """One of each: benign and malicious pickles, a torch zip of each, safetensors, npy."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    d = tmp_path / "models"
    d.mkdir()
    evil = RunsShell(marker_command(marker))
    files: dict[str, Path] = {}
    files["evil.pkl"] = d / "evil.pkl"
    files["evil.pkl"].write_bytes(pickle.dumps({"weights": [1, 2], "x": evil}, protocol=4))
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2, 3)}, buf)
    files["benign.pt"] = d / "benign.pt"
    files["benign.pt"].write_bytes(buf.getvalue())
    files["evil.pt"] = torch_style_zip(d / "evil.pt", pickle.dumps({"x": evil}, protocol=2))
    files["handmade.bin"] = torch_style_zip(
        d / "handmade.bin", pickle.dumps({"w": [1.0, 2.0]}, protocol=2), folder="model"
    )
    files["array.npy"] = d / "array.npy"
    np.save(files["array.npy"], np.arange(12, dtype=np.float32).reshape(3, 4))
    files["weights.safetensors"] = d / "weights.safetensors"
    save_file({"a": torch.ones(2, 3), "b": torch.zeros(4, dtype=torch.int64)}, files["weights.safetensors"])
    return files
