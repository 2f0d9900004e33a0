"""Model-artifact scanning (issue #13): time and peak memory of `assay.security.artifacts.scan_file`
against picklescan and modelscan on the same files, with SHA-256 of the file as the baseline (the
least any scan must do: read it once).

Run: .venv/bin/python bench/model_scan.py [--runs 3]
modelscan, if wanted, lives in bench/.venvs/modelscan (it pins rich<15; see docs/security.md).

Each measurement runs in a fresh child process; the child reports the CPU time of the scan call (CPU,
not wall: the development machine is shared, and wall times swing with its load) and how much its
peak resident memory grew during it. modelscan is timed as a whole process, less its CPU time on an
empty pickle (its start-up).
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELSCAN = REPO / "bench/.venvs/modelscan/bin/modelscan"

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
path = Path({path!r})
{setup}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
{call}
cpu = time.process_time() - start
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({{"cpu": cpu, "mem_mb": grown}}))
"""

TOOLS = {
    "sha256 (baseline)": ("from assay.store.blobs import sha256_file", "sha256_file(path)"),
    "assay": (
        "from assay.security.artifacts import scan_file, load_rules; load_rules()",
        "r = scan_file(path); assert r.verdict == 'clean', (r.error, r.findings[:1])",
    ),
    "picklescan": ("from picklescan.scanner import scan_file_path", "scan_file_path(str(path))"),
}


def _child(tool: str, path: Path) -> dict[str, float]:
    setup, call = TOOLS[tool]
    code = CHILD.format(src=str(REPO / "src"), path=str(path), setup=setup, call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"{tool} on {path.name} failed: {out.stderr[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _modelscan(path: Path) -> float:
    """CPU seconds of the whole modelscan process (user + system), read from the children's rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([str(MODELSCAN), "-p", str(path), "-r", "json", "-o", "/dev/null"], capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build(folder: Path) -> dict[str, Path]:
    import numpy as np
    import torch

    files = {}
    sd = {f"layer{i}.weight": torch.zeros(64, 64) for i in range(3000)}
    files["torch zip, 3000 tensors (49 MB)"] = folder / "many.pt"
    torch.save(sd, files["torch zip, 3000 tensors (49 MB)"])
    rows = [{"id": i, "text": f"row {i}", "score": i / 7, "tags": ["a", "b"]} for i in range(300_000)]
    files["raw pickle, 300k small dicts"] = folder / "rows.pkl"
    files["raw pickle, 300k small dicts"].write_bytes(pickle.dumps(rows, protocol=4))
    files["raw pickle, one 256 MB array"] = folder / "big.pkl"
    files["raw pickle, one 256 MB array"].write_bytes(
        pickle.dumps({"w": np.zeros(32 << 20, dtype=np.float64)}, protocol=5)
    )
    from assay.evals.bundled.engine import find_gguf

    files["bundled GGUF (98 MB), header"] = find_gguf()
    files["empty"] = folder / "empty.pkl"
    files["empty"].write_bytes(pickle.dumps(None))
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp))
        startup = (
            statistics.median(_modelscan(files["empty"]) for _ in range(args.runs))
            if MODELSCAN.exists()
            else None
        )
        print("| file | tool | median CPU time | × sha256 | peak RSS growth |")
        print("|---|---|---|---|---|")
        for label, path in files.items():
            if label == "empty":
                continue
            base = None
            for tool in TOOLS:
                if tool == "picklescan" and label.startswith("bundled GGUF"):
                    continue
                runs = [_child(tool, path) for _ in range(args.runs)]
                wall = statistics.median(r["cpu"] for r in runs)
                mem = max(r["mem_mb"] for r in runs)
                base = base or wall
                print(f"| {label} | {tool} | {wall * 1000:.0f} ms | {wall / base:.2f} | {mem:.0f} MB |")
            if startup is not None and not label.startswith("bundled GGUF"):
                wall = statistics.median(_modelscan(path) for _ in range(args.runs)) - startup
                print(
                    f"| {label} | modelscan (less start-up) | {wall * 1000:.0f} ms | {wall / base:.2f} | - |"
                )


if __name__ == "__main__":
    main()
