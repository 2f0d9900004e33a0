"""What a bundle costs: writing it and checking it, against plain SHA-256 hashing of the same bytes; and
a whole replay against the original evaluation runs it repeats.

    .venv/bin/python bench/replay_bundle.py [--runs 4] [--samples 250] [--rounds 3]

The runs go to the local OpenAI-compatible mock (no latency), so the replay's own overhead shows rather
than a model's speed. Ratios: bundle ÷ hashing the workspace files it packs, integrity check ÷ hashing
the archive's members, replay ÷ the original runs (median round).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import yaml


def _manifest(folder: Path, url: str, samples: int) -> Path:
    suite = {
        "id": "bench",
        "scorers": ["contains"],
        "samples": [
            {"id": f"s{i}", "input": f"Say word{i} now.", "target": f"word{i}"} for i in range(samples)
        ],
    }
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text(yaml.safe_dump(suite))
    manifest = {
        "assay": 1,
        "system": {
            "id": "bench",
            "name": "Bench",
            "version": "1",
            "intended_use": "Benchmarking bundles.",
            "sector": "research",
            "model_type": "closed",
        },
        "parties": [{"id": "p", "name": "P", "roles": ["model_developer"]}],
        "targets": [{"id": "mock", "kind": "openai", "base_url": url, "model": "mock-1"}],
    }
    path = folder / "assay.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


def _hash_members(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        for name in zf.namelist():
            hashlib.sha256(zf.read(name)).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--samples", type=int, default=250)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from assay.evals.mockserver import run_mock_server
    from assay.evals.runner import RunOptions
    from assay.evals.service import evaluate
    from assay.manifest import load_manifest
    from assay.replay.reader import open_bundle
    from assay.replay.replayer import replay
    from assay.replay.writer import write_bundle
    from assay.workspace import Workspace

    size = 0
    rows: dict[str, list[float]] = {
        k: [] for k in ("runs", "hash_ws", "bundle", "hash_zip", "check", "replay")
    }
    with run_mock_server() as server, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            root = Path(tmp) / f"round{r}"
            path = _manifest(root / "system", server.base_url, args.samples)
            manifest = load_manifest(path)
            ws = Workspace(root / "system" / ".assay")
            t = time.perf_counter()
            for seed in range(args.runs):
                options = RunOptions(sample=args.samples - 1, seed=seed, use_cache=False)
                asyncio.run(
                    evaluate(
                        ws, "suite.yaml", "mock", manifest=manifest, base_dir=path.parent, options=options
                    )
                )
            rows["runs"].append(time.perf_counter() - t)
            files = [p for p in ws.home.rglob("*") if p.is_file() and p.suffix != ".tmp"]
            t = time.perf_counter()
            for p in files:
                hashlib.sha256(p.read_bytes()).hexdigest()
            rows["hash_ws"].append(time.perf_counter() - t)
            bundle = root / "bench.zip"
            t = time.perf_counter()
            write_bundle(path, bundle, ws=ws, environ={})
            rows["bundle"].append(time.perf_counter() - t)
            ws.close()
            t = time.perf_counter()
            _hash_members(bundle)
            rows["hash_zip"].append(time.perf_counter() - t)
            t = time.perf_counter()
            opened = open_bundle(bundle)
            rows["check"].append(time.perf_counter() - t)
            t = time.perf_counter()
            report = replay(opened, root / "replay")
            rows["replay"].append(time.perf_counter() - t)
            opened.close()
            assert report.reproduced, report
            size = bundle.stat().st_size
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(
        f"{args.runs} runs × {args.samples - 1} samples; bundle {size / 1e6:.2f} MB; median of {args.rounds}"
    )
    print(f"{'step':<34}{'median':>10}{'ratio':>10}")
    print(f"{'hash the workspace files (base)':<34}{med['hash_ws']:>9.3f}s{1.0:>10.2f}")
    print(f"{'assay bundle':<34}{med['bundle']:>9.3f}s{med['bundle'] / med['hash_ws']:>10.2f}")
    print(f"{'hash the archive members (base)':<34}{med['hash_zip']:>9.3f}s{1.0:>10.2f}")
    print(
        f"{'integrity check (open_bundle)':<34}{med['check']:>9.3f}s{med['check'] / med['hash_zip']:>10.2f}"
    )
    print(f"{'original runs (base)':<34}{med['runs']:>9.3f}s{1.0:>10.2f}")
    print(f"{'replay (re-run + compare)':<34}{med['replay']:>9.3f}s{med['replay'] / med['runs']:>10.2f}")


if __name__ == "__main__":
    main()
