"""Text watermark on partial copies and edits (issue 9 part 3): windowed detection of a marked passage.

    .venv/bin/python bench/text_watermark.py --no-hf ...   # (or any run) makes the cached generations
    .venv/bin/python bench/text_watermark_span.py          # then this measures, from the cache (~1 min)

Marked and unmarked texts: the 200-token SmolLM2-135M-Instruct generations that `bench/text_watermark.py`
caches (`/tmp/assay-bench-text-wm-100-200-0.7.json`, keys `marked` and `plain`; the same bench key and
prompts). Generation is not repeated here: it is the slow part on CPU.

Human text, all read offline from files on this machine (nothing is downloaded):
- the licence texts Debian ships in /usr/share/common-licenses (GPL, LGPL, Apache, MPL, Artistic, GFDL);
- the long descriptions (READMEs) in the METADATA of the Python packages installed in the venv;
- docstrings of the Python standard library's modules.
Only prose paragraphs are kept (≥ 20 words, mostly letters, no code; markdown links and emphasis reduced
to their text). They are joined, in order within one source, into "human documents" of ≥ 1,000 words;
the sources are interleaved so each attack draws documents from all three.

Unmarked machine text, besides the SmolLM plain generations: the completions of five other models in
XSTest (`../shared/datasets/xstest/xstest_<model>.csv`), those of ≥ 25 tokens.

Attacks on each marked text: pasted as its own paragraph at a random paragraph break of a 1,000-word
human document; 20% of its words replaced by words drawn at random from the human documents (unrelated
words); 30% of the characters cut from each end (at word breaks, keeping the middle 40%); five
paraphrased by hand (bench/data/text_wm_hand_paraphrases.jsonl, written for this bench).

Detector setting for the targets (FPR ≤ 0.01): whole-text threshold z ≥ 3.09 (theoretical FPR 0.001)
and the windowed search at family-wise α = 0.005, so the union bound gives ≤ 0.006; the empirical FPR
is measured on every unmarked set. Also reported: a whole-text threshold calibrated for FPR 0.004 on the
even-numbered half of the unmarked texts (XSTest, plain SmolLM, 300-word human pieces; judged on the
held-out halves), the product default (z ≥ 4, α = 0.001), and whole-text detection alone at z ≥ 2.33
(theoretical FPR 0.01) as the "before".
"""

from __future__ import annotations

import argparse
import csv
import email.parser
import glob
import hashlib
import inspect
import json
import re
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from assay.provenance.keys import WatermarkKey
from assay.provenance.text_watermark import (
    WatermarkParams,
    calibrate_z_scores,
    detect_text,
    encode_text,
    load_bundled_tokenizer,
    z_for_fpr,
)

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
_CODEY = re.compile(r"[{}<>\[\]=_`|\\#$@]|^\s*(>>>|\.\.\.|\$|def |class |import |from )|://", re.M)


# --- human text ---------------------------------------------------------------------------------------


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # markdown [text](url) -> text
_EMPH = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")  # **b**, *i*, `code` -> their text


def _prose(paragraphs: list[str], min_words: int = 20) -> list[str]:
    """Paragraphs that read as prose: ≥ min_words words, mostly letters, no code, markup or addresses
    (markdown links and emphasis are reduced to their text first)."""
    out = []
    for p in paragraphs:
        p = _EMPH.sub(r"\2", _LINK.sub(r"\1", " ".join(p.split())))
        words = p.split()
        if len(words) < min_words or _CODEY.search(p):
            continue
        letters = sum(c.isalpha() or c in " .,;:'\"()-?!" for c in p)
        if letters / len(p) < 0.95 or p.upper() == p:
            continue
        out.append(p)
    return out


def _split(text: str) -> list[str]:
    return re.split(r"\n\s*\n", text)


def licence_paragraphs() -> list[list[str]]:
    docs = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        p = Path(path)
        if p.is_file() and not p.is_symlink():
            docs.append(_prose(_split(p.read_text(encoding="utf-8", errors="replace"))))
    return [d for d in docs if d]


def readme_paragraphs() -> list[list[str]]:
    docs = []
    for meta in sorted(glob.glob(f"{sys.prefix}/lib/python3*/site-packages/*.dist-info/METADATA")):
        msg = email.parser.Parser().parsestr(Path(meta).read_text(encoding="utf-8", errors="replace"))
        body = msg.get_payload() if not msg.is_multipart() else ""
        d = _prose(_split(str(body or "")))
        if d:
            docs.append(d)
    return docs


def docstring_paragraphs() -> list[list[str]]:
    docs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sorted(sys.stdlib_module_names):
            if name.startswith("_") or name in {"antigravity", "this", "idlelib", "tkinter", "turtle"}:
                continue
            try:
                mod = __import__(name)
            except Exception:
                continue
            texts = [inspect.getdoc(mod) or ""]
            for attr in sorted(vars(mod)):
                obj = getattr(mod, attr, None)
                own = getattr(obj, "__module__", None) == mod.__name__
                if own and not attr.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)):
                    texts.append(inspect.getdoc(obj) or "")
            d = _prose([p for t in texts for p in _split(t)])
            if d:
                docs.append(d)
    return docs


def human_documents(min_words: int = 1000) -> tuple[list[list[str]], dict[str, int]]:
    """Documents of ≥ min_words words, each a run of paragraphs from one source file, sources mixed."""
    by_source = {
        "licences": licence_paragraphs(),
        "package READMEs": readme_paragraphs(),
        "stdlib docstrings": docstring_paragraphs(),
    }
    out: dict[str, list[list[str]]] = {}
    for name, docs in by_source.items():
        made: list[list[str]] = []
        seen: set[str] = set()
        cur: list[str] = []
        for paras in docs:  # consecutive files of one source run on into the next document
            for p in paras:
                if p in seen:  # licences repeat each other's clauses
                    continue
                seen.add(p)
                cur.append(p)
                if sum(len(x.split()) for x in cur) >= min_words:
                    made.append(cur)
                    cur = []
        out[name] = made
    mixed = [d for group in zip(*out.values(), strict=False) for d in group]
    longest = max(out.values(), key=len)
    mixed += longest[min(len(v) for v in out.values()) :]
    return mixed, {k: len(v) for k, v in out.items()}


# --- unmarked machine text -----------------------------------------------------------------------------


def human_pieces(docs: list[list[str]], words: int = 300) -> list[str]:
    """The same documents cut into ~300-word texts: more, shorter human texts."""
    pieces: list[str] = []
    for d in docs:
        cur: list[str] = []
        for para in d:
            cur.append(para)
            if sum(len(x.split()) for x in cur) >= words:
                pieces.append("\n\n".join(cur))
                cur = []
    return pieces


def xstest_completions() -> list[str]:
    out = []
    for path in sorted((SHARED / "xstest").glob("xstest_*.csv")):
        if path.name == "xstest_prompts.csv":
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            out += [row["completion"].strip() for row in csv.DictReader(fh) if row.get("completion")]
    return out


# --- attacks --------------------------------------------------------------------------------------------


def paste(marked: str, doc: list[str], rng: np.random.Generator) -> tuple[str, int, int]:
    at = int(rng.integers(1, len(doc)))
    before = "\n\n".join(doc[:at]) + "\n\n"
    return (
        before + marked.strip() + "\n\n" + "\n\n".join(doc[at:]),
        len(before),
        len(before) + len(marked.strip()),
    )


def replace_words(text: str, frac: float, vocab: list[str], rng: np.random.Generator) -> str:
    words = text.split(" ")
    pos = rng.choice(len(words), size=int(round(frac * len(words))), replace=False)
    for i in pos:
        words[i] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


def cut_ends(text: str, frac: float) -> str:
    a, b = int(frac * len(text)), int((1 - frac) * len(text))
    a = text.find(" ", a) + 1 if text.find(" ", a) >= 0 else a
    b = text.rfind(" ", 0, b) if text.rfind(" ", 0, b) > a else b
    return text[a:b]


# --- measuring -----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/assay-bench-text-wm-100-200-0.7.json")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cache = json.loads(Path(args.cache).read_text())
    marked = cache.get("marked") or cache.get("marked_partial", [])
    plain = cache.get("plain") or cache.get("plain_partial", [])
    tok = load_bundled_tokenizer()
    key = WatermarkKey.from_secret(hashlib.sha256(b"assay bench text watermark").digest())
    params = WatermarkParams(key_id=key.key_id)
    docs, per_source = human_documents()
    vocab = sorted({w for d in docs for p in d for w in p.split() if w.isalpha() and len(w) > 2})
    others = [t for t in xstest_completions() if encode_text(t, tok)[0].size >= 40]
    print(f"{len(marked)} marked, {len(plain)} plain, {len(docs)} human documents {per_source}, "
          f"{len(others)} XSTest completions", flush=True)  # fmt: skip

    def z(t: str) -> float:
        return detect_text(t, tok, key, params, span_alpha=None).z_score

    # Whole-text threshold for FPR 0.004, calibrated on the even-numbered half of the unmarked texts
    # (XSTest completions, plain SmolLM texts and 300-word human texts); the odd-numbered halves are held
    # out, so the FPR below is measured on texts the threshold never saw. The 1,000-word human documents
    # are not in the pool, but they contain the pool's human pieces (the same paragraphs, joined).
    pieces = human_pieces(docs)
    pool = others[::2] + plain[::2] + pieces[::2]
    cal = calibrate_z_scores([z(t) for t in pool], key, params, target_fpr=0.004, source="unmarked pool")
    thr, how = cal.z_threshold, cal.statement()
    # (threshold, α, calibrated?): a calibrated threshold is judged on the held-out halves only; fixed
    # thresholds never saw any of these texts, so they are judged on all of them.
    settings = {
        "targets: whole text z ≥ 3.09 (FPR 0.001) + windows at α 0.005": (z_for_fpr(0.001), 0.005, False),
        "whole text calibrated at FPR 0.004 + windows at α 0.005": (thr, 0.005, True),
        "product default: z ≥ 4 + windows at α 0.001": (params.z_threshold, 0.001, False),
        "before: whole text only, FPR 0.01 (z ≥ 2.33)": (z_for_fpr(0.01), None, False),
    }
    rng = np.random.default_rng(9)
    n_docs = len(docs)
    human_texts = ["\n\n".join(d) for d in docs]
    pasted, where = [], []
    for i, m in enumerate(marked):
        text, a, b = paste(m, docs[i % n_docs], rng)
        pasted.append(text)
        where.append((a, b))
    plain_pasted = [paste(p, docs[(i + 7) % n_docs], rng)[0] for i, p in enumerate(plain)]
    replaced = [replace_words(m, 0.2, vocab, rng) for m in marked]
    cut = [cut_ends(m, 0.3) for m in marked]
    # Hand paraphrases, written for this bench by the engineer who wrote it (bench/data), of cached
    # marked texts; the original's sha256 is checked so a different cache cannot be paired with them.
    hand = []
    for line in (Path(__file__).parent / "data" / "text_wm_hand_paraphrases.jsonl").read_text().splitlines():
        row = json.loads(line)
        i = row["index"]
        if i < len(marked) and hashlib.sha256(marked[i].encode()).hexdigest() == row["original_sha256"]:
            hand.append(row["paraphrase"])
    sets = {
        "marked (whole answer)": (marked, True),
        "marked pasted into 1,000+ human words": (pasted, True),
        "marked, 20% of words replaced": (replaced, True),
        "marked, 30% cut from each end": (cut, True),
        "marked, paraphrased by hand": (hand, True),
        "human documents (1,000+ words)": (human_texts, False),
        "human texts (300+ words, same documents cut up)": (pieces, False),
        "plain SmolLM2 (unmarked)": (plain, False),
        "plain SmolLM2 pasted into human text": (plain_pasted, False),
        "XSTest completions of 5 other models": (others, False),
    }
    res: dict[str, Any] = {"n_marked": len(marked), "n_plain": len(plain), "human_docs": per_source,
                           "n_xstest": len(others), "calibrated": how, "settings": {}}  # fmt: skip
    for name, (threshold, alpha, calibrated) in settings.items():
        p_set = params.model_copy(update={"z_threshold": threshold})
        row: dict[str, Any] = {}
        for sname, (texts, is_marked) in sets.items():
            if calibrated and not is_marked and sname != "human documents (1,000+ words)":
                texts, sname = texts[1::2], f"{sname} (held-out half)"  # the pool had the even ones
            if not texts:
                continue
            dets = [detect_text(t, tok, key, p_set, span_alpha=alpha) for t in texts]
            flagged = [d.watermarked for d in dets]
            row[sname] = {"rate": float(np.mean(flagged)), "k": int(sum(flagged)), "n": len(texts)}
            if sname.startswith("marked pasted") and alpha is not None:
                hits, errs, span_only = 0, [], 0
                for d, (a, b) in zip(dets, where, strict=True):
                    s = d.span_search.span if d.span_search else None
                    span_only += d.detected_by == "span"
                    if s is not None:
                        ov = max(0, min(b, s.char_end) - max(a, s.char_start)) / (b - a)
                        hits += ov >= 0.5
                        errs += [abs(s.char_start - a), abs(s.char_end - b)]
                row[sname]["span_overlaps_half_of_answer"] = hits
                row[sname]["found_by_span_only"] = span_only
                if errs:
                    row[sname]["edge_error_chars_median"] = float(np.median(errs))
                    row[sname]["edge_error_chars_p90"] = float(np.percentile(errs, 90))
            if not is_marked and alpha is not None:
                p_adj = [d.span_search.p_adjusted for d in dets if d.span_search and d.span_search.n_windows]
                row[sname]["span_p_adjusted_min"] = float(min(p_adj)) if p_adj else None
            if is_marked:
                row[sname]["z_median"] = statistics.median(d.z_score for d in dets)
        res["settings"][name] = row
        print(f"\n== {name}", flush=True)
        for sname, r in row.items():
            extra = json.dumps({k: v for k, v in r.items() if k not in ("k", "n", "rate")})
            print(f"  {sname:48s} {r['k']:4d}/{r['n']:<4d} = {r['rate']:.3f}  {extra}", flush=True)
    # cost: windowed search on a 1,300-token text
    big = pasted[0]
    start = time.perf_counter()
    for _ in range(20):
        detect_text(big, tok, key, params, span_alpha=0.001)
    with_span = (time.perf_counter() - start) / 20
    start = time.perf_counter()
    for _ in range(20):
        detect_text(big, tok, key, params, span_alpha=None)
    without = (time.perf_counter() - start) / 20
    res["detect_ms"] = {"tokens": int(encode_text(big, tok)[0].size), "with_span": 1e3 * with_span,
                        "without_span": 1e3 * without}  # fmt: skip
    print(f"\ndetect_text on {res['detect_ms']['tokens']} tokens: {1e3 * with_span:.1f} ms with the windowed "
          f"search, {1e3 * without:.1f} ms without", flush=True)  # fmt: skip
    res["wall_s"] = time.perf_counter() - t0
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
