"""The text watermark: keyed green lists, the logits processor, detection, calibration and keys."""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path

import numpy as np
import pytest

from assay.provenance import keys as wkeys
from assay.provenance.keys import KeyInvalid, KeyNotFound, WatermarkKey
from assay.provenance.text_watermark import (
    Calibration,
    WatermarkParams,
    calibrate,
    calibrate_z_scores,
    detect_text,
    green_list,
    green_masks,
    is_green,
    load_calibration,
    save_calibration,
    score_token_ids,
)
from assay.workspace import Workspace

V = 1000
KEY = WatermarkKey.from_secret(bytes(range(32)))
OTHER = WatermarkKey.from_secret(bytes(range(1, 33)))
P = WatermarkParams()


def _word_tokenizer():  # a tiny tokenizer: "w0" … "w999", split on spaces
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(V)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def _green_sequence(n: int, key: WatermarkKey, params: WatermarkParams, seed: int = 0) -> list[int]:
    """A sequence where each token is green given the previous one (a perfectly watermarked text)."""
    rng = np.random.default_rng(seed)
    ids = [int(t) for t in rng.integers(V, size=params.context_width)]
    while len(ids) < n:
        greens = np.flatnonzero(green_list(ids[-params.context_width :], key, params, V))
        ids.append(int(rng.choice(greens)))
    return ids


def test_green_list_is_deterministic_keyed_and_of_size_gamma() -> None:
    a = green_list([17], KEY, P, 50_000)
    assert np.array_equal(a, green_list([17], KEY, P, 50_000))
    assert not np.array_equal(a, green_list([17], OTHER, P, 50_000))  # another key
    assert not np.array_equal(a, green_list([18], KEY, P, 50_000))  # another context
    assert abs(a.mean() - 0.25) < 0.01
    masks = green_masks(np.arange(200).reshape(-1, 1), KEY, P.model_copy(update={"gamma": 0.5}), 5_000)
    assert abs(masks.mean() - 0.5) < 0.005
    # membership of one token agrees with the whole list
    assert all(is_green([17], t, KEY, P) == a[t] for t in range(0, 50_000, 997))


def test_hash_is_the_same_across_calls_and_dtypes() -> None:
    ids = np.random.default_rng(1).integers(0, 49_152, 500)
    ref = score_token_ids(ids, KEY, P)
    for variant in (ids.astype(np.int32), ids.astype(np.uint32), ids.astype(np.uint64), ids.tolist()):
        s = score_token_ids(variant, KEY, P)
        assert np.array_equal(s.green, ref.green) and s.z == ref.z
    torch = pytest.importorskip("torch")
    assert np.array_equal(score_token_ids(torch.tensor(ids), KEY, P).green, ref.green)
    # a golden vector: scheme v1 must give these green tokens on every machine and numpy version
    bits = "".join("1" if g else "0" for g in score_token_ids(list(range(64)), KEY, P).green)
    assert bits == "0010011000100100100010100010110100110000011110100011101000000010"
    assert KEY.key_id == "wm-973dce56e52179b5"


def test_context_width_two_uses_both_tokens() -> None:
    p2 = P.model_copy(update={"context_width": 2})
    assert not np.array_equal(green_list([3, 17], KEY, p2, 5_000), green_list([4, 17], KEY, p2, 5_000))
    s = score_token_ids(_green_sequence(200, KEY, p2), KEY, p2)
    assert s.z > 10 and not s.green[:2].any()


def test_processor_adds_exactly_delta_to_green_logits() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from assay.provenance.text_processor import WatermarkLogitsProcessor

    proc = WatermarkLogitsProcessor(P, KEY)
    input_ids = torch.randint(0, V, (4, 7))
    scores = torch.randn(4, V)
    out = proc(input_ids, scores.clone())
    green = np.stack([green_list([int(row[-1])], KEY, P, V) for row in input_ids])
    g = torch.from_numpy(green)
    assert torch.equal(out[g], scores[g] + P.delta)
    assert torch.equal(out[~g], scores[~g])
    assert torch.equal(proc(input_ids, scores.clone()), out)  # cached path: same answer
    assert proc.identity()["key_id"] == KEY.key_id and "secret" not in json.dumps(proc.identity())
    with pytest.raises(ValueError):
        WatermarkLogitsProcessor(P.model_copy(update={"key_id": OTHER.key_id}), KEY)


def test_green_text_scores_high_and_random_text_near_zero() -> None:
    tok = _word_tokenizer()
    text = " ".join(f"w{i}" for i in _green_sequence(200, KEY, P))
    det = detect_text(text, tok, KEY, P)
    assert det.verdict == "watermarked" and det.z_score > 10 and det.n_green == det.n_scored
    assert det.green_mask[0] is False and det.tokens[1].startswith("w") and len(det.offsets) == det.n_tokens
    # the same text under another key is not watermarked
    assert detect_text(text, tok, OTHER, P).verdict == "not watermarked"
    rng = np.random.default_rng(2)
    zs = [score_token_ids(rng.integers(0, 49_152, 300), KEY, P).z for _ in range(200)]
    assert abs(float(np.mean(zs))) < 0.3 and 0.8 < float(np.std(zs)) < 1.2


def test_repeated_ngrams_are_counted_once() -> None:
    green_pair = _green_sequence(2, KEY, P, seed=5)
    s = score_token_ids(green_pair * 100, KEY, P)  # a loop of two tokens: at most 2 distinct bigrams
    assert s.n_scored <= 2 and s.n_green <= 2
    tok = _word_tokenizer()
    det = detect_text(" ".join(f"w{i}" for i in green_pair * 100), tok, KEY, P)
    assert det.verdict == "too short to tell" and any("repeated" in n for n in det.notes)


def test_too_short_and_empty_text() -> None:
    tok = _word_tokenizer()
    short = " ".join(f"w{i}" for i in _green_sequence(20, KEY, P))
    assert detect_text(short, tok, KEY, P).verdict == "too short to tell"
    for text in ("", "\u200b\u200b\ufe0f"):
        det = detect_text(text, tok, KEY, P)
        assert det.verdict == "too short to tell" and det.z_score == 0.0


def test_calibration_threshold_and_statement(tmp_path: Path) -> None:
    zs = list(np.random.default_rng(3).normal(0, 1, 400))
    cal = calibrate_z_scores(zs, KEY, P, target_fpr=0.01, source="test")
    assert cal.empirical_fpr <= 0.01 and cal.z_threshold >= 2.32
    assert "empirical FPR" in cal.statement() and "400" in cal.statement()
    tok = _word_tokenizer()
    rng = np.random.default_rng(4)
    texts = [" ".join(f"w{i}" for i in rng.integers(0, V, 120)) for _ in range(50)]
    cal = calibrate(texts, tok, KEY, P, target_fpr=0.05)
    assert cal.n_used == 50 and cal.matches(KEY, P) and not cal.matches(OTHER, P)
    ws = Workspace(tmp_path / ".assay")
    save_calibration(ws, cal)
    assert load_calibration(ws, KEY.key_id) == cal
    text = " ".join(f"w{i}" for i in _green_sequence(100, KEY, P))
    det = detect_text(text, tok, KEY, P, calibration=cal)
    assert det.threshold_source == "calibrated" and det.false_positive_rate == 0.05
    det = detect_text(text, tok, OTHER, P, calibration=cal)  # wrong key: ignored, said so
    assert det.threshold_source == "theoretical" and det.notes
    assert isinstance(Calibration.model_validate_json(cal.model_dump_json()), Calibration)


def test_keys_are_0600_listed_and_never_in_outputs(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".assay")
    with pytest.raises(KeyNotFound):
        wkeys.load_text_key(ws)
    key = wkeys.create_text_key(ws)
    path = wkeys.key_path(ws, key.key_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert wkeys.load_text_key(ws) == key == wkeys.load_text_key(ws, key.key_id)
    assert [i.key_id for i in wkeys.list_keys(ws)] == [key.key_id]
    secret_hex = key.secret_bytes().hex()
    assert secret_hex not in repr(key) and secret_hex not in key.model_dump_json()
    det = detect_text("w1 w2 w3", _word_tokenizer(), key, P)
    dumped = det.model_dump_json()
    assert key.key_id in dumped and secret_hex not in dumped
    assert key.secret_bytes().hex()[:16] not in dumped
    with pytest.raises(KeyNotFound):
        wkeys.load_text_key(ws, "../../etc/passwd")
    doc = json.loads(path.read_text())
    doc["secret_hex"] = "00" * 32  # an edited secret no longer matches its id
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyInvalid):
        wkeys.load_text_key(ws, key.key_id)


def _bundled_or_skip():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from assay.evals.bundled.engine import ModelUnavailable, find_gguf

    try:
        find_gguf()
    except ModelUnavailable as exc:
        pytest.skip(f"bundled model not installed: {exc}")


@pytest.mark.slow
def test_bundled_model_watermark_is_detected() -> None:
    _bundled_or_skip()
    from assay.evals.bundled.engine import BundledModel
    from assay.provenance.text_watermark import generate_watermarked, load_bundled_tokenizer

    model = BundledModel.load()
    tok = load_bundled_tokenizer()
    prompts = [
        "Describe how a bicycle works.",
        "Write a short story about a lighthouse keeper.",
        "Explain photosynthesis to a child.",
        "What are good habits for studying?",
    ]
    marked = generate_watermarked(prompts, P, KEY, 60, model=model, seed=1)
    plain = model.generate(prompts, 60, temperature=0.7, seed=1)
    z_marked = [detect_text(g.text, tok, KEY, P).z_score for g in marked]
    dets_plain = [detect_text(g.text, tok, KEY, P) for g in plain]
    assert sum(z >= P.z_threshold for z in z_marked) >= 3, z_marked
    assert not any(d.watermarked for d in dets_plain), [d.z_score for d in dets_plain]
    assert min(z_marked) > float(np.mean([d.z_score for d in dets_plain]))


# --- windowed detection: a marked passage inside a longer text --------------------------------------


def _partly_green(n: int, rate: float, seed: int, start: int | None = None) -> list[int]:
    """Each token green (given the previous one) with probability `rate`, else any token: a realistic
    mark strength (generated text at δ = 2 has about half its tokens green)."""
    rng = np.random.default_rng(seed)
    ids = [int(rng.integers(V)) if start is None else start]
    while len(ids) < n:
        mask = green_list(ids[-1:], KEY, P, V)
        pool = np.flatnonzero(mask) if rng.random() < rate else np.arange(V)
        ids.append(int(rng.choice(pool)))
    return ids


def _words(ids: list[int]) -> str:
    return " ".join(f"w{i}" for i in ids)


def test_a_marked_passage_inside_unmarked_text_is_found_at_its_offsets() -> None:
    tok = _word_tokenizer()
    edge_errors, span_only = [], 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        before = [int(t) for t in rng.integers(V, size=int(rng.integers(600, 1000)))]
        marked = _partly_green(180, 0.35, seed, start=before[-1])[1:]  # continues the text's last token
        after = [int(t) for t in rng.integers(V, size=600)]
        text = _words(before + marked + after)
        det = detect_text(text, tok, KEY, P)
        search = det.span_search
        assert search is not None and search.found and det.watermarked, seed
        span = search.span
        assert span is not None and span.z_score > det.z_score + 3  # whole-text z is diluted
        span_only += det.detected_by == "span"
        lo, hi = len(before), len(before) + len(marked)  # the marked tokens' indices
        overlap = min(hi, span.token_end) - max(lo, span.token_start)
        assert overlap >= 0.6 * len(marked), (seed, span, lo, hi)
        edge_errors += [abs(span.token_start - lo), abs(span.token_end - hi)]
        # character offsets point into the input at the same tokens
        assert span.char_start == det.offsets[span.token_start][0]
        assert text[span.char_start : span.char_end].split() == det.tokens[span.token_start : span.token_end]
        assert search.p_adjusted is not None and search.p_adjusted <= search.alpha
        assert "Bonferroni" in det.fpr_statement and f"{search.n_windows} windows" in det.fpr_statement
        assert f"characters {span.char_start}–{span.char_end}" in det.summary()
    # diluted by ~1,300 unmarked tokens, the whole-text z mostly stays under the default threshold
    assert span_only >= 15
    # the edges are estimates (about half the marked tokens are green): most land within a few tokens
    assert float(np.median(edge_errors)) <= 8 and np.mean(np.asarray(edge_errors) <= 30) >= 0.85, edge_errors


def test_unmarked_long_texts_are_not_flagged_by_the_windowed_search() -> None:
    tok = _word_tokenizer()
    rng = np.random.default_rng(7)
    p_adj = []
    for _ in range(40):
        det = detect_text(_words([int(t) for t in rng.integers(V, size=1500)]), tok, KEY, P)
        assert det.span_search is not None and det.span_search.n_windows > 500
        assert not det.span_search.found and det.span_search.span is None and not det.watermarked
        p_adj.append(det.span_search.p_adjusted)
    # Bonferroni is conservative: adjusted p-values of unmarked text sit far above α = 0.001
    assert min(p_adj) > 0.01 and float(np.median(p_adj)) == 1.0
    # an unmarked looping text repeats n-grams, which are counted once, so no window lights up
    loop = [int(t) for t in rng.integers(V, size=40)] * 30
    det = detect_text(_words(loop), tok, KEY, P)
    assert det.span_search is not None and not det.span_search.found


def test_window_grid_and_the_bonferroni_count() -> None:
    from assay.provenance.text_span import binomial_tail, window_grid

    grid = window_grid(1000, 25)
    lengths = [length for length, _ in grid]
    assert lengths[0] == 25 and lengths[-1] < 1000 and bool(np.all(np.diff(lengths) > 0))
    for length, starts in grid:
        assert starts[0] == 0 and starts[-1] == 1000 - length  # the end is covered
        assert np.all(np.diff(starts) <= max(1, -(-length // 4)))
    # every passage of 50+ tokens is overlapped by some window of similar length covering 7/8 of it
    for lo, n in ((0, 50), (333, 200), (517, 71), (700, 300)):
        best = max(
            min(lo + n, s + length) - max(lo, s) for length, starts in grid if length <= n for s in starts
        )
        assert best >= 7 * n // 8, (lo, n, best)
    assert window_grid(25, 25) == [] and len(window_grid(26, 25)) == 1
    # exact binomial tail (checked against the closed form for small cases)
    assert binomial_tail(0, 10, 0.25) == 1.0 and binomial_tail(11, 10, 0.25) == 0.0
    assert math.isclose(binomial_tail(10, 10, 0.25), 0.25**10, rel_tol=1e-9)
    assert math.isclose(binomial_tail(9, 10, 0.25), 0.25**10 + 10 * 0.25**9 * 0.75, rel_tol=1e-9)
    assert 0.0 <= binomial_tail(900, 1000, 0.25) < 1e-300
    binom = pytest.importorskip("scipy.stats", reason="scipy cross-checks the larger tails").binom
    for length, k in ((25, 16), (300, 120), (1000, 330), (5000, 1400)):
        assert math.isclose(binomial_tail(k, length, 0.25), binom.sf(k - 1, length, 0.25), rel_tol=1e-8)


def test_the_windowed_search_can_be_switched_off_and_rejects_a_bad_alpha() -> None:
    tok = _word_tokenizer()
    rng = np.random.default_rng(11)
    before = [int(t) for t in rng.integers(V, size=800)]
    text = _words(before + _partly_green(150, 0.35, 1, start=before[-1])[1:] + before[:400])
    assert detect_text(text, tok, KEY, P).watermarked
    off = detect_text(text, tok, KEY, P, span_alpha=None)
    assert off.span_search is None and not off.watermarked and off.detected_by is None
    assert "Bonferroni" not in off.fpr_statement
    with pytest.raises(ValueError, match="alpha"):
        detect_text(text, tok, KEY, P, span_alpha=1.5)
    # a fully marked text is found by both tests; its span covers most of it
    full = detect_text(_words(_partly_green(300, 0.35, 2)), tok, KEY, P)
    assert full.detected_by == "both" and full.span_search and full.span_search.span
    assert full.span_search.span.token_end - full.span_search.span.token_start >= 200
