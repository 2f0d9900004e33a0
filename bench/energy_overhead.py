"""What tracking a run's energy with codecarbon costs: a small evaluation run with and without it.

Run: .venv/bin/python bench/energy_overhead.py [--samples 483] [--repeats 7]

"Without" is the same run with codecarbon unimportable, so the tracker falls back to its estimate
(two `getrusage` calls and some arithmetic): the difference is codecarbon's own cost. Three measures:

1. `Runner.run()` in one process (codecarbon already warm, as in a server after its first run) on the
   TruthfulQA-MCQ recipe against the mock on 127.0.0.1 with no latency, the worst case for the ratio
   because the run itself is short; with and without alternate, median of `--repeats`.
2. A whole `assay eval run` process answered from the response cache (the shortest real run), wall and
   CPU (user + system of the process and its children), median of `--repeats`.
3. codecarbon's first start in a fresh process (its CPU-model probe), which a run does not wait for.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_throughput import MODEL, RECIPE, ROOT, load_workload, mock_server  # noqa: E402

BLOCK = "import sys; sys.modules['codecarbon'] = None; "
CLI = "from assay.cli.main import main; sys.argv[0] = 'assay'; main()"


def one_run(suite: Any, base_url: str, runs_dir: Path, with_codecarbon: bool) -> tuple[float, float, Any]:
    from assay.evals.runner import Runner, RunOptions
    from assay.evals.targets import build_target
    from assay.manifest.schema import Target as TargetSpec

    saved = sys.modules.get("codecarbon")
    if not with_codecarbon:
        sys.modules["codecarbon"] = None  # type: ignore[assignment]
    try:
        target = build_target(
            TargetSpec(id="mock", kind="openai", base_url=base_url, model=MODEL, max_concurrency=50)
        )
        runner = Runner(suite, target, runs_dir, options=RunOptions(use_cache=False))

        async def go() -> Any:
            try:
                return await runner.run()
            finally:
                await target.aclose()

        t0, c0 = time.perf_counter(), time.process_time()
        summary = asyncio.run(go())
        return time.perf_counter() - t0, time.process_time() - c0, summary
    finally:
        if saved is not None:
            sys.modules["codecarbon"] = saved


def cli_cached(base_url: str, tmpdir: Path, repeats: int) -> dict[bool, list[tuple[float, float]]]:
    import yaml

    manifest = yaml.safe_load((ROOT / "examples" / "helpdesk" / "assay.yaml").read_text())
    manifest["targets"] = [
        {"id": "mock", "kind": "openai", "base_url": base_url, "model": MODEL, "max_concurrency": 50}
    ]
    manifest["suites"] = []
    path = tmpdir / "cli" / "assay.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    args = ["eval", "run", str(RECIPE), "-t", "mock", "-m", str(path), "--home", str(path.parent / ".assay")]
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for i in range(2 * repeats + 1):
        with_cc = i % 2 == 1
        code = ("import sys; " if with_cc else BLOCK) + CLI
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=path.parent
        )
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout)[-1500:]
            sys.exit(f"assay eval run failed (exit {proc.returncode}):\n{tail}")
        if i == 0:
            continue  # fills the cache
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        times[with_cc].append((wall, cpu))
    return times


def cold_start() -> tuple[float, float]:
    code = (
        "import time, resource; t0 = time.perf_counter()\n"
        "from assay.energy.tracker import warm_up\n"
        "assert warm_up()\n"
        "r = resource.getrusage(resource.RUSAGE_SELF); c = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(time.perf_counter() - t0, r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=483, help="samples of the recipe to run (max 483)")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    compileall.compile_dir(str(ROOT / "src" / "assay"), quiet=1)
    from assay.energy.tracker import warm_up

    if not warm_up():
        sys.exit("codecarbon is not usable here (install the `energy` extra)")
    work = load_workload()
    suite = work.suite.model_copy(update={"samples": work.suite.samples[: args.samples]})
    n = len(suite.samples)
    with tempfile.TemporaryDirectory(prefix="bench-energy-") as tmp:
        tmpdir = Path(tmp)
        answers = tmpdir / "answers.json"
        answers.write_text(json.dumps(dict(zip(work.prompts, work.targets, strict=True))))
        with mock_server((0.0, 0.0), answers) as base_url:
            one_run(suite, base_url, tmpdir / "runs", True)  # warm-up: imports, connections
            runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
            for i in range(2 * args.repeats):
                with_cc = i % 2 == 1
                wall, cpu, summary = one_run(suite, base_url, tmpdir / "runs", with_cc)
                assert summary.records == n and summary.score == 1.0, summary
                assert summary.footprint.method.startswith("codecarbon") == with_cc, summary.footprint.method
                runs[with_cc].append((wall, cpu))
            cli = cli_cached(base_url, tmpdir, args.repeats)
    cold_wall, cold_cpu = cold_start()

    print(f"1. Runner.run(), {n} samples, zero-latency mock, median of {args.repeats} each")
    for label, key in (("wall s", 0), ("CPU s", 1)):
        a, b = med([r[key] for r in runs[False]]), med([r[key] for r in runs[True]])
        print(f"   {label:7} without {a:.3f}  with codecarbon {b:.3f}  ratio {b / a:.3f}  (+{b - a:.3f})")
    print(f"2. `assay eval run`, cached re-run of {n} samples, whole process, median of {args.repeats} each")
    for label, key in (("wall s", 0), ("CPU s", 1)):
        a, b = med([r[key] for r in cli[False]]), med([r[key] for r in cli[True]])
        print(f"   {label:7} without {a:.3f}  with codecarbon {b:.3f}  ratio {b / a:.3f}  (+{b - a:.3f})")
    print(f"3. codecarbon's first start in a fresh process: {cold_wall:.2f} s wall, {cold_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
