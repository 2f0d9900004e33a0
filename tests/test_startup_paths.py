"""Short cuts that keep short commands fast must give what the long way gives: the signing key read
without `cryptography`'s serialization package, a built-in scorer imported alone, and the CLI's command
groups built only when named."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from assay.assurance.keys import PRIVATE, SigningKey, _ed25519_from_pem

from .conftest import REPO


def test_the_signing_key_reads_the_same_without_the_serialization_package(tmp_path: Path) -> None:
    made = SigningKey.load_or_create(tmp_path)
    pem = (tmp_path / PRIVATE).read_bytes()
    quick = _ed25519_from_pem(pem)
    full = serialization.load_pem_private_key(pem, password=None)
    assert quick is not None and isinstance(full, Ed25519PrivateKey)
    assert quick.private_bytes_raw() == full.private_bytes_raw()
    again = SigningKey.load_or_create(tmp_path)
    assert again.key_id == made.key_id and again.sign(b"x") == made.sign(b"x")


def test_other_key_files_go_through_the_full_loader(tmp_path: Path) -> None:
    """An encrypted or non-Ed25519 key is not for the quick reader: the full loader reads or rejects it."""
    ed = Ed25519PrivateKey.generate()
    encrypted = ed.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert _ed25519_from_pem(encrypted) is None and _ed25519_from_pem(other) is None
    assert _ed25519_from_pem(b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n") is None
    (tmp_path / PRIVATE).write_bytes(other)
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        SigningKey.load_or_create(tmp_path)


def test_each_built_in_scorer_is_mapped_to_the_module_that_registers_it() -> None:
    from assay.evals.scorers import base

    base.scorer_names()  # every built-in module imported
    registered = {
        name: factory.__module__.rsplit(".", 1)[1]
        for name, factory in base._REGISTRY.items()
        if factory.__module__.startswith("assay.evals.scorers.")
    }
    assert registered == base._BUILTIN_MODULES


def test_a_built_in_scorer_builds_without_loading_the_others() -> None:
    code = (
        "import sys\n"
        "from assay.evals.scorers.base import build_scorer\n"
        "build_scorer('exact')\n"
        "print(sorted(m for m in sys.modules if m.startswith('assay.evals.scorers.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.splitlines() == ["['assay.evals.scorers.base', 'assay.evals.scorers.match']"]


def test_command_groups_are_built_when_named_and_listed_in_order() -> None:
    from assay.cli.common import LazyCommands
    from assay.cli.main import GROUPS, app

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    cells = [ln.split()[1] for ln in result.stdout.splitlines() if ln.startswith("│ ") and ln.split()[1:]]
    listed = [c for c in cells if c[0].isalpha()]  # the command names, not the options
    top = ["init", "validate", "assess", "conformance", "attest", "monitor", "serve", "verify", "mark", "bom"]
    top += ["bundle", "replay"]
    assert listed == [*top, *(n for n, _, _ in GROUPS), "keys"]  # as when all were registered eagerly
    for _name, where, _ in GROUPS:
        module, attribute = where.split(":")
        assert hasattr(importlib.import_module(f"assay.cli.{module}"), attribute), where

    built: list[str] = []
    commands = LazyCommands({"a": "A"}, {"b": lambda: built.append("b") or "B", "c": lambda: "C"}, position=0)  # type: ignore[dict-item]
    assert list(commands) == ["b", "c", "a"] and "c" in commands and built == []
    assert commands.get("b") == "B" and built == ["b"] and commands.get("zz") is None
    commands["d"] = "D"  # type: ignore[assignment]
    del commands["c"]
    assert list(commands) == ["b", "a", "d"] and len(commands) == 3 and dict(commands.items())["d"] == "D"


def test_the_heap_is_frozen_only_when_the_command_owns_the_process() -> None:
    """In-process callers (the API's tests, `CliRunner`) keep a collector that sees everything; only the
    console entry point, whose process ends with the command, freezes what its imports made."""
    import gc

    from assay.cli.common import WHOLE_PROCESS, settle_heap

    before = gc.get_freeze_count()
    settle_heap()
    assert not WHOLE_PROCESS["cli"] and gc.get_freeze_count() == before
