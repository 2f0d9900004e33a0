"""Text watermark benchmark (issue 5): Assay's keyed green list vs transformers' built-in KGW.

    .venv/bin/python bench/text_watermark.py            # full: 100 + 100 + 100 texts of 200 tokens
    .venv/bin/python bench/text_watermark.py --quick    # 16 of each, a smoke run (~2 min)

On the bundled SmolLM2-135M-Instruct: watermarked and unwatermarked 200-token generations of the same
prompts (EOS is suppressed so every text has exactly 200 new tokens), detection from the decoded text.
Reports TPR at a threshold calibrated for empirical FPR ≤ 1% on the unwatermarked texts (and at the
fixed z = 4), TPR after 20% random token substitution and after a paraphrase by the same model,
detection throughput, and the generation slowdown from the watermark at batch 1 and 16. transformers'
`WatermarkingConfig` / `WatermarkDetector` runs on the same prompts with the same γ and δ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from assay.evals.bundled.engine import BundledModel
from assay.provenance.keys import WatermarkKey
from assay.provenance.text_watermark import (
    WatermarkParams,
    calibrate_z_scores,
    detect_text,
    encode_text,
    load_bundled_tokenizer,
    score_token_ids,
)

TOPICS = [
    "photosynthesis",
    "the water cycle",
    "volcanoes",
    "the Roman Empire",
    "black holes",
    "honeybees",
    "the printing press",
    "climate change",
    "the human heart",
    "electric cars",
    "coral reefs",
    "the internet",
    "chess",
    "vaccines",
    "the Moon landing",
    "rainforests",
    "jazz music",
    "recycling",
    "earthquakes",
    "the Silk Road",
    "solar panels",
    "sleep",
    "the Olympic Games",
    "bread making",
    "public libraries",
]
FORMS = [
    "Explain {t} in a few paragraphs for a curious teenager.",
    "Write a short essay about {t}.",
    "Describe the history of {t} and why it matters today.",
    "What are common misconceptions about {t}? Discuss them.",
]
PARAPHRASE = "Paraphrase the following text. Keep its meaning but use different words.\n\n{text}"


def prompts(n: int) -> list[str]:
    """n varied prompts: topics first vary fastest, so a small n still covers many topics."""
    out = [form.format(t=t) for form in FORMS for t in TOPICS]
    while len(out) < n:
        out += [f"{p} Give one concrete example." for p in out[: n - len(out)]]
    return out[:n]


class NoEOS:
    """Suppress end-of-sequence so every generation has exactly max_new_tokens tokens."""

    def __init__(self, eos_ids: list[int]) -> None:
        self.eos = eos_ids

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        scores[:, self.eos] = -float("inf")
        return scores


def hf_generate(model: BundledModel, texts: list[str], n_new: int, temperature: float, seed: int, wcfg: Any):
    """The engine's generate, but with transformers' own `watermarking_config` (its KGW)."""
    import torch
    from transformers import LogitsProcessorList

    chats = [model.chat_text(t) for t in texts]
    enc = model.tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = model.model.generate(
            **enc,
            max_new_tokens=n_new,
            do_sample=True,
            temperature=temperature,
            top_k=0,
            pad_token_id=model.tokenizer.pad_token_id,
            eos_token_id=model.eos_ids,
            logits_processor=LogitsProcessorList([NoEOS(model.eos_ids)]),
            watermarking_config=wcfg,
        )
    rows = out[:, enc["input_ids"].shape[1] :]
    return [model.tokenizer.decode(r, skip_special_tokens=True) for r in rows]


def generate(model: BundledModel, texts: list[str], n_new: int, batch: int, temperature: float, procs, seed):
    out: list[str] = []
    for i in range(0, len(texts), batch):
        gens = model.generate(
            texts[i : i + batch], n_new, temperature=temperature, seed=seed + i, logits_processors=procs
        )
        out += [g.text for g in gens]
    return out


def substitute(text: str, tok: Any, frac: float, rng: np.random.Generator, vocab: int) -> str:
    """Replace `frac` of the tokens with random vocabulary tokens (an adversary who edits blindly)."""
    ids = encode_text(text, tok)[0].copy()
    pos = rng.choice(ids.size, size=int(round(frac * ids.size)), replace=False)
    ids[pos] = rng.integers(100, vocab, size=pos.size)  # skip the special tokens at the start
    return tok.decode(ids.tolist(), skip_special_tokens=True)


def rate(zs: list[float], threshold: float) -> float:
    return float(np.mean(np.asarray(zs) >= threshold)) if zs else float("nan")


def timed_generate(model, texts, n_new, temperature, procs, seed) -> float:
    start = time.perf_counter()
    model.generate(texts, n_new, temperature=temperature, seed=seed, logits_processors=procs)
    return time.perf_counter() - start


def slowdown(model, params, key, batch: int, n_new: int, rounds: int, temperature: float) -> dict[str, float]:
    """ABBA timing of plain vs watermarked generation, plus the processor's own time per step."""
    from assay.provenance.text_processor import WatermarkLogitsProcessor

    texts = prompts(batch)
    noeos = NoEOS(model.eos_ids)
    proc = WatermarkLogitsProcessor(params, key)
    spent = [0.0, 0]

    def timed_proc(ids, scores):
        t = time.perf_counter()
        out = proc(ids, scores)
        spent[0] += time.perf_counter() - t
        spent[1] += 1
        return out

    timed_generate(model, texts, 8, temperature, [noeos], 0)  # warm-up
    plain, marked = [], []
    for r in range(rounds):
        order = ("plain", "wm", "wm", "plain") if r % 2 == 0 else ("wm", "plain", "plain", "wm")
        for which in order:
            procs = [noeos] if which == "plain" else [noeos, timed_proc]
            (plain if which == "plain" else marked).append(
                timed_generate(model, texts, n_new, temperature, procs, 1000 + r)
            )
    p, m = statistics.median(plain), statistics.median(marked)
    step_s = p / n_new
    return {
        "batch": batch,
        "plain_s": p,
        "watermarked_s": m,
        "slowdown": m / p - 1.0,
        "processor_ms_per_step": 1e3 * spent[0] / max(spent[1], 1),
        "processor_share": (spent[0] / max(spent[1], 1)) / step_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="16 texts of each kind, short timing runs")
    ap.add_argument("--n", type=int, default=100, help="watermarked and unwatermarked texts each")
    ap.add_argument("--paraphrase-n", type=int, default=50)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--no-hf", action="store_true", help="skip transformers' WatermarkingConfig")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--cache", help="keep generations in this JSON file (default: under /tmp)")
    ap.add_argument("--threads", type=int, help="torch threads (default: the engine's own rule)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.paraphrase_n = 16, 8

    t0 = time.perf_counter()
    model = BundledModel.load(threads=args.threads)
    tok = load_bundled_tokenizer()
    vocab = tok.get_vocab_size()
    key = WatermarkKey.from_secret(hashlib.sha256(b"assay bench text watermark").digest())
    params = WatermarkParams(key_id=key.key_id)
    from assay.provenance.text_processor import WatermarkLogitsProcessor

    noeos = NoEOS(model.eos_ids)
    texts = prompts(args.n)
    res: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "n": args.n,
        "tokens": args.tokens,
        "temperature": args.temperature,
        "params": params.model_dump(),
    }

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    cache_file = Path(
        args.cache or f"/tmp/assay-bench-text-wm-{args.n}-{args.tokens}-{args.temperature}.json"
    )
    cache: dict[str, list[str]] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}

    def cached(name: str, make: Any) -> list[str]:
        """Generations are slow on 2 cores: keep them, so a rerun only re-measures."""
        if name not in cache:
            cache[name] = make()
            cache_file.write_text(json.dumps(cache))
        return cache[name]

    log(f"generating {args.n} watermarked and {args.n} plain texts of {args.tokens} tokens")
    wm = WatermarkLogitsProcessor(params, key)
    marked = cached(
        "marked", lambda: generate(model, texts, args.tokens, args.batch, args.temperature, [noeos, wm], 1)
    )
    log("watermarked done")
    plain = cached(
        "plain", lambda: generate(model, texts, args.tokens, args.batch, args.temperature, [noeos], 50_000)
    )

    def z_of(text: str) -> float:
        return detect_text(text, tok, key, params).z_score

    z_marked = [z_of(t) for t in marked]
    z_plain = [z_of(t) for t in plain]
    cal = calibrate_z_scores(z_plain, key, params, target_fpr=0.01, source="SmolLM2-135M-Instruct")
    thr = cal.z_threshold
    # Out of sample: calibrate on one half of the plain texts, measure the FPR on the other half.
    half = len(z_plain) // 2
    cv_fp = []
    for a, b in ((z_plain[:half], z_plain[half:]), (z_plain[half:], z_plain[:half])):
        if len(a) >= 10:
            cv_fp.append(rate(b, calibrate_z_scores(a, key, params, target_fpr=0.01).z_threshold))
    rng = np.random.default_rng(7)
    z_sub = [z_of(substitute(t, tok, 0.2, rng, vocab)) for t in marked]
    res["assay"] = {
        "threshold_calibrated": thr,
        "calibration": cal.statement(),
        "fpr_calibrated_in_sample": rate(z_plain, thr),
        "fpr_calibrated_2fold": float(np.mean(cv_fp)) if cv_fp else None,
        "tpr_calibrated": rate(z_marked, thr),
        "fpr_z4": rate(z_plain, 4.0),
        "tpr_z4": rate(z_marked, 4.0),
        "tpr_sub20_calibrated": rate(z_sub, thr),
        "tpr_sub20_z4": rate(z_sub, 4.0),
        "z_marked_median": statistics.median(z_marked),
        "z_marked_min": min(z_marked),
        "z_plain_median": statistics.median(z_plain),
        "z_plain_max": max(z_plain),
        "z_sub20_median": statistics.median(z_sub),
    }
    log(f"assay: {json.dumps(res['assay'])}")

    log(f"paraphrasing {args.paraphrase_n} watermarked texts with the same model (no watermark)")
    para_in = [PARAPHRASE.format(text=t) for t in marked[: args.paraphrase_n]]
    para = cached(
        f"para{args.paraphrase_n}",
        lambda: generate(model, para_in, args.tokens, args.batch, args.temperature, None, 90_000),
    )
    z_para = [z_of(t) for t in para]
    n_short = sum(detect_text(t, tok, key, params).verdict == "too short to tell" for t in para)
    res["assay"].update(
        {
            "paraphrase_n": len(para),
            "tpr_paraphrase_calibrated": rate(z_para, thr),
            "tpr_paraphrase_z4": rate(z_para, 4.0),
            "z_paraphrase_median": statistics.median(z_para),
            "paraphrase_too_short": n_short,
        }
    )

    # Detection throughput after tokenisation, on the real token ids.
    ids = [encode_text(t, tok)[0] for t in marked + plain]
    n_tok = sum(a.size for a in ids)
    reps = max(1, 2_000_000 // n_tok)
    start = time.perf_counter()
    for _ in range(reps):
        for a in ids:
            score_token_ids(a, key, params)
    per_text = reps * n_tok / (time.perf_counter() - start)
    big = np.concatenate(ids * reps)
    start = time.perf_counter()
    score_token_ids(big, key, params)
    one_array = big.size / (time.perf_counter() - start)
    start = time.perf_counter()
    tok.encode_batch(marked + plain, add_special_tokens=False)
    tokenise = n_tok / (time.perf_counter() - start)
    res["throughput"] = {
        "per_text_tok_s": per_text,
        "one_array_tok_s": one_array,
        "tokenise_tok_s": tokenise,
        "text_tokens": int(n_tok),
    }
    log(f"throughput: {json.dumps(res['throughput'])}")

    if not args.no_hf:
        from transformers import WatermarkDetector, WatermarkingConfig

        log(f"transformers' KGW on the same {args.n} prompts")
        wcfg = WatermarkingConfig(greenlist_ratio=params.gamma, bias=params.delta, context_width=1)

        def hf_all() -> list[str]:
            out: list[str] = []
            for i in range(0, len(texts), args.batch):
                out += hf_generate(
                    model, texts[i : i + args.batch], args.tokens, args.temperature, 1 + i, wcfg
                )
            return out

        hf_marked = cached("hf_marked", hf_all)
        det = WatermarkDetector(model.model.config, "cpu", wcfg, ignore_repeated_ngrams=True)

        def hf_z(text: str) -> float:
            import torch

            a = encode_text(text, tok)[0]
            if a.size < 2:
                return 0.0
            return float(det(torch.as_tensor(a).reshape(1, -1), return_dict=True).z_score[0])

        start = time.perf_counter()
        hz_marked = [hf_z(t) for t in hf_marked]
        hf_rate = sum(encode_text(t, tok)[0].size for t in hf_marked) / (time.perf_counter() - start)
        hz_plain = [hf_z(t) for t in plain]
        hcal = calibrate_z_scores(hz_plain, key, params, target_fpr=0.01)
        rng = np.random.default_rng(7)
        hz_sub = [hf_z(substitute(t, tok, 0.2, rng, vocab)) for t in hf_marked]
        res["transformers"] = {
            "threshold_calibrated": hcal.z_threshold,
            "fpr_calibrated_in_sample": rate(hz_plain, hcal.z_threshold),
            "tpr_calibrated": rate(hz_marked, hcal.z_threshold),
            "fpr_z4": rate(hz_plain, 4.0),
            "tpr_z4": rate(hz_marked, 4.0),
            "tpr_sub20_calibrated": rate(hz_sub, hcal.z_threshold),
            "tpr_sub20_z4": rate(hz_sub, 4.0),
            "z_marked_median": statistics.median(hz_marked),
            "z_plain_median": statistics.median(hz_plain),
            "detect_tok_s": hf_rate,
        }
        log(f"transformers: {json.dumps(res['transformers'])}")

    rounds, n_new = (1, 16) if args.quick else (2, 64)
    log(f"generation slowdown (ABBA x{rounds}, {n_new} tokens)")
    res["slowdown"] = [
        slowdown(model, params, key, b, n_new, rounds, args.temperature) for b in (1, args.batch)
    ]
    log(f"slowdown: {json.dumps(res['slowdown'])}")
    res["wall_s"] = time.perf_counter() - t0
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    print(json.dumps(res, indent=2))
    print("\nsample watermarked text:\n" + marked[0][:400])
    print("\nsample paraphrase:\n" + para[0][:400])
    return 0


if __name__ == "__main__":
    sys.exit(main())
