"""Hostile YAML/JSON (issue #16): how fast each reader refuses it and how much memory that costs, and what
the limit-counting YAML loader costs on an ordinary large suite, against libyaml's own loader.

Run: .venv/bin/python bench/input_limits.py [--runs 5]

Each hostile case runs in a fresh child process under a 3 GiB address-space limit and a 60 s timeout;
the child reports the wall time of the read and how much its peak resident memory grew during it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = 5_000
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.test_input_limits import alias_bomb, deep_json, deep_yaml  # noqa: E402

CHILD = """
import json, resource, time
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
outcome = "loaded"
try:
{body}
except BaseException as exc:
    outcome = type(exc).__name__ + ": " + str(exc).splitlines()[0][:90]
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({{"s": time.perf_counter() - start, "mb": grown, "outcome": outcome}}))
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))


def child(body: str, preload: str) -> dict[str, object]:
    code = preload + "\n" + CHILD.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"s": 60.0, "mb": float("nan"), "outcome": "TIMEOUT (60 s)"}
    if proc.returncode != 0:
        return {"s": float("nan"), "mb": float("nan"), "outcome": "CRASH " + proc.stderr.strip()[-90:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def hostile(tmp: Path) -> None:
    (tmp / "m").mkdir()
    (tmp / "m" / "assay.yaml").write_text(alias_bomb())
    (tmp / "d").mkdir()
    (tmp / "d" / "assay.yaml").write_text(deep_yaml())
    (tmp / "suite.yaml").write_text("id: bomb\nscorers: [refusal]\n" + alias_bomb())
    (tmp / "deep.json").write_text(deep_json())
    (tmp / "attacks").mkdir()
    (tmp / "attacks" / "bomb.yaml").write_text(alias_bomb())
    example = REPO / "examples" / "helpdesk" / "assay.yaml"
    manifest = "from assay.manifest import load_manifest"
    suites = "from assay.evals.suites import load_samples, load_suite"
    attacks = "from assay.redteam.library import load_attacks"
    cases = [
        ("example manifest (baseline)", manifest, f"load_manifest({str(example)!r})"),
        ("manifest alias bomb (362 B)", manifest, f"load_manifest({str(tmp / 'm')!r})"),
        ("manifest nested 900 deep", manifest, f"load_manifest({str(tmp / 'd')!r})"),
        ("suite YAML alias bomb", suites, f"load_suite({str(tmp / 'suite.yaml')!r})"),
        ("suite JSON nested 100,000 deep", suites, f"load_samples({str(tmp / 'deep.json')!r})"),
        ("attack folder alias bomb", attacks, f"load_attacks([{str(tmp / 'attacks')!r}], plugins=False)"),
    ]
    print("| input | time to answer | peak RSS growth | outcome |")
    print("|---|---|---|---|")
    for name, preload, body in cases:
        r = child(body, preload)
        print(f"| {name} | {1000 * float(r['s']):.1f} ms | {float(r['mb']):.1f} MB | {r['outcome']} |")


def throughput(runs: int) -> None:
    import yaml

    from assay import yamlio
    from assay.manifest.yamlpos import load_located

    rows = "".join(
        f"  - id: s{i}\n    input: 'What is the capital of place {i}? Answer briefly.'\n"
        f"    target: [a, b]\n    category: geo\n"
        for i in range(SAMPLES)
    )
    text = "id: big\nscorers: [exact]\nsamples:\n" + rows
    cases = {
        "libyaml CSafeLoader, no limits (baseline)": lambda: yaml.load(text, Loader=yaml.CSafeLoader),  # noqa: S506
        "assay.yamlio.safe_load (limits counted)": lambda: yamlio.safe_load(text),
        "yaml.compose, libyaml composer (baseline)": lambda: yaml.compose(text, Loader=yaml.CSafeLoader),
        "assay.yamlio.compose (limits counted)": lambda: yamlio.compose(text),
        "load_located (positions, limits)": lambda: load_located(text),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):  # interleaved, so load on a shared machine hits every case alike
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{len(text) / 1e6:.2f} MB suite, {SAMPLES:,} samples, median of {runs}:\n")
    print("| loader | median | × its baseline |")
    print("|---|---|---|")
    for name, value in med.items():
        base = (
            med["yaml.compose, libyaml composer (baseline)"]
            if "compose" in name
            else med["libyaml CSafeLoader, no limits (baseline)"]
        )
        print(f"| {name} | {value:.2f} s | {value / base:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hostile(Path(tmp))
    throughput(args.runs)


if __name__ == "__main__":
    main()
