"""Evaluation throughput against a local mock OpenAI-compatible server, side by side with peers.

Run: .venv/bin/python bench/eval_throughput.py [--install-peers] [--quick] [--repeats 3]

The mock (`python -m assay.evals.mockserver`) runs in its own process on 127.0.0.1 and answers each
of the 483 TruthfulQA-MCQ prompts (Moonshot recipe `truthfulqa-mcq`, its template applied) with the
expected answer, so every client must score 100% with exact match: a check that all of them did the
same work. Per condition (latency, concurrency) the clients are:

- bare: an httpx.AsyncClient, a semaphore and `asyncio.gather` posting the same request bodies
  Assay sends, with the exact-match check inline (the baseline);
- openai: the same loop over a bare `AsyncOpenAI` client (openai 1.109.1, Moonshot's pin), run as a
  subprocess in bench/.venvs/moonshot;
- assay: `Runner(suite, build_target(kind=openai)).run()` with no response cache;
- inspect: Inspect AI in bench/.venvs/inspect (its `openai-api` provider, `exact()` scorer,
  `max_connections` = concurrency), run as a subprocess;
- moonshot: Project Moonshot (aiverify-moonshot 0.7.6 in bench/.venvs/moonshot) with its own
  OpenAI connector, exact-match metric, benchmarking runner and result modules, JSON io and SQLite
  modules, recipe, dataset and template, from ../shared/peers/moonshot-data/ (copied to a writable
  temp folder with a `.env` pointing Moonshot at it), run as a subprocess: `run_recipes` on a fresh
  runner, after a 1% warm-up run; see `moonshot_status`.

samples/s is samples over the wall time of the evaluation call (imports and interpreter start are
left out for every client; each client gets an untimed warm-up first). CPU ms per sample is the
process CPU time (all threads) of the client process over the same span; the mock's CPU is not in it.
For the subprocess clients the whole child's CPU (its rusage, imports and warm-up included) is printed
too, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "datasets" / "moonshot-data"
RECIPE = DATA / "recipes" / "truthfulqa-mcq.json"
VENVS = BENCH / ".venvs"
INSPECT_VENV = VENVS / "inspect"
MOONSHOT_VENV = VENVS / "moonshot"
PEERS = ROOT.parent / "shared" / "peers" / "moonshot-data"
# What --install-peers puts in each venv. Plain aiverify-moonshot (not its [all] extra, which pulls an
# unpinned torch and CUDA): the connector, exact-match metric and benchmarking modules need no more.
INSPECT_PACKAGES = ["inspect-ai==0.3.285", "openai"]
MOONSHOT_PACKAGES = ["aiverify-moonshot==0.7.6", "openai==1.109.1"]
MOONSHOT_FILES = [
    "connectors/openai-connector.py",
    "metrics/exactstrmatch.py",
    "metrics/metrics_config.json",
    "runners-modules/benchmarking.py",
    "results-modules/benchmarking-result.py",
    "io-modules/jsonio.py",
    "databases-modules/sqlite.py",
    "recipes/truthfulqa-mcq.json",
    "datasets/truthfulqa-mcq.json",
    "prompt-templates/mcq-template.json",
]
MODEL = "mock-1"
MAX_TOKENS = 256

TARGET_BARE = 0.90  # Assay / bare, at least
TARGET_INSPECT = 2.5  # Assay / Inspect, at least
TARGET_MOONSHOT = 1.5  # Assay / Moonshot, at least
TARGET_OPENAI = 1.2  # Assay / a bare AsyncOpenAI client, at least
TARGET_CPU_MS = 1.0  # Assay CPU ms per sample on the zero-latency mock, at most


@dataclass
class Workload:
    """The rendered prompts and expected answers, shared by every client."""

    suite: Any
    prompts: list[str]
    targets: list[str]

    @property
    def n(self) -> int:
        return len(self.prompts)


@dataclass
class Result:
    client: str
    samples: int
    wall_s: float
    cpu_s: float
    correct: int
    note: str = ""
    child_cpu_s: float | None = None  # a subprocess client's whole CPU (rusage), imports included

    @property
    def per_s(self) -> float:
        return self.samples / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / max(1, self.samples)


@dataclass
class Condition:
    latency: tuple[float, float]
    concurrency: int
    results: dict[str, list[Result]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        lo, hi = self.latency
        lat = "0 ms" if hi == 0 else f"{lo * 1000:.0f}-{hi * 1000:.0f} ms"
        return f"latency {lat}, concurrency {self.concurrency}"

    @property
    def ceiling(self) -> float | None:
        """The most samples/s any client can reach: requests in flight over the mean latency."""
        lo, hi = self.latency
        return None if hi == 0 else self.concurrency / ((lo + hi) / 2)

    def best(self, client: str) -> Result | None:
        """The median run (by samples/s) of a client; None where it did not run."""
        runs = self.results.get(client)
        if not runs:
            return None
        ordered = sorted(runs, key=lambda r: r.per_s)
        return ordered[(len(ordered) - 1) // 2]


# -- the workload and the mock -------------------------------------------------------------------------


def load_workload() -> Workload:
    from assay.evals.suites import load_suite, render_messages

    if not RECIPE.is_file():
        sys.exit(f"dataset missing: {RECIPE} (see ../shared/datasets/README.md)")
    suite, _ = load_suite(RECIPE)
    prompts, targets = [], []
    for sample in suite.samples:
        messages = render_messages(suite, sample)
        assert len(messages) == 1 and messages[0].role == "user"
        prompts.append(messages[0].content)
        targets.append(sample.targets[0])
    return Workload(suite, prompts, targets)


@contextlib.contextmanager
def mock_server(latency: tuple[float, float], answers: Path) -> Iterator[str]:
    """The mock in a separate process; yields its base URL (ending in /v1)."""
    lat = ["0"] if latency[1] == 0 else [str(latency[0]), str(latency[1])]
    cmd = [sys.executable, "-m", "assay.evals.mockserver", "--port", "0", "--answers", str(answers)]
    proc = subprocess.Popen([*cmd, "--latency", *lat], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the mock server did not start (printed {base_url!r})")
        for _ in range(200):
            try:
                with urllib.request.urlopen(base_url.removesuffix("/v1") + "/_stats", timeout=1):
                    break
            except OSError:
                time.sleep(0.02)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- bare client (baseline) ----------------------------------------------------------------------------


async def _bare(base_url: str, work: Workload, concurrency: int, limit: int | None) -> tuple[int, int]:
    import httpx

    url = f"{base_url}/chat/completions"
    n = limit or work.n
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=60.0, trust_env=False) as client:

        async def one(i: int) -> bool:
            body = {
                "max_tokens": MAX_TOKENS,
                "temperature": 0.0,
                "model": MODEL,
                "messages": [{"role": "user", "content": work.prompts[i]}],
            }
            async with sem:
                resp = await client.post(url, content=json.dumps(body).encode(), headers=headers)
            resp.raise_for_status()
            text = json.loads(resp.content)["choices"][0]["message"]["content"]
            return text == work.targets[i]

        results = await asyncio.gather(*(one(i) for i in range(n)))
    return n, sum(results)


def run_bare(base_url: str, work: Workload, concurrency: int, limit: int | None = None) -> Result:
    t0, c0 = time.perf_counter(), time.process_time()
    n, correct = asyncio.run(_bare(base_url, work, concurrency, limit))
    return Result("bare", n, time.perf_counter() - t0, time.process_time() - c0, correct)


# -- Assay ---------------------------------------------------------------------------------------------


def run_assay(
    base_url: str, work: Workload, concurrency: int, runs_dir: Path, limit: int | None = None
) -> Result:
    from assay.evals.runner import Runner, RunOptions
    from assay.evals.targets import build_target
    from assay.manifest.schema import Target as TargetSpec

    spec = TargetSpec(id="mock", kind="openai", base_url=base_url, model=MODEL, max_concurrency=concurrency)
    target = build_target(spec)
    options = RunOptions(limit=limit, use_cache=False)
    runner = Runner(work.suite, target, runs_dir, options=options, cache=None)

    async def go() -> Any:
        try:
            return await runner.run()
        finally:
            await target.aclose()

    t0, c0 = time.perf_counter(), time.process_time()
    summary = asyncio.run(go())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    correct = round((summary.score or 0.0) * summary.records) if summary.score is not None else 0
    note = "" if summary.target_errors == 0 else f"{summary.target_errors} errors"
    return Result("assay", summary.records, wall, cpu, correct, note)


# -- Inspect AI ----------------------------------------------------------------------------------------

INSPECT_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    t_start = time.perf_counter()
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import GenerateConfig
    from inspect_ai.scorer import exact
    from inspect_ai.solver import generate

    data = json.load(open(sys.argv[1]))
    concurrency = int(sys.argv[2])
    log_dir = sys.argv[3]
    pairs = enumerate(zip(data["prompts"], data["targets"]))
    samples = [Sample(input=p, target=t, id=i) for i, (p, t) in pairs]

    def run(limit):
        task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=exact(),
                    config=GenerateConfig(max_tokens=%(max_tokens)d, temperature=0.0))
        logs = inspect_eval(task, model="openai-api/mock/%(model)s", max_connections=concurrency,
                            limit=limit, log_dir=log_dir, display="none", log_level="error",
                            log_realtime=False, score_display=False)
        return logs[0]

    run(5)  # warm-up: provider import, client creation
    t0, c0 = time.perf_counter(), time.process_time()
    log = run(None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    metrics = log.results.scores[0].metrics if log.results and log.results.scores else {}
    acc = metrics["mean"].value if "mean" in metrics else metrics["accuracy"].value if metrics else 0.0
    n = log.results.completed_samples if log.results else 0
    print("RESULT " + json.dumps({"samples": n, "wall": wall, "cpu": cpu, "accuracy": acc,
                                  "status": log.status, "process_wall": time.perf_counter() - t_start}))
    """
) % {"max_tokens": MAX_TOKENS, "model": MODEL}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def run_peer_script(
    name: str, venv: Path, script: str, args: list[str], env: dict[str, str], n: int
) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        path = Path(tmp) / "peer.py"
        path.write_text(script)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            [str(venv_python(venv)), str(path), *args],
            capture_output=True,
            text=True,
            env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
            cwd=tmp,
            timeout=600,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout)[-1500:]
        raise RuntimeError(f"{name} failed (exit {proc.returncode}):\n{tail}")
    data = json.loads(line.removeprefix("RESULT "))
    correct = round(data["accuracy"] * data["samples"])
    note = "" if data["samples"] == n else f"{data['samples']} of {n} done"
    if data.get("note"):
        note = f"{note}; {data['note']}" if note else data["note"]
    return Result(name, data["samples"], data["wall"], data["cpu"], correct, note, child_cpu)


def run_inspect(base_url: str, samples_file: Path, concurrency: int, n: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-inspect-logs-") as logs:
        env = {
            "MOCK_BASE_URL": base_url,
            "MOCK_API_KEY": "not-used",
            "INSPECT_LOG_LEVEL": "error",
            "INSPECT_DISPLAY": "none",
            "NO_COLOR": "1",
        }
        return run_peer_script(
            "inspect", INSPECT_VENV, INSPECT_SCRIPT, [str(samples_file), str(concurrency), logs], env, n
        )


# -- a bare AsyncOpenAI client ------------------------------------------------------------------------

OPENAI_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from openai import AsyncOpenAI

    data = json.load(open(sys.argv[1]))
    base_url, concurrency = sys.argv[2], int(sys.argv[3])
    prompts, targets = data["prompts"], data["targets"]

    async def run(n):
        client = AsyncOpenAI(api_key="not-used", base_url=base_url, max_retries=3)
        sem = asyncio.Semaphore(concurrency)

        async def one(i):
            async with sem:
                resp = await client.chat.completions.create(
                    model=%(model)r, max_tokens=%(max_tokens)d, temperature=0.0,
                    messages=[{"role": "user", "content": prompts[i]}])
            return resp.choices[0].message.content == targets[i]

        try:
            return sum(await asyncio.gather(*(one(i) for i in range(n))))
        finally:
            await client.close()

    asyncio.run(run(20))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    correct = asyncio.run(run(len(prompts)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("RESULT " + json.dumps({"samples": len(prompts), "wall": wall, "cpu": cpu,
                                  "accuracy": correct / len(prompts)}))
    """
) % {"max_tokens": MAX_TOKENS, "model": MODEL}


def run_openai(base_url: str, samples_file: Path, concurrency: int, n: int) -> Result:
    """The loop of `run_bare` over AsyncOpenAI (in Moonshot's venv, which pins openai 1.109.1)."""
    return run_peer_script(
        "openai", MOONSHOT_VENV, OPENAI_SCRIPT, [str(samples_file), base_url, str(concurrency)], {}, n
    )


# -- Project Moonshot ----------------------------------------------------------------------------------

# Moonshot's folder settings, as its README's `.env` sets them (paths relative to the data copy).
MOONSHOT_ENV = {
    "ATTACK_MODULES": "attack-modules",
    "BOOKMARKS": "generated-outputs/bookmarks",
    "CONNECTORS": "connectors",
    "CONNECTORS_ENDPOINTS": "connectors-endpoints",
    "CONTEXT_STRATEGY": "context-strategy",
    "COOKBOOKS": "cookbooks",
    "DATABASES": "generated-outputs/databases",
    "DATABASES_MODULES": "databases-modules",
    "DATASETS": "datasets",
    "IO_MODULES": "io-modules",
    "METRICS": "metrics",
    "PROMPT_TEMPLATES": "prompt-templates",
    "RECIPES": "recipes",
    "RESULTS": "generated-outputs/results",
    "RESULTS_MODULES": "results-modules",
    "RUNNERS": "generated-outputs/runners",
    "RUNNERS_MODULES": "runners-modules",
}

MOONSHOT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, re, sys, time
    data_dir, base_url, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.chdir(data_dir)
    from dotenv import dotenv_values
    from moonshot.api import (api_create_endpoint, api_create_runner, api_get_all_run,
                              api_set_environment_variables)

    # what `python -m moonshot -e .env` does with the .env, then its run_recipe command's steps
    api_set_environment_variables(dotenv_values(".env"))
    # the shipped openai-gpt4o endpoint, pointed at the mock, its rate limit lifted
    with open("connectors-endpoints/openai-gpt4o.json") as fh:
        shipped = json.load(fh)
    params = {**shipped["params"], "max_tokens": %(max_tokens)d}
    endpoint = api_create_endpoint("bench-mock", shipped["connector_type"], base_url, "not-used",
                                   1_000_000, concurrency, %(model)r, params)

    def run(name, percent):
        runner = api_create_runner(name, [endpoint])

        async def go():
            await runner.run_recipes(["truthfulqa-mcq"], percent, 0, "", "benchmarking",
                                     "benchmarking-result")
            await runner.close()

        loop = asyncio.new_event_loop()
        t0, c0 = time.perf_counter(), time.process_time()
        loop.run_until_complete(go())
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        loop.close()
        return runner, wall, cpu

    run(f"warm-up-{os.getpid()}", 1)  # imports, module loading, first connections
    runner, wall, cpu = run(f"bench-{os.getpid()}-{time.time_ns()}", 100)
    results = api_get_all_run(runner.id)[-1].get("results") or {}
    recipe = results["results"]["recipes"][0]
    details = recipe["details"][0]
    accuracy = details["metrics"][0]["exactstrmatch"]["accuracy"] / 100
    print("RESULT " + json.dumps({"samples": len(details["data"]), "wall": wall, "cpu": cpu,
                                  "accuracy": accuracy}))
    """
) % {"max_tokens": MAX_TOKENS, "model": MODEL}


def moonshot_status() -> str | None:
    """None where Moonshot can run here, else why it cannot."""
    if not venv_python(MOONSHOT_VENV).exists():
        return "Project Moonshot is skipped: bench/.venvs/moonshot is missing (run with --install-peers)."
    missing = [f for f in MOONSHOT_FILES if not (PEERS / f).is_file()]
    if missing:
        return f"Project Moonshot is skipped: {PEERS} lacks {', '.join(missing)}."
    proc = subprocess.run(
        [str(venv_python(MOONSHOT_VENV)), "-c", "import moonshot.api, openai, dotenv, ijson"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"Project Moonshot is skipped: its venv cannot import it ({last}); rerun --install-peers."
    return None


def run_moonshot(base_url: str, concurrency: int, n: int) -> Result:
    """Moonshot's run_recipe steps on a writable copy of the peers folder, with a `.env` for it."""
    with tempfile.TemporaryDirectory(prefix="bench-moonshot-data-") as tmp:
        data = Path(tmp) / "moonshot-data"
        shutil.copytree(PEERS, data)
        for path in [data, *data.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # shared/ is laid read-only
        for folder in MOONSHOT_ENV.values():
            (data / folder).mkdir(parents=True, exist_ok=True)
        env_lines = [f'{key}="{data / folder}"' for key, folder in MOONSHOT_ENV.items()]
        (data / ".env").write_text("\n".join(env_lines) + "\n")
        return run_peer_script(
            "moonshot", MOONSHOT_VENV, MOONSHOT_SCRIPT, [str(data), base_url, str(concurrency)], {}, n
        )


# -- installing peers ----------------------------------------------------------------------------------


def install_peers() -> None:
    """Inspect AI (and Moonshot) into their own venvs; refuse anything that would pull torch."""
    for venv, packages in ((INSPECT_VENV, INSPECT_PACKAGES), (MOONSHOT_VENV, MOONSHOT_PACKAGES)):
        if not venv_python(venv).exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv_python(venv)), "-m", "pip"]
        report = Path(tempfile.mkdtemp()) / "report.json"
        subprocess.run(
            [*pip, "install", "--quiet", "--dry-run", "--report", str(report), *packages],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        plan = json.loads(report.read_text())
        names = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in plan["install"]}
        heavy = sorted(n for n in names if n == "torch" or n.startswith("nvidia-"))
        if heavy:
            sys.exit(f"{venv.name}: installing {packages} would pull {heavy}; stopping")
        wanted = (p.split("==")[0].lower() for p in packages)
        shown = ", ".join(f"{p}=={names[p]}" for p in wanted if p in names)
        print(f"installing into {venv.relative_to(ROOT)}: {shown or 'already installed'} (no torch)")
        t0 = time.perf_counter()
        subprocess.run([*pip, "install", "--quiet", *packages], check=True, stderr=subprocess.DEVNULL)
        print(f"  done in {time.perf_counter() - t0:.0f} s")


def peer_version(venv: Path, module: str) -> str | None:
    if not venv_python(venv).exists():
        return None
    proc = subprocess.run(
        [str(venv_python(venv)), "-c", f"import importlib.metadata as m; print(m.version({module!r}))"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


# -- reporting -----------------------------------------------------------------------------------------


def ratio(a: Result | None, b: Result | None) -> float | None:
    if a is None or b is None or b.per_s == 0:
        return None
    return a.per_s / b.per_s


def verdict(
    value: float | None, target: float, base: Result | None = None, ceiling: float | None = None
) -> str:
    """'met' or 'MISSED'; 'not reachable' where target × the peer's rate is above what latency allows."""
    if value is None:
        return "n/a"
    if value >= target:
        return f"{value:.2f} (met)"
    if base is not None and ceiling is not None and target * base.per_s > ceiling:
        return f"{value:.2f} (not reachable: {target}x {base.per_s:.0f}/s > ceiling {ceiling:.0f}/s)"
    return f"{value:.2f} (MISSED)"


CLIENTS = ("bare", "openai", "assay", "inspect", "moonshot")


def print_condition(cond: Condition, n: int) -> None:
    print(f"\n{cond.label}")
    print(
        f"  {'client':10s} {'samples/s':>10s} {'CPU ms/sample':>14s} {'wall s':>8s} {'correct':>9s}"
        f" {'child CPU s':>12s}"
    )
    for client in CLIENTS:
        r = cond.best(client)
        if r is None:
            if client in cond.skipped:
                print(f"  {client:10s} skipped: {cond.skipped[client]}")
            continue
        runs = len(cond.results[client])
        extra = f"  (median of {runs})" if runs > 1 else ""
        note = f"  [{r.note}]" if r.note else ""
        child = f"{r.child_cpu_s:12.2f}" if r.child_cpu_s is not None else f"{'':12s}"
        print(
            f"  {client:10s} {r.per_s:10.1f} {r.cpu_ms:14.2f} {r.wall_s:8.2f} "
            f"{r.correct:>4d}/{n:<4d} {child}{extra}{note}"
        )
    assay = cond.best("assay")
    for name, client, target in (
        ("bare", "bare", TARGET_BARE),
        ("OpenAI", "openai", TARGET_OPENAI),
        ("Inspect", "inspect", TARGET_INSPECT),
        ("Moonshot", "moonshot", TARGET_MOONSHOT),
    ):
        peer = cond.best(client)
        shown = verdict(ratio(assay, peer), target, peer, cond.ceiling)
        print(f"  Assay/{name:8s} {shown}  target >= {target}")
    if cond.ceiling is None and assay is not None:
        met = "met" if assay.cpu_ms <= TARGET_CPU_MS else "MISSED"
        print(f"  Assay CPU    {assay.cpu_ms:.2f} ms/sample ({met})  target <= {TARGET_CPU_MS}")


def markdown(conds: list[Condition], n: int) -> str:
    rows = [
        "| latency | conc. | bare httpx /s | AsyncOpenAI /s | Assay /s | Inspect /s | Moonshot /s "
        "| CPU ms/sample: bare · AsyncOpenAI · Assay · Inspect · Moonshot "
        "| Assay/AsyncOpenAI (≥ 1.2) | Assay/Inspect (≥ 2.5) | Assay/Moonshot (≥ 1.5) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in conds:
        best = {k: c.best(k) for k in CLIENTS}
        lo, hi = c.latency
        lat = "0" if hi == 0 else f"{lo * 1000:.0f}–{hi * 1000:.0f} ms"

        def rate(r: Result | None) -> str:
            return "–" if r is None else f"{r.per_s:.1f}"

        def cpu(r: Result | None) -> str:
            return "–" if r is None else f"{r.cpu_ms:.2f}"

        assay = best["assay"]
        cpus = " · ".join(cpu(best[k]) for k in ("bare", "openai", "assay", "inspect", "moonshot"))
        rows.append(
            f"| {lat} | {c.concurrency} | {rate(best['bare'])} | {rate(best['openai'])} "
            f"| {rate(assay)} | {rate(best['inspect'])} | {rate(best['moonshot'])} | {cpus} "
            f"| {verdict(ratio(assay, best['openai']), TARGET_OPENAI, best['openai'], c.ceiling)} "
            f"| {verdict(ratio(assay, best['inspect']), TARGET_INSPECT, best['inspect'], c.ceiling)} "
            f"| {verdict(ratio(assay, best['moonshot']), TARGET_MOONSHOT, best['moonshot'], c.ceiling)} |"
        )
    return "\n".join(rows)


# -- main ----------------------------------------------------------------------------------------------


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so the mock server and temp files are cleaned up


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--install-peers", action="store_true", help="pip install Inspect AI (and Moonshot)")
    ap.add_argument("--quick", action="store_true", help="two conditions, one repeat")
    ap.add_argument("--repeats", type=int, default=3, help="runs of bare and Assay per condition (median)")
    ap.add_argument("--no-peers", action="store_true", help="bare and Assay only")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--peer-repeats", type=int, help="runs of each peer per condition (default: as --repeats)"
    )
    args = ap.parse_args()

    if args.install_peers:
        install_peers()
    work = load_workload()
    repeats = 1 if args.quick else max(1, args.repeats)
    peer_repeats = min(repeats, args.peer_repeats or repeats)
    latencies = [(0.0, 0.0), (0.05, 0.3)]
    concurrencies = [50] if args.quick else [10, 50]
    conds = [Condition(lat, c) for lat in latencies for c in concurrencies]

    inspect_version = None if args.no_peers else peer_version(INSPECT_VENV, "inspect_ai")
    moonshot_version = None if args.no_peers else peer_version(MOONSHOT_VENV, "aiverify-moonshot")
    moonshot_reason = "--no-peers" if args.no_peers else moonshot_status()
    print(
        f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"{work.n} samples · Inspect AI {inspect_version or 'not installed'} · "
        f"aiverify-moonshot {moonshot_version or 'not installed'}"
    )
    if moonshot_reason and not args.no_peers:
        print(textwrap.fill(moonshot_reason, 110))
    openai_reason = (
        None if peer_version(MOONSHOT_VENV, "openai") else "bench/.venvs/moonshot (openai) missing"
    )

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        tmpdir = Path(tmp)
        answers = tmpdir / "answers.json"
        answers.write_text(json.dumps(dict(zip(work.prompts, work.targets, strict=True))))
        samples_file = tmpdir / "samples.json"
        samples_file.write_text(json.dumps({"prompts": work.prompts, "targets": work.targets}))
        runs_dir = tmpdir / "runs"
        for cond in conds:
            with mock_server(cond.latency, answers) as base_url:
                # untimed warm-up: imports, template compilation, connection set-up
                run_bare(base_url, work, cond.concurrency, limit=20)
                run_assay(base_url, work, cond.concurrency, runs_dir, limit=20)
                peers: list[tuple[str, Any]] = []
                if not args.no_peers and openai_reason is None:
                    peers.append(
                        (
                            "openai",
                            functools.partial(run_openai, base_url, samples_file, cond.concurrency, work.n),
                        )
                    )
                if not args.no_peers and inspect_version is not None:
                    peers.append(
                        (
                            "inspect",
                            functools.partial(run_inspect, base_url, samples_file, cond.concurrency, work.n),
                        )
                    )
                if not args.no_peers and moonshot_reason is None:
                    peers.append(
                        ("moonshot", functools.partial(run_moonshot, base_url, cond.concurrency, work.n))
                    )
                # interleaved, so a change in the machine's load falls on every client alike
                for rep in range(repeats):
                    clients: list[tuple[str, Any]] = [
                        ("bare", functools.partial(run_bare, base_url, work, cond.concurrency)),
                        ("assay", functools.partial(run_assay, base_url, work, cond.concurrency, runs_dir)),
                    ]
                    if rep < peer_repeats:
                        clients += peers
                    for name, call in clients:
                        if name in cond.skipped:
                            continue
                        try:
                            cond.results.setdefault(name, []).append(call())
                        except (RuntimeError, subprocess.TimeoutExpired) as exc:
                            cond.results.pop(name, None)
                            cond.skipped[name] = str(exc)
                    shutil.rmtree(runs_dir, ignore_errors=True)
                for name, reason in (
                    ("openai", "--no-peers" if args.no_peers else openai_reason),
                    (
                        "inspect",
                        "--no-peers"
                        if args.no_peers
                        else (
                            None
                            if inspect_version
                            else "bench/.venvs/inspect missing (run with --install-peers)"
                        ),
                    ),
                    ("moonshot", "--no-peers" if args.no_peers else moonshot_reason),
                ):
                    if reason:
                        cond.skipped[name] = reason
            print_condition(cond, work.n)

    print("\nMarkdown:\n")
    print(markdown(conds, work.n))
    if args.json:
        out = [
            {
                "latency": c.latency,
                "concurrency": c.concurrency,
                "results": {
                    k: [{**r.__dict__, "per_s": r.per_s, "cpu_ms": r.cpu_ms} for r in v]
                    for k, v in c.results.items()
                },
                "skipped": c.skipped,
            }
            for c in conds
        ]
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
