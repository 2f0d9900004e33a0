"""Progress that a person at a terminal and a CI log can both follow.

At a terminal: Rich progress bars. Anywhere else (a CI log, a pipe): plain lines, one per step and one
samples line at a steady interval (done / total, rate, ETA), because a live bar prints nothing there
until it ends."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

ENV_INTERVAL = "ASSAY_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 15.0


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_INTERVAL, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LineProgress:
    """Plain progress lines for logs."""

    def __init__(
        self, out: Console, interval: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.out = out
        self.interval = _interval() if interval is None else interval
        self.clock = clock
        self._started = clock()
        self._run_start: float | None = None
        self._last_line = 0.0
        self._last_total: int | None = None
        self._last_done = -1

    def _print(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def step(self, label: str, done: int, total: int) -> None:
        elapsed = _duration(self.clock() - self._started)
        if done >= total:
            self._print(f"[{elapsed}] {label}")
        else:
            self._print(f"[{elapsed}] step {done + 1}/{total}: {label}")
        self._run_start = None

    def samples(self, done: int, total: int, what: str = "samples") -> None:
        now = self.clock()
        if self._run_start is None or total != self._last_total or done < self._last_done:
            self._run_start, self._last_line = now, now
            self._last_total = total
        self._last_done = done
        finished = total > 0 and done >= total
        if not finished and now - self._last_line < self.interval:
            return
        self._last_line = now
        elapsed = now - self._run_start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = _duration((total - done) / rate) if rate > 0 and not finished else ("done" if finished else "?")
        pct = f"{100 * done / total:.0f}%" if total else "–"
        self._print(f"  {done}/{total} {what} ({pct}), {rate:.1f}/s, ETA {eta}")


@contextmanager
def run_progress(
    description: str, out: Console, *, quiet: bool = False, what: str = "samples"
) -> Iterator[Callable[[int, int], None]]:
    """Yield `update(done, total)`: a Rich bar at a terminal, lines elsewhere, nothing if quiet."""
    if quiet:
        yield lambda done, total: None
        return
    if not out.is_terminal:
        lines = LineProgress(out)
        lines.step(description, 0, 1)
        yield lambda done, total: lines.samples(done, total, what)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out,
    ) as bar:
        task = bar.add_task(description, total=None, rate="")
        start = time.perf_counter()

        def update(done: int, total: int) -> None:
            elapsed = time.perf_counter() - start
            rate = f"{done / elapsed:6.1f}/s" if elapsed > 0.5 else ""
            bar.update(task, completed=done, total=total, rate=rate)

        yield update
