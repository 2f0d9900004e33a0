"""The response cache: completions keyed by target, parameters and messages, in one SQLite file.

It is a plain key-value file (not the main database) so that the evaluation engine runs without the
store, and so that a re-run of a cached suite costs one bulk read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)
"""


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._pending: list[tuple[str, str]] = []

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Every cached value among `keys`, in one pass (chunks of 500 to respect SQLite's limits)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, value in self._conn.execute(
                    f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = json.loads(value)
        return found

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Queue a value; `flush` writes the queue in one transaction."""
        self._pending.append((key, json.dumps(value, separators=(",", ":"))))
        if len(self._pending) >= 64:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            rows, self._pending = self._pending, []
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", rows)
            self._conn.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._conn.close()
