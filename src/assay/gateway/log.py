"""The decision log: one JSON line per request (hash of the request, rules fired, action, latency),
appended to a file that is rotated by size; each closed file is recorded as signed evidence
(kind `monitor.log`), so the log of what the gateway let through cannot be edited unseen.

Lines are kept in memory and written in batches (`flush`, which the gateway calls a moment after a
request; also on rotation and close), so a request does not pay for a write system call; a batch is
written whole, so the file only ever holds whole lines. Several gateway processes (`--workers`) each
keep their own file (its name carries the worker's number), so no two writers share one file."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import orjson

from assay.workspace import Workspace

ROTATE_BYTES = 8 * 1024 * 1024


class DecisionLog:
    def __init__(
        self, ws: Workspace, system: str, *, rotate_bytes: int = ROTATE_BYTES, worker: int | None = None
    ) -> None:
        self.ws = ws
        self.worker = worker
        self.system = system
        self.folder = ws.home / "gateway" / system
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self._file: Any = None
        self._path: Path | None = None
        self.lines = 0
        self.recorded: list[str] = []
        self._pending: list[bytes] = []
        self._size = 0  # bytes in the open file, written or pending

    def _open(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        suffix = "" if self.worker is None else f"-w{self.worker}"
        self._path = self.folder / f"decisions-{stamp}{suffix}.jsonl"
        self._file = open(self._path, "ab")  # noqa: SIM115 (kept open between requests)

    def write(self, entry: dict[str, Any]) -> None:
        """Queue one line; it reaches the file at the next `flush` (or rotation, or close)."""
        line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
        with self._lock:
            self._pending.append(line)
            self._size += len(line)
            self.lines += 1
            if self._size >= self.rotate_bytes:
                self._flush()
                self._seal()

    @property
    def dirty(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._file is None:
            self._open()
        self._file.write(b"".join(self._pending))
        self._file.flush()
        self._pending = []

    def _seal(self) -> None:
        """Close the current file and record it as evidence."""
        from assay.assurance.evidence import record_evidence

        if self._file is None or self._path is None:
            return
        self._file.close()
        path, self._file, self._path, self._size = self._path, None, None, 0
        content = path.read_bytes()
        if not content:
            os.unlink(path)
            return
        n = content.count(b"\n")
        ev = record_evidence(
            self.ws,
            content,
            kind="monitor.log",
            system=self.system,
            name=f"gateway/{path.name}",
            media_type="application/x-ndjson",
            summary=f"gateway decision log: {n} request(s)",
        )
        self.recorded.append(ev.id)

    def close(self) -> None:
        with self._lock:
            self._flush()
            self._seal()
