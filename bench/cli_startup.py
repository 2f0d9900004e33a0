"""How long `assay --help` takes, against a bare Python start as the baseline.

Run: .venv/bin/python bench/cli_startup.py [--runs 15]
Heavy modules (SQLAlchemy, pydantic models, FastAPI) must load only when a command runs.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    # Byte-compile first, as an installed package (and `make install`) is: with PYTHONDONTWRITEBYTECODE
    # set, an editable install would otherwise compile every module from source on every start.
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "src" / "assay"), quiet=1)
    assay = shutil.which("assay", path=str(Path(sys.executable).parent)) or "assay"
    cases = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "assay --help": [assay, "--help"],
        "assay catalog --help": [assay, "catalog", "--help"],
    }
    base = None
    for name, cmd in cases.items():
        t = timed(cmd, args.runs)
        base = base or t
        print(f"{name:32s} {t * 1000:7.1f} ms   x{t / base:4.1f} of baseline")


if __name__ == "__main__":
    main()
