"""Tokens per second of the bundled SmolLM2 model: the engine called directly vs through the runner.

Run: .venv/bin/python bench/bundled_tokens.py [--prompts-b1 16] [--prompts-b16 32] [--new-tokens 64]

The prompts are the first TruthfulQA-MCQ prompts (Moonshot template applied), greedy decoding, the
same batches in the same order on both paths:

- direct: `BundledModel.generate(chunk, max_new_tokens=N)` over chunks of the batch size;
- runner: `Runner(suite, BundledTarget(model=engine, batch_size=B)).run()` with no cache, which adds
  the async hand-off to a worker thread, the JSONL log, scoring and the summary.

Tokens are the generated tokens each path reports (the same model, so the same counts); the ratio
runner/direct must be at least 0.85. The engine is loaded once (from Assay's model cache) and shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_throughput import load_workload  # noqa: E402

TARGET_RATIO = 0.85


Chat = list[dict[str, str]]


def direct(engine: Any, prompts: list[Chat], batch: int, new_tokens: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    tokens = 0
    for i in range(0, len(prompts), batch):
        gens = engine.generate(prompts[i : i + batch], max_new_tokens=new_tokens)
        tokens += sum(g.output_tokens for g in gens)
    return tokens, time.perf_counter() - t0


def via_runner(
    engine: Any, suite: Any, n: int, batch: int, new_tokens: int, runs_dir: Path
) -> tuple[int, float]:
    from assay.evals.runner import Runner, RunOptions
    from assay.evals.targets.base import GenerationParams
    from assay.evals.targets.bundled import BundledTarget

    target = BundledTarget("bundled", model=engine, batch_size=batch)
    options = RunOptions(limit=n, use_cache=False, params=GenerationParams(max_tokens=new_tokens))
    runner = Runner(suite, target, runs_dir, options=options)
    t0 = time.perf_counter()
    summary = asyncio.run(runner.run())
    wall = time.perf_counter() - t0
    if summary.target_errors:
        sys.exit(f"the runner recorded {summary.target_errors} target errors")
    return summary.output_tokens, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts-b1", type=int, default=8, help="prompts at batch 1")
    ap.add_argument("--prompts-b16", type=int, default=32, help="prompts at batch 16")
    ap.add_argument("--new-tokens", type=int, default=64)
    args = ap.parse_args()

    from assay.evals.bundled import BundledModel
    from assay.evals.suites import render_messages
    from assay.evals.targets.common import message_dicts

    work = load_workload()
    t0 = time.perf_counter()
    engine = BundledModel.load()
    print(
        f"{platform.node()} · {os.cpu_count()} CPUs · engine loaded from {engine.source} "
        f"in {time.perf_counter() - t0:.1f} s ({engine.load_s:.1f} s inside load)"
    )
    suite = work.suite
    prompts = [message_dicts(render_messages(suite, s)) for s in suite.samples]
    engine.generate(prompts[:16], max_new_tokens=8)  # warm-up: first-call allocations, kernels
    engine.generate(prompts[:1], max_new_tokens=args.new_tokens)

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-bundled-") as tmp:
        for batch, n in ((1, args.prompts_b1), (16, args.prompts_b16)):
            d_tok = d_wall = r_tok = r_wall = 0.0
            for i, path in enumerate(("direct", "runner", "runner", "direct")):
                if path == "direct":
                    tok, wall = direct(engine, prompts[:n], batch, args.new_tokens)
                    d_tok, d_wall = d_tok + tok, d_wall + wall
                else:
                    runs = Path(tmp) / f"b{batch}-{i}"
                    tok, wall = via_runner(engine, suite, n, batch, args.new_tokens, runs)
                    r_tok, r_wall = r_tok + tok, r_wall + wall
            d_rate, r_rate = d_tok / d_wall, r_tok / r_wall
            rows.append((batch, n, int(d_tok), d_rate, int(r_tok), r_rate, r_rate / d_rate))
            print(
                f"batch {batch:2d}, {n} prompts x2: "
                f"direct {d_tok:.0f} tokens in {d_wall:5.1f} s = {d_rate:6.1f} tok/s; "
                f"runner {r_tok:.0f} tokens in {r_wall:5.1f} s = {r_rate:6.1f} tok/s; "
                f"ratio {r_rate / d_rate:.2f}"
            )
    print("\n| batch | prompts | direct tok/s | runner tok/s | runner/direct (≥ 0.85) |")
    print("|---|---|---|---|---|")
    for batch, n, _, d_rate, _, r_rate, ratio in rows:
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        print(f"| {batch} | {n} | {d_rate:.1f} | {r_rate:.1f} | {ratio:.2f} ({verdict}) |")


if __name__ == "__main__":
    main()
