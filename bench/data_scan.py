"""Dataset-scan bench (issue 13): personal-data throughput against presidio, and memory on a large file.

    .venv/bin/python bench/data_scan.py                      # 2 MB side by side + a 200 MB memory run
    .venv/bin/python bench/data_scan.py --mb 1 --big-mb 0    # quick: side by side only

Side by side, in one process, on the same generated corpus (help-desk prose with planted e-mail
addresses, payment cards, IBANs, IP addresses, +65 phone numbers and NRIC/FIN numbers):

- baseline: presidio's own `AnalyzerEngine` with its no-NLP engine and its default recognizers, one
  `analyze` call per text field;
- Assay's detector (`assay.data.pii.Detector`: own recognizers, presidio on gated rows), in this process;
- Assay's whole scan (`scan_path`: personal data + language + toxic terms + hashes + MinHash), in this
  process and with worker processes (CPU time of the workers included).

Throughput is KB of JSONL per CPU-second. Recall is per planted entity type: a planted value counts as
found when a finding of that type (presidio: PHONE_NUMBER for a phone) covers its first character.

The memory run writes a JSONL file of `--big-mb` MB in /tmp, scans it with the default options in a
child process and prints the child's peak RSS and its largest worker's (VmHWM / ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))
from corpus import email, iban, ip, luhn_card, sg_phone, valid_nric  # noqa: E402

SENTENCES = [
    "Restart the router at the power socket and wait three minutes before you test again.",
    "Bills are issued on the first working day of each month and cover the month ahead.",
    "The Service Status page lists planned maintenance and any fault in your area.",
    "Place the router in the open, high up and near the middle of your home.",
    "Cancellation needs one month's notice through the customer portal.",
    "A move to a faster plan starts within one working day and the next bill is pro-rated.",
    "The installer connects the fibre termination point, sets up the router and checks the speed.",
    "Parental controls apply at the router, so they work on every device in the home.",
    "We never ask for your password or a one-time code by phone or by message.",
    "After five wrong attempts the account locks for fifteen minutes.",
    "The 5 GHz band is faster over short distances while 2.4 GHz reaches further.",
    "Return the router within 14 days of the last service day to avoid a charge.",
    "Late payments of more than 30 days may reduce your speed until the balance is paid.",
    "Seniors aged 65 and above can take Home 500 at a lower monthly price.",
]
PLANTS = {
    "EMAIL_ADDRESS": ("Write to {} about the refund.", lambda rng, i: email(rng, i)),
    "CREDIT_CARD": ("Paid with card {} last month.", lambda rng, i: luhn_card(rng)),
    "IBAN_CODE": ("Refund sent to account {} on Monday.", lambda rng, i: iban(rng)),
    "IP_ADDRESS": ("The router at {} stopped answering.", lambda rng, i: ip(rng)),
    "SG_PHONE": ("Call me back on {} after six.", lambda rng, i: sg_phone(rng)),
    "SG_NRIC_FIN": ("Customer ID {} was verified at the counter.", lambda rng, i: valid_nric(rng)),
}


def make_rows(target_bytes: int, seed: int = 1, plant_every: int = 20):
    """Yield (json line, planted (entity, value) or None) until `target_bytes` are produced."""
    rng = random.Random(seed)
    size = 0
    i = 0
    kinds = list(PLANTS)
    while size < target_bytes:
        body = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(3, 7)))
        planted = None
        if i % plant_every == 0:
            entity = kinds[(i // plant_every) % len(kinds)]
            template, make = PLANTS[entity]
            value = make(rng, i)
            body += " " + template.format(value)
            planted = (entity, value)
        line = json.dumps({"id": f"a{i}", "title": rng.choice(SENTENCES)[:40], "body": body}) + "\n"
        size += len(line.encode())
        i += 1
        yield line, planted


def write_corpus(path: Path, mb: float, seed: int = 1) -> list[tuple[str, str, str]]:
    """Write the corpus; return (entity, value, body) of each planted row."""
    planted = []
    with path.open("w") as fh:
        for line, p in make_rows(int(mb * 1e6), seed):
            fh.write(line)
            if p:
                planted.append((p[0], p[1], json.loads(line)["body"]))
    return planted


def cpu() -> float:
    self = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return self.ru_utime + self.ru_stime + kids.ru_utime + kids.ru_stime


def texts_of(path: Path):
    with path.open() as fh:
        for line in fh:
            row = json.loads(line)
            yield from (v for v in row.values() if isinstance(v, str))


def recall(planted, find) -> dict[str, float]:
    per: dict[str, list[int]] = {}
    for entity, value, body in planted:
        start = body.index(value)
        hit = any(t == entity and s <= start < e for t, s, e in find(body))
        per.setdefault(entity, []).append(int(hit))
    return {k: sum(v) / len(v) for k, v in sorted(per.items())}


def side_by_side(mb: float, workers: int) -> None:
    from assay.data import ScanOptions, scan_path
    from assay.data.pii import Detector, presidio_analyzer
    from assay.evals.scorers.pii import _keep_tldextract_offline, _without_ml_frameworks

    with _without_ml_frameworks():
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        _keep_tldextract_offline()
        baseline = AnalyzerEngine(
            nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
            supported_languages=["en"],
        )
    presidio_analyzer()  # both sides start warm
    detector = Detector()
    tmp = tempfile.TemporaryDirectory(prefix="assay-bench-")
    path = Path(tmp.name) / "corpus.jsonl"
    planted = write_corpus(path, mb)
    kb = path.stat().st_size / 1000
    baseline.analyze(text="warm up 10.0.0.1 a@b.co", language="en")

    def presidio_find(text):
        out = []
        for r in baseline.analyze(text=text, language="en"):
            out.append((r.entity_type, r.start, r.end))
        return out

    def assay_find(text):
        return [(f.entity, f.start, f.end) for f in detector.find(text)]

    rows = []
    c0 = cpu()
    n = 0
    for t in texts_of(path):
        presidio_find(t)
        n += 1
    base_cpu = cpu() - c0
    base_recall = recall(planted, lambda t: [(_unmap(e), s, x) for e, s, x in presidio_find(t)])
    rows.append(("presidio AnalyzerEngine, no-NLP (baseline)", base_cpu, base_recall))

    c0 = cpu()
    for t in texts_of(path):
        detector.find(t)
    own_cpu = cpu() - c0
    rows.append(("Assay detector (recognizers + gated presidio)", own_cpu, recall(planted, assay_find)))

    c0 = cpu()
    card1 = scan_path(path, options=ScanOptions(workers=1))
    scan1_cpu = cpu() - c0
    rows.append(("Assay full scan, in process", scan1_cpu, None))
    c0 = cpu()
    card2 = scan_path(path, options=ScanOptions(workers=workers))
    scan2_cpu = cpu() - c0
    rows.append((f"Assay full scan, {workers} workers", scan2_cpu, None))
    assert card1.personal_data == card2.personal_data, (card1.personal_data, card2.personal_data)

    print(
        f"\ncorpus: {kb:,.0f} KB, {n:,} text fields, {len(planted)} planted values "
        f"({len(planted) // len(PLANTS)} per type); presidio-analyzer {_version('presidio-analyzer')}\n"
    )
    print("| engine | CPU s | KB per CPU-s | × baseline |")
    print("|---|---|---|---|")
    for name, secs, _ in rows:
        print(f"| {name} | {secs:.2f} | {kb / secs:,.0f} | {base_cpu / secs:.1f} |")
    print("\nrecall per planted entity type:\n")
    types = sorted(PLANTS)
    print("| engine | " + " | ".join(types) + " |")
    print("|---|" + "---|" * len(types))
    for name, _, rec in rows:
        if rec is not None:
            print(f"| {name} | " + " | ".join(f"{rec.get(t, 0):.2f}" for t in types) + " |")
    print(
        f"\nfull scan found: {json.dumps(card2.personal_data, sort_keys=True)}; "
        f"rows sent to presidio by the gates: {card1.personal_data_detail.presidio_rows:,} "
        f"of {card1.quality.rows:,}"
    )
    tmp.cleanup()


def _unmap(entity: str) -> str:
    return {"PHONE_NUMBER": "SG_PHONE"}.get(entity, entity)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


CHILD = """
import json, resource, sys, time
from assay.data import ScanOptions, scan_path
t = time.perf_counter()
card = scan_path(sys.argv[1], options=ScanOptions(workers=int(sys.argv[2])))
wall = time.perf_counter() - t
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rows": card.quality.rows, "main_kb": hwm, "worker_kb": kids,
                  "pii": card.personal_data, "exact_dups": card.duplicates.exact_rows}))
"""


def memory_run(mb: float, workers: int) -> None:
    path = Path(tempfile.gettempdir()) / f"assay-bench-{int(mb)}mb.jsonl"
    if not path.exists() or path.stat().st_size < mb * 1e6:
        write_corpus(path, mb, seed=2)
    size = path.stat().st_size
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(workers)], capture_output=True, text=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        print(out.stderr)
        raise SystemExit(out.returncode)
    r = json.loads(out.stdout)
    secs = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(
        f"\nmemory run: {size / 1e6:,.0f} MB JSONL, {r['rows']:,} rows, {workers} workers: "
        f"{r['wall']:.0f} s wall, {secs:.0f} CPU-s ({size / 1000 / secs:,.0f} KB per CPU-s, whole scan); "
        f"peak RSS main {r['main_kb'] / 1024:.0f} MB, largest worker {r['worker_kb'] / 1024:.0f} MB"
    )
    print(f"found {json.dumps(r['pii'], sort_keys=True)}; exact duplicate rows {r['exact_dups']:,}")
    if os.environ.get("ASSAY_BENCH_KEEP") != "1":
        path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=2.0, help="side-by-side corpus size (MB)")
    ap.add_argument("--big-mb", type=float, default=200.0, help="memory-run file size (MB); 0 skips it")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    side_by_side(args.mb, args.workers)
    if args.big_mb:
        memory_run(args.big_mb, args.workers)


if __name__ == "__main__":
    main()
