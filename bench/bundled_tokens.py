"""Tokens per second of the bundled SmolLM2 model: the engine called directly vs through the runner.

Run: .venv/bin/python bench/bundled_tokens.py [--prompts-b1 16] [--prompts-b16 32] [--new-tokens 64]

The prompts are the first TruthfulQA-MCQ prompts (Moonshot template applied), greedy decoding, the
same batches in the same order on both paths:

- direct: `BundledModel.generate(chunk, max_new_tokens=N)` over chunks of the batch size;
- runner: `Runner(suite, BundledTarget(model=engine, batch_size=B)).run()` with no cache, which adds
  the async hand-off to a worker thread, the JSONL log, scoring and the summary.

Tokens are the generated tokens each path reports (the same model, so the same counts); the ratio
runner/direct must be at least 0.85. The engine is loaded once (from Assay's model cache) and shared.

`--contended` measures instead what a competing CPU load does to generation (issue #9 §6). Each
condition runs in a fresh interpreter (OpenMP reads its wait policy once, when torch loads), loads
the engine, warms up, then times `--reps` batches (median); busy-loop processes started by this
script, and stopped by it, compete for the CPUs. The conditions:

- `old`: the previous engine: torch imported first (OpenMP's default spin-then-sleep), as many
  threads as CPUs in the affinity mask, inter-op threads left alone;
- `new`: the engine's default now (the free-CPU rule, passive OpenMP waits, one inter-op thread);
- `all-passive`: every CPU as `old`, but passive waits: whether the wait policy alone matters.

EOS is suppressed, so every batch generates batch × new-tokens tokens; a batch that passes
`--rep-limit` seconds is cut there and its rate is the tokens it made so far over that time (so the
old engine under load cannot hold the benchmark for minutes). The figure of merit is loaded tok/s
against an equal share of the idle figure (idle tok/s of `new` × free CPUs / CPUs, where free CPUs
are the CPUs less the busy loops); the target is ≥ 0.8.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_throughput import load_workload  # noqa: E402

TARGET_RATIO = 0.85
TARGET_SHARE = 0.8
CONTENDED_PROMPTS = [
    "Explain in two sentences why the sky looks blue.",
    "What should a customer do if their broadband connection keeps dropping?",
    "Write a short, polite reply declining a meeting invitation.",
    "List three tips for choosing a strong password.",
    "Summarise what a data protection officer does.",
    "Describe a rainy afternoon in Singapore in a few lines.",
    "How does a refrigerator keep food cold?",
    "Give two reasons to back up files regularly.",
]


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


class _Deadline(Exception):
    """Raised from inside generation when a batch has used its time."""


class _Clock:
    """A logits processor that suppresses EOS (fixed work per batch), counts steps and ends the batch
    at its deadline."""

    def __init__(self, eos_ids: list[int], limit_s: float) -> None:
        self.eos_ids, self.limit_s = eos_ids, limit_s
        self.steps, self.start = 0, time.perf_counter()

    def reset(self) -> None:
        self.steps, self.start = 0, time.perf_counter()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps += 1
        if time.perf_counter() - self.start > self.limit_s:
            raise _Deadline
        scores[:, self.eos_ids] = float("-inf")
        return scores


def _emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def worker(mode: str, batch: int, new_tokens: int, reps: int, rep_limit: float) -> None:
    """One condition in this fresh interpreter; prints a JSON line after the load and one per batch,
    so that the parent keeps what finished if it has to stop this process."""
    n_cpus = len(os.sched_getaffinity(0))
    if mode == "old":
        import torch  # before the engine: OpenMP keeps its default spin-then-sleep waits

        torch.set_num_interop_threads(torch.get_num_interop_threads())  # the old engine left it alone
        threads: int | None = n_cpus
    elif mode == "all-passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        threads = n_cpus
    else:
        threads = None
    from assay.evals.bundled import BundledModel

    engine = BundledModel.load(threads=threads)
    import torch

    choice = engine.threads
    _emit(
        event="loaded",
        threads=torch.get_num_threads(),
        source=choice.source if choice else None,
        reason=choice.reason if choice else None,
        wait_policy=os.environ.get("OMP_WAIT_POLICY") or "default",
    )
    prompts = (CONTENDED_PROMPTS * batch)[:batch]
    clock = _Clock(engine.eos_ids, rep_limit)
    with contextlib.suppress(_Deadline):  # warm-up: first-call allocations
        engine.generate(prompts, max_new_tokens=4, logits_processors=[clock])
    _emit(event="os_threads", count=len(os.listdir("/proc/self/task")))
    for _ in range(reps):
        clock.reset()
        cpu0 = time.process_time()
        try:
            engine.generate(prompts, max_new_tokens=new_tokens, logits_processors=[clock])
            steps, cut = new_tokens, False
        except _Deadline:
            steps, cut = clock.steps - 1, True
        wall, cpu = time.perf_counter() - clock.start, time.process_time() - cpu0
        tokens = max(steps, 0) * batch
        _emit(
            event="rep", rate=tokens / wall, cpu_ms_per_token=1000 * cpu / tokens if tokens else None, cut=cut
        )


BUSY_LOOP = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def run_condition(mode: str, competitors: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start the busy loops (bounded in time), give them a second, run the worker, stop them all.

    Each busy loop is a separate process in a session of its own, like another user's program: where
    the kernel groups the scheduler's fair shares by session (autogroup), a loop in this script's
    session would only split this session's share with the worker.
    """
    limit = 90 + (args.reps + 1) * (args.rep_limit + 5)
    code = BUSY_LOOP.format(seconds=limit + 5)
    loops = [
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True) for _ in range(competitors)
    ]
    timed_out = False
    try:
        if loops:
            time.sleep(1.0)
        cmd = [sys.executable, __file__, "--worker", mode, "--batch", str(args.batch)]
        cmd += ["--new-tokens", str(args.new_tokens), "--reps", str(args.reps)]
        cmd += ["--rep-limit", str(args.rep_limit)]
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "ASSAY_THREADS")}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            stdout, stderr = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            timed_out = True
    finally:
        for p in loops:
            p.terminate()
        for p in loops:
            p.wait()
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    loaded = next((e for e in events if e["event"] == "loaded"), None)
    if loaded is None:
        sys.exit(f"worker {mode} did not load the engine (timed out: {timed_out}):\n{stderr[-2000:]}")
    if proc.returncode not in (0, None) and not timed_out:
        sys.exit(f"worker {mode} failed:\n{stderr[-2000:]}")
    reps = [e for e in events if e["event"] == "rep"]
    os_threads = next((e["count"] for e in events if e["event"] == "os_threads"), None)
    cpu = [e["cpu_ms_per_token"] for e in reps if e["cpu_ms_per_token"] is not None]
    return {
        "mode": mode,
        "competitors": competitors,
        **{k: loaded[k] for k in ("threads", "source", "reason", "wait_policy")},
        "rates": [e["rate"] for e in reps],
        "median": statistics.median([e["rate"] for e in reps]) if reps else 0.0,
        "cpu_ms": statistics.median(cpu) if cpu else float("nan"),
        "cut": sum(e["cut"] for e in reps),
        "timed_out": timed_out,
        "os_threads": os_threads,
    }


def contended(args: argparse.Namespace) -> None:
    n_cpus = len(os.sched_getaffinity(0))
    competitors = args.competitors if args.competitors is not None else max(1, n_cpus // 2)
    if not 1 <= competitors < n_cpus:
        sys.exit(f"--competitors must be between 1 and {n_cpus - 1} on this machine ({n_cpus} CPUs)")
    free = n_cpus - competitors
    try:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        autogroup = False
    print(
        f"{platform.node()} · {n_cpus} CPUs in the affinity mask · load average "
        f"{os.getloadavg()[0]:.2f} at start · scheduler autogroup {'on' if autogroup else 'off'} · "
        f"batch {args.batch} × {args.new_tokens} new tokens, {args.reps} reps per condition (median), "
        f"{competitors} busy loop(s) when loaded"
    )
    floor = args.batch / args.rep_limit  # a batch cut before its first token

    def rate(x: float) -> str:
        return f"{x:.1f}" if x > 0 else f"< {floor:.1f}"

    t0 = time.perf_counter()
    plan = [("new", 0), ("old", 0), ("old", competitors), ("all-passive", competitors), ("new", competitors)]
    results = []
    for mode, comp in plan:
        r = run_condition(mode, comp, args)
        results.append(r)
        rates = ", ".join(rate(x) for x in r["rates"]) or "none"
        cpu = r["cpu_ms"]
        cut = f", {r['cut']} cut at {args.rep_limit:g} s" if r["cut"] else ""
        cut += f", stopped after {len(r['rates'])} of {args.reps} batches" if r["timed_out"] else ""
        print(
            f"{mode:11s} {'loaded' if comp else 'idle':6s}: {r['threads']} threads ({r['source']}), "
            f"waits {r['wait_policy']}: {rates} tok/s -> median {rate(r['median'])}; "
            f"CPU {cpu:.1f} ms/token; {r['os_threads']} OS threads{cut}"
        )
    idle_new = results[0]["median"]
    share = idle_new * free / n_cpus
    elapsed = time.perf_counter() - t0
    print(
        f"\nwhole benchmark {elapsed:.0f} s, load average {os.getloadavg()[0]:.2f} at the end; "
        f"the rule under load: {results[-1]['reason']}"
    )
    print(f"equal share = idle tok/s of new ({idle_new:.1f}) × {free}/{n_cpus} = {share:.1f} tok/s\n")
    print(
        f"| engine | condition | threads | waits | tok/s (median of {args.reps}) | CPU ms/token "
        f"| vs equal share (≥ {TARGET_SHARE}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        cond = f"{r['competitors']} busy loop(s)" if r["competitors"] else "no busy loop"
        ratio = r["median"] / share
        verdict = ("met" if ratio >= TARGET_SHARE else "missed") if r["competitors"] else "—"
        cpu = r["cpu_ms"]
        print(
            f"| {r['mode']} | {cond} | {r['threads']} | {r['wait_policy']} | {rate(r['median'])} | "
            f"{cpu:.1f} | {ratio:.2f} ({verdict}) |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts-b1", type=int, default=8, help="prompts at batch 1")
    ap.add_argument("--prompts-b16", type=int, default=32, help="prompts at batch 16")
    ap.add_argument("--new-tokens", type=int, default=None, help="default 64 (--contended: 24)")
    ap.add_argument("--contended", action="store_true", help="tok/s under a competing CPU load")
    ap.add_argument("--batch", type=int, default=4, help="--contended: prompts per batch")
    ap.add_argument("--reps", type=int, default=3, help="--contended: timed batches per condition")
    ap.add_argument("--rep-limit", type=float, default=10.0, help="--contended: seconds per batch at most")
    ap.add_argument("--competitors", type=int, default=None, help="--contended: busy loops (CPUs / 2)")
    ap.add_argument("--worker", choices=["old", "new", "all-passive"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.batch, args.new_tokens or 24, args.reps, args.rep_limit)
        return
    if args.contended:
        args.new_tokens = args.new_tokens or 24
        contended(args)
        return
    args.new_tokens = args.new_tokens or 64

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
