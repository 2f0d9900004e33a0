"""The decision log: one JSON line per request (hash of the request, rules fired, action, latency),
appended to a file that is rotated by size; each closed file is recorded as signed evidence
(kind `monitor.log`), so the log of what the gateway let through cannot be edited unseen."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

from assay.workspace import Workspace

ROTATE_BYTES = 8 * 1024 * 1024


class DecisionLog:
    def __init__(self, ws: Workspace, system: str, *, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.ws = ws
        self.system = system
        self.folder = ws.home / "gateway" / system
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self._file: Any = None
        self._path: Path | None = None
        self.lines = 0
        self.recorded: list[str] = []

    def _open(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        self._path = self.folder / f"decisions-{stamp}.jsonl"
        self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 (kept open between requests)

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            if self._file is None:
                self._open()
            self._file.write(line)
            self._file.flush()
            self.lines += 1
            if self._file.tell() >= self.rotate_bytes:
                self._seal()

    def _seal(self) -> None:
        """Close the current file and record it as evidence."""
        from assay.assurance.evidence import record_evidence

        if self._file is None or self._path is None:
            return
        self._file.close()
        path, self._file, self._path = self._path, None, None
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
            self._seal()
