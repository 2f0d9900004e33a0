"""A run's folder: its spec, its append-only JSONL log, and its summary.

The log gets one line per finished sample, flushed as it is written, so a run killed at any moment
(SIGKILL included) loses at most the line being written; `open_for_resume` drops such a torn line and
reports which samples are done, so a resumed run does each sample exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assay.energy.models import Footprint
from assay.evals.models import SampleRecord
from assay.store.blobs import atomic_write

SPEC = "spec.json"
SUITE = "suite.json"
LOG = "log.jsonl"
SUMMARY = "summary.json"
SEGMENTS = "segments.jsonl"  # one process's share of a run: its wall and CPU time, its footprint
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


class Segment(BaseModel):
    """The time one process spent on a run (a run resumed twice has three segments)."""

    index: int
    started_at: dt.datetime
    wall_s: float
    cpu_s: float
    records: int = 0
    footprint: Footprint | None = Field(
        None, description="energy and CO₂e of the segment; None until it ends (or when it was killed)"
    )


class SegmentClock:
    """Appends this process's segment to `segments.jsonl` at most once per `interval` and at its end,
    so throughput and CPU per sample add up over every segment of a resumed run, and a segment ended
    by SIGKILL loses at most `interval` seconds of its time."""

    def __init__(self, folder: Path, interval: float = 1.0) -> None:
        self.path = folder / SEGMENTS
        self.index = max((seg.index for seg in read_segments(folder)), default=-1) + 1
        self.interval = interval
        self.started_at = dt.datetime.now(dt.UTC)
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        self._last = float("-inf")
        self._latest: Segment | None = None

    def tick(self, records: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        seg = Segment(
            index=self.index,
            started_at=self.started_at,
            wall_s=round(now - self._t0, 6),
            cpu_s=round(time.process_time() - self._c0, 6),
            records=records,
        )
        self._append(seg)

    def attach(self, footprint: Footprint | None) -> None:
        """Record the segment's footprint beside its last times (a new line; the latest line wins)."""
        if self._latest is not None and footprint is not None:
            self._append(self._latest.model_copy(update={"footprint": footprint}))

    def _append(self, seg: Segment) -> None:
        self._latest = seg
        with self.path.open("ab") as f:
            f.write(seg.model_dump_json().encode() + b"\n")


def read_segments(folder: Path) -> list[Segment]:
    """The latest state of each segment, in order; a torn last line is ignored."""
    path = folder / SEGMENTS
    latest: dict[int, Segment] = {}
    if path.exists():
        for raw in path.read_bytes().split(b"\n"):
            if not raw.strip():
                continue
            try:
                seg = Segment.model_validate_json(raw)
            except ValueError:
                continue  # a line torn by a kill
            latest[seg.index] = seg
    return [latest[i] for i in sorted(latest)]
