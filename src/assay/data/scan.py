"""`assay data scan`: stream a dataset once and build its data card.

The main process reads (readers hold one line or one Arrow batch at a time) and batches rows; worker
processes analyse each batch (personal data, language, toxic terms, hashes, MinHash); the main
process folds the results into counts. At most `2 × workers` batches are in flight, so a fast reader
cannot queue a whole file in memory. Per row the main process keeps 14 bytes (hash, row number, file
index) for the exact-duplicate count, plus a 512-byte MinHash signature (with its 12-byte hash and
row) for each of the first `near_dup_rows` rows; both are compared in one batch at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay import __version__
from assay.data import quality
from assay.data.licences import check_licence, declared_in_folder
from assay.data.models import (
    ContaminationHit,
    DataCard,
    DataFile,
    DuplicatePair,
    Location,
    PiiExample,
    RowProblem,
)
from assay.data.pii import Detector, presidio_analyzer, presidio_available, redact
from assay.data.readers import DEFAULT_MAX_LINE, DataInputError, discover, iter_records
from assay.provenance import fingerprints as fp

Progress = Callable[[int, int], None]
EXAMPLES_PER_ENTITY = 2
MAX_EXAMPLES = 5
MAX_PROBLEMS = 10
SMALL_BYTES = 8 * 1024 * 1024


@dataclass
class ScanOptions:
    workers: int = 0
    """Worker processes; 0 picks min(4, CPUs), 1 analyses in this process."""
    use_presidio: bool = True
    max_line: int = DEFAULT_MAX_LINE
    batch_rows: int = 512
    near_dup_rows: int = 50_000
    near_threshold: float = 0.8
    contamination_threshold: float = 0.6


@dataclass
class SuiteText:
    suite: str
    sample_id: str
    text: str


@dataclass
class _SuiteIndex:
    """Evaluation prompts by exact normalised hash and by MinHash LSH band, for the contamination check."""

    items: list[tuple[str, str, np.ndarray]] = field(default_factory=list)
    exact: dict[int, list[int]] = field(default_factory=dict)
    bands: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, texts: list[SuiteText]) -> _SuiteIndex:
        index = cls()
        for t in texts:
            norm = fp.normalise_text(t.text)
            if not norm:
                continue
            sig = fp.minhash(t.text)
            i = len(index.items)
            index.items.append((t.suite, t.sample_id, sig))
            index.exact.setdefault(_hash64(norm), []).append(i)
            for band in _bands(sig):
                index.bands.setdefault(band, []).append(i)
        return index


_BAND_MUL = np.uint64(0x9E3779B97F4A7C15)


def _bands(sig: np.ndarray) -> list[tuple[int, int]]:
    """LSH band keys of a 128-value signature: 32 bands of 4 values, each folded to 64 bits.

    The same banding as the ledger's (`fingerprints.TEXT_BANDS`), hashed with numpy instead of one
    blake2b call per band: these keys live only for one scan, so they need not match the ledger's."""
    pairs = np.ascontiguousarray(sig, dtype="<u4").view("<u8").reshape(fp.TEXT_BANDS, -1)
    with np.errstate(over="ignore"):
        folded = pairs[:, 0] * _BAND_MUL ^ pairs[:, 1]
    return list(enumerate(folded.tolist()))


def _hash64(norm: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


# --- per-row analysis (runs in workers) -----------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(use_presidio: bool, suites: _SuiteIndex, near_dup_rows: int, threshold: float) -> None:
    _STATE.update(
        detector=Detector(use_presidio), suites=suites, near_dup_rows=near_dup_rows, threshold=threshold
    )


@dataclass(slots=True)
class RowResult:
    seq: int
    pii: list[tuple[str, str, str]]
    """(column, entity, redacted snippet or "" once the row already gave an example of that entity)."""
    language: str
    length: int
    toxic: bool
    hash64: int
    signature: bytes | None
    contamination: list[tuple[int, float, bool]]
    presidio: bool


def analyze_batch(batch: list[tuple[int, dict[str, str]]]) -> list[RowResult]:
    detector: Detector = _STATE["detector"]
    suites: _SuiteIndex = _STATE["suites"]
    near_rows: int = _STATE["near_dup_rows"]
    threshold: float = _STATE["threshold"]
    out = []
    wanted: list[tuple[int, str]] = []  # (index in out, normalised text) of rows that need a signature
    for seq, fields in batch:
        pii: list[tuple[str, str, str]] = []
        calls = detector.presidio_calls
        for column, text in fields.items():
            found = detector.find(text)
            shown: set[str] = set()
            for i, f in enumerate(found):
                example = ""
                if f.entity not in shown:
                    shown.add(f.entity)
                    example = redact(text, found, i)
                pii.append((column, f.entity, example))
        joined = "\n".join(fields.values())
        norm = fp.normalise_text(joined) if joined else ""
        if norm and (seq < near_rows or suites.items):
            wanted.append((len(out), norm))
        out.append(
            RowResult(
                seq=seq,
                pii=pii,
                language=quality.language(joined) if norm else "und",
                length=sum(len(v) for v in fields.values()),
                toxic=bool(norm) and quality.has_toxic_term(joined),
                hash64=_hash64(norm) if norm else 0,
                signature=None,
                contamination=[],
                presidio=detector.presidio_calls > calls,
            )
        )
    for (k, _norm), sig in zip(wanted, (fp.minhash(n) for _, n in wanted), strict=True):
        r = out[k]
        if r.seq < near_rows:
            r.signature = fp.signature_bytes(sig)
        if suites.items:
            r.contamination = _contamination(suites, batch[k][1], sig, threshold)
    return out


def _contamination(
    suites: _SuiteIndex, fields: dict[str, str], sig: np.ndarray, threshold: float
) -> list[tuple[int, float, bool]]:
    found: dict[int, tuple[float, bool]] = {}
    for text in fields.values():
        norm = fp.normalise_text(text)
        for i in suites.exact.get(_hash64(norm), []) if norm else []:
            found[i] = (1.0, True)
    candidates = {i for band in _bands(sig) for i in suites.bands.get(band, [])}
    for i in candidates - set(found):
        sim = fp.minhash_similarity(sig, suites.items[i][2])
        if sim >= threshold:
            found[i] = (sim, False)
    return [(i, s, e) for i, (s, e) in found.items()]


# --- the scan ---------------------------------------------------------------------------------------


@dataclass
class _Acc:
    """What the main process folds row results into."""

    card: DataCard
    files: list[str] = field(default_factory=list)
    hashes: array = field(default_factory=lambda: array("Q"))
    rows_at: array = field(default_factory=lambda: array("I"))
    file_at: array = field(default_factory=lambda: array("H"))
    hash_seq: array = field(default_factory=lambda: array("I"))
    suites: _SuiteIndex = field(default_factory=_SuiteIndex)
    near_sigs: bytearray = field(default_factory=bytearray)
    near_seqs: array = field(default_factory=lambda: array("I"))
    near_hashes: array = field(default_factory=lambda: array("Q"))
    lengths: int = 0
    examples_per_entity: dict[str, int] = field(default_factory=dict)
    columns: dict[str, None] = field(default_factory=dict)


def _workers(n: int) -> int:
    if n > 0:
        return n
    return max(1, min(4, os.cpu_count() or 1))


def _mp_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def scan_path(
    path: str | Path,
    *,
    options: ScanOptions | None = None,
    suite_texts: list[SuiteText] | None = None,
    declared_licence: str = "",
    commercial: bool | None = None,
    progress: Progress | None = None,
) -> DataCard:
    """Scan a dataset file or folder; raises `DataInputError` when it cannot be read."""
    opts = options or ScanOptions()
    started = time.perf_counter()
    root = Path(path)
    files = discover(root)
    total_bytes = sum(p.stat().st_size for p, _ in files.data)
    card = DataCard(
        path=str(root),
        scanned_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        assay_version=__version__,
        skipped_files=files.skipped,
    )
    card.personal_data_detail.engine = (
        "assay recognizers (NRIC/FIN checksum, Luhn, IBAN mod-97, IP, e-mail, SG phone and postal code)"
        + (
            " + presidio-analyzer no-NLP (PHONE_NUMBER, CRYPTO) on gated rows"
            if opts.use_presidio and presidio_available()
            else ""
        )
    )
    suites = _SuiteIndex.build(suite_texts or [])
    card.contamination.suites = sorted({t.suite for t in suite_texts or []})
    card.contamination.suite_samples = len(suites.items)
    card.contamination.threshold = opts.contamination_threshold
    card.duplicates.near_threshold = opts.near_threshold
    acc = _Acc(card=card, suites=suites)
    file_index: dict[str, int] = {}
    size_of = {str(_rel_to(files.root, p)): p.stat().st_size for p, _ in files.data}
    done_bytes = 0
    position = 0
    current = ""
    report = progress or (lambda done, total: None)

    def batches() -> Iterator[list[tuple[int, dict[str, str]]]]:
        nonlocal done_bytes, current, position
        batch: list[tuple[int, dict[str, str]]] = []
        for seq, rec in enumerate(iter_records(files, opts.max_line)):
            if rec.file != current:
                if current:
                    done_bytes += size_of.get(current, 0)
                current = rec.file
                file_index.setdefault(rec.file, len(acc.files))
                if len(acc.files) < len(file_index):
                    acc.files.append(rec.file)
            fidx = file_index[rec.file]
            position = done_bytes + rec.end
            acc.card.quality.rows += 1
            _row_flags(acc, rec, fidx)
            acc.rows_at.append(min(rec.row, 2**32 - 1))
            acc.file_at.append(min(fidx, 2**16 - 1))
            for c in rec.fields:
                if len(acc.columns) < 256:
                    acc.columns.setdefault(c, None)
            batch.append((seq, rec.fields))
            if len(batch) >= opts.batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch

    # Starting workers (each imports presidio) costs about a second: not worth it for a small set.
    workers = _workers(opts.workers) if opts.workers or total_bytes >= SMALL_BYTES else 1
    init_args = (opts.use_presidio, suites, opts.near_dup_rows, opts.contamination_threshold)
    if workers == 1:
        _init_worker(*init_args)
        for b in batches():
            _fold(acc, analyze_batch(b))
            report(position, total_bytes)
    else:
        if opts.use_presidio and presidio_available():
            presidio_analyzer()  # built once here, so forked workers share it instead of each importing it
        pool = _mp_context().Pool(workers, initializer=_init_worker, initargs=init_args)
        try:
            pending: deque[Any] = deque()
            for b in batches():
                pending.append(pool.apply_async(analyze_batch, (b,)))
                while len(pending) >= 2 * workers:
                    _fold(acc, pending.popleft().get())
                    report(position, total_bytes)
            while pending:
                _fold(acc, pending.popleft().get())
        finally:
            pool.terminate()
            pool.join()
    report(total_bytes, total_bytes)
    _finish(acc, files.data, files.root)
    if not declared_licence:
        declared_licence, source = declared_in_folder(files.meta)
    else:
        source = "manifest"
    card.licence = check_licence(declared_licence, source, commercial)
    card.seconds = round(time.perf_counter() - started, 3)
    _summarise(card)
    return card


def _rel_to(root: Path, p: Path) -> Path:
    try:
        return p.relative_to(root) if p != root else Path(p.name)
    except ValueError:
        return p


def _row_flags(acc: _Acc, rec: Any, fidx: int) -> None:
    q = acc.card.quality
    problem = ""
    if rec.broken_offset is not None:
        q.encoding_broken_rows += 1
        problem = f"not UTF-8 at byte {rec.broken_offset}"
    elif rec.malformed:
        q.malformed_rows += 1
        problem = rec.malformed
    elif not any(v.strip() for v in rec.fields.values()):
        q.empty_rows += 1
        problem = "empty"
    if problem and len(q.problems) < MAX_PROBLEMS:
        q.problems.append(RowProblem(location=Location(file=rec.file, row=rec.row), problem=problem))


def _loc(acc: _Acc, seq: int, column: str = "") -> Location:
    return Location(file=acc.files[acc.file_at[seq]], row=acc.rows_at[seq], column=column)


def _fold(acc: _Acc, results: list[RowResult]) -> None:
    card = acc.card
    q = card.quality
    pd = card.personal_data_detail
    for r in results:
        if r.hash64:
            q.languages[r.language] = q.languages.get(r.language, 0) + 1
        bucket = quality.length_bucket(r.length)
        q.length_chars[bucket] = q.length_chars.get(bucket, 0) + 1
        acc.lengths += r.length
        q.max_length_chars = max(q.max_length_chars, r.length)
        q.toxic_term_rows += r.toxic
        pd.presidio_rows += r.presidio
        if r.pii:
            pd.rows_with_personal_data += 1
        for column, entity, example in r.pii:
            card.personal_data[entity] = card.personal_data.get(entity, 0) + 1
            per = pd.by_column.setdefault(column, {})
            per[entity] = per.get(entity, 0) + 1
            seen = acc.examples_per_entity.get(entity, 0)
            if example and seen < EXAMPLES_PER_ENTITY:
                acc.examples_per_entity[entity] = seen + 1
                pd.examples.append(
                    PiiExample(entity=entity, location=_loc(acc, r.seq, column), redacted=example)
                )
        if not r.hash64:
            continue  # an empty row: counted as such, not as a duplicate
        acc.hashes.append(r.hash64)
        acc.hash_seq.append(r.seq)
        if r.signature is not None:
            acc.near_sigs += r.signature
            acc.near_seqs.append(r.seq)
            acc.near_hashes.append(r.hash64)
        for i, sim, exact in r.contamination:
            if not exact and sim < card.contamination.threshold:
                continue
            suite, sample_id, _sig = acc.suites.items[i]
            card.contamination.by_suite[suite] = card.contamination.by_suite.get(suite, 0) + 1
            if len(card.contamination.examples) < MAX_EXAMPLES:
                card.contamination.examples.append(
                    ContaminationHit(
                        suite=suite,
                        sample_id=sample_id,
                        location=_loc(acc, r.seq),
                        similarity=round(sim, 3),
                        exact=exact,
                    )
                )
        if r.contamination:
            card.contamination.rows_matching += 1


def _near_duplicates(acc: _Acc) -> None:
    """Near-duplicates among the rows that got a signature (the first `near_dup_rows`), found in one
    batch at the end: for each of the 32 LSH bands, sort the band keys; a row whose key equals an
    earlier row's becomes a candidate pair with the earliest row of that key. Candidates are then
    checked by MinHash similarity. Memory is bounded by arrays: 768 bytes a row, 16 bytes a candidate
    pair (at most 32 a row), whatever the data looks like."""
    d = acc.card.duplicates
    n = len(acc.near_seqs)
    d.near_rows_examined = n
    if n < 2:
        return
    sigs = np.frombuffer(acc.near_sigs, dtype="<u4").reshape(n, fp.NUM_PERM)  # a view, not a copy
    hashes = np.frombuffer(acc.near_hashes, dtype=np.uint64)
    pairs = sigs.view("<u8").reshape(n, fp.TEXT_BANDS, -1)
    with np.errstate(over="ignore"):
        keys = pairs[:, :, 0] * _BAND_MUL ^ pairs[:, :, 1]
    index = np.arange(n, dtype=np.int32)
    later: list[np.ndarray] = []
    earlier: list[np.ndarray] = []
    for b in range(fp.TEXT_BANDS):
        order = np.argsort(keys[:, b], kind="stable").astype(np.int32)
        col = keys[order, b]
        starts = np.ones(n, dtype=bool)
        starts[1:] = col[1:] != col[:-1]
        first = order[np.maximum.accumulate(np.where(starts, index, 0))]
        mask = order != first
        later.append(order[mask])
        earlier.append(first[mask])
    j = np.concatenate(later)
    i = np.concatenate(earlier)
    # exact copies are counted as exact duplicates, not again here
    _, first_of_hash = np.unique(hashes, return_index=True)
    is_copy = np.ones(n, dtype=bool)
    is_copy[first_of_hash] = False
    keep = (hashes[j] != hashes[i]) & ~is_copy[j]
    pair_key = np.unique(j[keep].astype(np.int64) * n + i[keep])
    j, i = pair_key // n, pair_key % n
    sims = np.empty(j.size)
    for lo in range(0, j.size, 8192):  # 8192 pairs: two 4 MiB gathers at a time
        hi = lo + 8192
        sims[lo:hi] = (sigs[j[lo:hi]] == sigs[i[lo:hi]]).mean(axis=1)
    hit = sims >= d.near_threshold
    j, i, sims = j[hit], i[hit], sims[hit]
    rows = np.unique(j)
    d.near_pairs = int(rows.size)
    for row in rows[:MAX_EXAMPLES]:
        sel = np.flatnonzero(j == row)
        best = sel[np.argmax(sims[sel])]
        d.near_examples.append(
            DuplicatePair(
                first=_loc(acc, acc.near_seqs[int(i[best])]),
                duplicate=_loc(acc, acc.near_seqs[int(row)]),
                similarity=round(float(sims[best]), 3),
            )
        )


def _finish(acc: _Acc, data: list[tuple[Path, str]], root: Path) -> None:
    card = acc.card
    _near_duplicates(acc)
    q = card.quality
    q.mean_length_chars = round(acc.lengths / q.rows, 1) if q.rows else 0.0
    q.toxic_term_rate = round(q.toxic_term_rows / q.rows, 6) if q.rows else 0.0
    q.length_chars = {b: q.length_chars[b] for b in quality.bucket_labels() if b in q.length_chars}
    card.columns = list(acc.columns)
    # Exact duplicates: sort the 64-bit hashes once; every row after the first of its hash is a duplicate.
    hashes = np.frombuffer(acc.hashes, dtype=np.uint64) if len(acc.hashes) else np.zeros(0, np.uint64)
    if hashes.size:
        order = np.argsort(hashes, kind="stable")
        sorted_h = hashes[order]
        dup = np.flatnonzero(sorted_h[1:] == sorted_h[:-1]) + 1
        card.duplicates.exact_rows = int(dup.size)
        for k in dup[: MAX_EXAMPLES * 4]:
            if len(card.duplicates.exact_examples) >= MAX_EXAMPLES:
                break
            first_k = k
            while first_k > 0 and sorted_h[first_k - 1] == sorted_h[k]:
                first_k -= 1
            a = acc.hash_seq[int(order[first_k])]
            b = acc.hash_seq[int(order[k])]
            card.duplicates.exact_examples.append(DuplicatePair(first=_loc(acc, a), duplicate=_loc(acc, b)))
    files_arr = np.frombuffer(acc.file_at, dtype=np.uint16) if len(acc.file_at) else np.zeros(0, np.uint16)
    per_file = np.bincount(files_arr, minlength=len(acc.files)) if files_arr.size else []
    for path, fmt in data:
        rel = str(_rel_to(root, path))
        idx = acc.files.index(rel) if rel in acc.files else -1
        card.files.append(
            DataFile(
                path=rel,
                format=fmt,
                bytes=path.stat().st_size,
                sha256=_sha256_file(path),
                rows=int(per_file[idx]) if idx >= 0 else 0,
            )
        )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _summarise(card: DataCard) -> None:
    """One line per thing a reviewer should look at."""
    f = card.findings
    if card.personal_data:
        kinds = ", ".join(f"{k} ×{v}" for k, v in sorted(card.personal_data.items()))
        f.append(f"personal data found in {card.personal_data_detail.rows_with_personal_data} rows: {kinds}")
    q = card.quality
    for what, n in (
        ("empty", q.empty_rows),
        ("malformed", q.malformed_rows),
        ("encoding-broken (not UTF-8)", q.encoding_broken_rows),
    ):
        if n:
            f.append(f"{n} {what} row(s)")
    if card.duplicates.exact_rows:
        f.append(f"{card.duplicates.exact_rows} exact duplicate row(s)")
    if card.duplicates.near_pairs:
        f.append(
            f"{card.duplicates.near_pairs} near-duplicate row(s) (MinHash ≥ {card.duplicates.near_threshold})"
        )
    if card.contamination.rows_matching:
        suites = ", ".join(f"{k} ×{v}" for k, v in sorted(card.contamination.by_suite.items()))
        f.append(
            f"{card.contamination.rows_matching} row(s) match evaluation prompts (contamination): {suites}"
        )
    for c in card.licence.conflicts:
        f.append(f"licence {c.severity}: {c.message}")
    if q.toxic_term_rows:
        f.append(f"toxic-term rate {q.toxic_term_rate:.4f} ({q.toxic_term_rows} rows hold a listed term)")


__all__ = ["DataInputError", "ScanOptions", "SuiteText", "scan_path"]
