"""Plain progress lines for CI logs: one per step, a samples line at a steady interval."""

from __future__ import annotations

import io

from rich.console import Console

from assay.cli.progress import LineProgress


def test_lines_at_a_steady_interval_with_rate_and_eta() -> None:
    now = [0.0]
    buf = io.StringIO()
    lines = LineProgress(Console(file=buf, width=200), interval=10, clock=lambda: now[0])
    lines.step("Run evaluation suites", 3, 8)
    for done in range(0, 101):
        now[0] = done * 0.5  # 2 samples a second
        lines.samples(done, 100)
    out = buf.getvalue().splitlines()
    assert out[0] == "[0:00] step 4/8: Run evaluation suites"
    samples = [line for line in out if "samples" in line]
    # one line every 10 s of a 50 s run (at 10, 20, 30, 40 s) and one when it finishes
    assert len(samples) == 5, out
    assert samples[0].strip() == "20/100 samples (20%), 2.0/s, ETA 0:40"
    assert samples[-1].strip() == "100/100 samples (100%), 2.0/s, ETA done"


def test_a_new_run_restarts_the_rate() -> None:
    now = [0.0]
    buf = io.StringIO()
    lines = LineProgress(Console(file=buf, width=200), interval=0, clock=lambda: now[0])
    for done in range(11):
        now[0] = float(done)
        lines.samples(done, 10)
    now[0] = 100.0
    lines.samples(0, 4)  # the next suite: a new total, the clock starts again
    now[0] = 102.0
    lines.samples(4, 4)
    assert buf.getvalue().splitlines()[-1].strip() == "4/4 samples (100%), 2.0/s, ETA done"
