"""A run's folder: its spec, its append-only JSONL log, and its summary.

The log gets one line per finished sample, flushed as it is written, so a run killed at any moment
(SIGKILL included) loses at most the line being written; `open_for_resume` drops such a torn line and
reports which samples are done, so a resumed run does each sample exactly once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from assay.evals.models import SampleRecord
from assay.store.blobs import atomic_write

SPEC = "spec.json"
SUITE = "suite.json"
LOG = "log.jsonl"
SUMMARY = "summary.json"
OWNER = "owner.json"  # which process runs it now: a run whose process is gone was killed


class RunOwner(BaseModel):
    host: str
    pid: int

    @classmethod
    def me(cls) -> RunOwner:
        import socket

        return cls(host=socket.gethostname(), pid=os.getpid())

    def gone(self) -> bool:
        """True when this process no longer runs (on this host; another host's process is assumed alive)."""
        import socket

        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class RunLog:
    """Appends SampleRecords to `log.jsonl`, one flushed line each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOG
        self._fd: int | None = None

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: SampleRecord) -> None:
        assert self._fd is not None, "open() first"
        os.write(self._fd, record.model_dump_json(exclude_none=False).encode() + b"\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def repair(self) -> int:
        """Cut a torn last line left by a killed run; returns the bytes removed."""
        if not self.path.exists():
            return 0
        size = self.path.stat().st_size
        if size == 0:
            return 0
        with self.path.open("rb+") as f:
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return 0
            data = self.path.read_bytes()
            keep = data.rfind(b"\n") + 1
            f.truncate(keep)
            return size - keep

    def finished_ids(self) -> set[tuple[str, int]]:
        return {(r.sample_id, r.epoch) for r in read_log(self.path)}


def read_log(path: Path) -> Iterator[SampleRecord]:
    """Every complete record of a log; a torn last line is ignored."""
    if not path.exists():
        return
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            line = raw.strip()
            if line:
                yield SampleRecord.model_validate_json(line)


def write_json(path: Path, data: BaseModel | dict[str, Any]) -> None:
    text = data.model_dump_json(indent=2) if isinstance(data, BaseModel) else json.dumps(data, indent=2)
    atomic_write(path, text.encode() + b"\n")
