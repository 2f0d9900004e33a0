"""A keyed green-list watermark for generated text (the Kirchenbauer et al. 2023 "KGW" family).

At each generation step the secret key and the preceding `context_width` token ids select a fraction γ
of the vocabulary, the *green list*, whose logits get +δ before sampling. Text from the watermarked
model therefore holds more green tokens than chance; a detector that knows the key counts them and
reports a z-score, without the model, the prompt or torch.

Green-list membership is a keyed 64-bit hash (SplitMix64 finaliser arithmetic in numpy `uint64`) of
(key, context ids, candidate id), compared with ⌊γ·2^64⌋. It is O(1) per token, identical on every
machine (no RNG state, no device-dependent `torch.randperm`), and vectorises over a whole text, so
detection runs at tens of millions of tokens per second once the text is tokenised.

This module needs only numpy and pydantic (plus `tokenizers` to tokenise). The transformers logits
processor lives in `text_processor.py` and is re-exported here lazily, so `assay verify` never imports
torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assay.provenance.keys import WatermarkKey, calibration_path
from assay.provenance.text_span import SpanSearch, find_marked_span

if TYPE_CHECKING:
    from assay.evals.bundled.engine import BundledModel, Generation, Prompt
    from assay.provenance.text_processor import WatermarkLogitsProcessor
    from assay.workspace import Workspace

__all__ = [
    "SCHEME",
    "SCHEME_VERSION",
    "Calibration",
    "SpanSearch",
    "TextDetection",
    "TokenScoring",
    "WatermarkKey",
    "WatermarkLogitsProcessor",
    "WatermarkParams",
    "calibrate",
    "calibrate_z_scores",
    "detect_text",
    "encode_text",
    "generate_watermarked",
    "green_list",
    "green_masks",
    "green_threshold",
    "is_green",
    "load_bundled_tokenizer",
    "load_calibration",
    "save_calibration",
    "score_token_ids",
    "z_for_fpr",
]

SCHEME = "assay-kgw-splitmix64"
SCHEME_VERSION = 1
Verdict = Literal["watermarked", "not watermarked", "too short to tell"]


class WatermarkParams(BaseModel):
    """Settings of the watermark (embedding and detection). Recorded with every marked output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gamma: float = Field(0.25, gt=0.0, lt=1.0, description="fraction of the vocabulary that is green")
    delta: float = Field(2.0, ge=0.0, description="logit bias added to green tokens (before temperature)")
    context_width: int = Field(1, ge=1, le=8, description="preceding tokens that seed the green list")
    key_id: str | None = Field(None, description="id of the key (never the key itself)")
    scheme: Literal["assay-kgw-splitmix64"] = SCHEME
    scheme_version: Literal[1] = SCHEME_VERSION
    z_threshold: float = Field(4.0, description="detection threshold when no calibration is given")
    min_scored_tokens: int = Field(25, ge=1, description="below this many scored tokens: too short to tell")


# --- the keyed hash -------------------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a fresh uint64 array (a bijection with full avalanche)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


@lru_cache(maxsize=64)
def _words(secret: bytes, version: int) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Four 64-bit words derived from the key (little-endian on every platform)."""
    digest = hashlib.sha256(f"{SCHEME}/v{version}\x00".encode() + secret).digest()
    w = np.frombuffer(digest, dtype="<u8").astype(np.uint64)
    return w[0], w[1], w[2], w[3]


def key_words(key: WatermarkKey, params: WatermarkParams | None = None) -> tuple[np.uint64, ...]:
    return _words(key.secret_bytes(), (params or WatermarkParams()).scheme_version)


def green_threshold(gamma: float) -> np.uint64:
    """A hash below ⌊γ·2^64⌋ is green: exactly γ of the 2^64 hash values."""
    return np.uint64(min(int(gamma * 2.0**64), 2**64 - 1))


def _as_ids(ids: Any) -> np.ndarray:
    """Token ids (list, numpy array of any integer dtype, CPU torch tensor) as uint64."""
    if hasattr(ids, "detach"):  # a torch tensor
        ids = ids.detach().cpu().numpy()
    arr = np.asarray(ids)
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.uint64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"token ids must be integers, got {arr.dtype}")
    if arr.dtype.kind == "i" and (arr < 0).any():
        raise ValueError("token ids must be non-negative")
    return arr.astype(np.uint64)


def _context_seeds(contexts: np.ndarray, w: tuple[np.uint64, ...]) -> np.ndarray:
    """One seed per context row (`contexts[..., j]`, oldest token first)."""
    seeds = np.full(contexts.shape[:-1], w[0], dtype=np.uint64)
    for j in range(contexts.shape[-1]):
        seeds ^= contexts[..., j] + w[1]
        _mix(seeds)
    return seeds


def _candidate_part(tokens: np.ndarray, w: tuple[np.uint64, ...]) -> np.ndarray:
    return _mix(tokens + w[2])


def _green_hash(seeds: np.ndarray, cand: np.ndarray, w: tuple[np.uint64, ...]) -> np.ndarray:
    z = seeds ^ cand
    z += w[3]
    return _mix(z)


def is_green(context: Sequence[int], token: int, key: WatermarkKey, params: WatermarkParams) -> bool:
    """Whether `token` is green after `context` (its last `context_width` ids are used)."""
    h = params.context_width
    if len(context) < h:
        raise ValueError(f"need {h} context token(s), got {len(context)}")
    w = key_words(key, params)
    ctx = _as_ids(list(context)[-h:]).reshape(1, h)
    g = _green_hash(_context_seeds(ctx, w), _candidate_part(_as_ids([token]), w), w)
    return bool(g[0] < green_threshold(params.gamma))


def green_masks(
    contexts: Any,
    key: WatermarkKey,
    params: WatermarkParams,
    vocab_size: int,
    *,
    cand: np.ndarray | None = None,
) -> np.ndarray:
    """Green lists for a batch of contexts (shape (B, context_width)) as a (B, vocab_size) bool array."""
    w = key_words(key, params)
    ctx = _as_ids(contexts).reshape(-1, params.context_width)
    if cand is None:
        cand = _candidate_part(np.arange(vocab_size, dtype=np.uint64), w)
    seeds = _context_seeds(ctx, w)
    return _green_hash(seeds[:, None], cand[None, :], w) < green_threshold(params.gamma)


def green_list(
    context: Sequence[int], key: WatermarkKey, params: WatermarkParams, vocab_size: int
) -> np.ndarray:
    """The green list after `context` as a bool mask over the vocabulary."""
    h = params.context_width
    return green_masks([list(context)[-h:]], key, params, vocab_size)[0]


# --- scoring and detection -------------------------------------------------------------------------


class TokenScoring(NamedTuple):
    """Per-token arrays and the test statistic for one token sequence."""

    green: np.ndarray  # bool per token; False for the first context_width tokens (no context)
    scored: np.ndarray  # bool per token: has a context and is the first occurrence of its n-gram
    n_scored: int
    n_green: int
    z: float
    p: float


def z_for_fpr(fpr: float) -> float:
    """The one-sided normal threshold whose tail probability is `fpr`."""
    return statistics.NormalDist().inv_cdf(1.0 - fpr)


def _p_value(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _z(n_green: int, n: int, gamma: float) -> float:
    if n == 0:
        return 0.0
    return (n_green - gamma * n) / math.sqrt(n * gamma * (1.0 - gamma))


def score_token_ids(ids: Any, key: WatermarkKey, params: WatermarkParams) -> TokenScoring:
    """Score a token sequence: green tokens given their context, each (context, token) n-gram once.

    Counting a repeated n-gram once keeps repetitive text (lists, loops, boilerplate) from inflating the
    z-score: repeats are not independent draws, so without this a looping unwatermarked text whose
    one n-gram happens to be green would be flagged.
    """
    arr = _as_ids(ids).ravel()
    n, h = arr.size, params.context_width
    green = np.zeros(n, dtype=bool)
    scored = np.zeros(n, dtype=bool)
    if n <= h:
        return TokenScoring(green, scored, 0, 0, 0.0, 1.0)
    w = key_words(key, params)
    seeds = np.full(n - h, w[0], dtype=np.uint64)
    for j in range(h):
        seeds ^= arr[j : n - h + j] + w[1]
        _mix(seeds)
    g = _green_hash(seeds, _candidate_part(arr[h:], w), w)
    green[h:] = g < green_threshold(params.gamma)
    # The hash is a 64-bit fingerprint of (key, context, token): equal hashes are the same n-gram
    # (a chance collision among distinct n-grams has probability ~n²/2^65).
    _, first = np.unique(g, return_index=True)
    scored[first + h] = True
    n_scored = int(first.size)
    n_green = int(np.count_nonzero(green & scored))
    z = _z(n_green, n_scored, params.gamma)
    return TokenScoring(green, scored, n_scored, n_green, z, _p_value(z))


class TextDetection(BaseModel):
    """The detector's answer for one text, with per-token highlighting. Holds the key id, never the key."""

    verdict: Verdict
    watermarked: bool
    z_score: float
    p_value: float = Field(description="one-sided p-value of the z-score under 'not watermarked'")
    z_threshold: float
    false_positive_rate: float = Field(description="the rate of unwatermarked texts the threshold flags")
    fpr_statement: str
    threshold_source: Literal["theoretical", "calibrated"]
    n_tokens: int
    n_scored: int
    n_green: int
    green_fraction: float
    min_scored_tokens: int
    key_id: str
    params: WatermarkParams
    tokens: list[str] = Field(description="each token's text (a slice of the input)")
    offsets: list[tuple[int, int]] = Field(description="each token's [start, end) character span")
    green_mask: list[bool]
    scored_mask: list[bool] = Field(description="False for tokens without context and repeated n-grams")
    detected_by: Literal["whole text", "span", "both"] | None = Field(
        None, description="which test flagged the text: the whole-text z, the windowed search, or both"
    )
    span_search: SpanSearch | None = Field(
        None, description="the windowed search for a marked passage (None when it was switched off)"
    )
    notes: list[str] = []

    def summary(self) -> str:
        """One line a person can read."""
        if self.verdict == "too short to tell":
            return (
                f"too short to tell: {self.n_scored} scored tokens, at least {self.min_scored_tokens} needed "
                f"(key {self.key_id})"
            )
        where = ""
        span = self.span_search.span if self.span_search is not None else None
        if span is not None:
            where = (
                f"; marked span at characters {span.char_start}–{span.char_end} "
                f"(tokens {span.token_start}–{span.token_end}, z = {span.z_score:.2f} there, "
                f"Bonferroni-adjusted p = {self.span_search.p_adjusted:.2g})"  # type: ignore[union-attr]
            )
        return (
            f"{self.verdict}: z = {self.z_score:.2f} (threshold {self.z_threshold:.2f}), "
            f"{self.n_green}/{self.n_scored} green tokens (γ = {self.params.gamma:g}), "
            f"p = {self.p_value:.2g}{where}; {self.fpr_statement} (key {self.key_id})"
        )


def encode_text(text: str, tokenizer: Any) -> tuple[np.ndarray, list[str], list[tuple[int, int]]]:
    """Token ids, token texts and character offsets, without special tokens.

    Accepts a `tokenizers.Tokenizer` or a transformers fast tokenizer (its Rust backend is used).
    """
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if hasattr(backend, "encode") and hasattr(backend, "encode_batch"):
        enc = backend.encode(text, add_special_tokens=False)
        ids, offsets = enc.ids, [tuple(o) for o in enc.offsets]
    else:  # a slow transformers tokenizer: ids only
        ids = tokenizer.encode(text, add_special_tokens=False)
        offsets = [(0, 0)] * len(ids)
    return (
        np.asarray(ids, dtype=np.int64),
        [text[a:b] for a, b in offsets],
        [(int(a), int(b)) for a, b in offsets],
    )


def detect_text(
    text: str,
    tokenizer: Any,
    key: WatermarkKey,
    params: WatermarkParams | None = None,
    *,
    calibration: Calibration | None = None,
    span_alpha: float | None = 0.001,
) -> TextDetection:
    """Detect the watermark of `key` in `text` from the text alone (tokenizer + numpy).

    Two tests: the whole-text z-score against its threshold, and (unless `span_alpha` is None) a
    windowed search for a marked passage at family-wise false-positive rate `span_alpha`
    (`text_span.py`). The text is "watermarked" when either passes, so on unwatermarked text the
    false-positive rate is at most the threshold's rate plus `span_alpha` (union bound).
    """
    params = (params or WatermarkParams()).model_copy(update={"key_id": key.key_id})
    ids, tokens, offsets = encode_text(text, tokenizer)
    s = score_token_ids(ids, key, params)
    notes: list[str] = []
    if calibration is not None and not calibration.matches(key, params):
        notes.append(
            "the calibration given was made for another key or other settings; "
            "the theoretical threshold is used instead"
        )
        calibration = None
    if calibration is not None:
        threshold, fpr, source = calibration.z_threshold, calibration.target_fpr, "calibrated"
        statement = calibration.statement()
    else:
        threshold, source = params.z_threshold, "theoretical"
        fpr = _p_value(threshold)
        statement = (
            f"uncalibrated: at z ≥ {threshold:.2f} the theoretical false-positive rate is {fpr:.1e} "
            "(assumes unwatermarked text is green at rate γ, independently per token)"
        )
    n_dup = int(np.count_nonzero(~s.scored[params.context_width :]))
    if n_dup:
        notes.append(f"{n_dup} repeated (context, token) n-gram(s) not counted")
    search = None
    if span_alpha is not None:
        search = find_marked_span(
            s.green, s.scored, offsets, params.gamma, min_window=params.min_scored_tokens, alpha=span_alpha
        )
        statement += (
            f"; {search.statement()}; either test can flag the text, so together the false-positive "
            f"rate is at most {fpr + span_alpha:.2g}"
        )
    by_whole = s.n_scored >= params.min_scored_tokens and s.z >= threshold
    by_span = search is not None and search.found
    detected_by: Literal["whole text", "span", "both"] | None = (
        "both" if by_whole and by_span else "whole text" if by_whole else "span" if by_span else None
    )
    if s.n_scored < params.min_scored_tokens:
        verdict: Verdict = "too short to tell"
    else:
        verdict = "watermarked" if detected_by else "not watermarked"
    return TextDetection(
        verdict=verdict,
        watermarked=verdict == "watermarked",
        z_score=round(s.z, 4),
        p_value=s.p,
        z_threshold=threshold,
        false_positive_rate=fpr,
        fpr_statement=statement,
        threshold_source=source,
        n_tokens=int(ids.size),
        n_scored=s.n_scored,
        n_green=s.n_green,
        green_fraction=round(s.n_green / s.n_scored, 4) if s.n_scored else 0.0,
        min_scored_tokens=params.min_scored_tokens,
        key_id=key.key_id,
        params=params,
        tokens=tokens,
        offsets=offsets,
        green_mask=s.green.tolist(),
        scored_mask=s.scored.tolist(),
        detected_by=detected_by,
        span_search=search,
        notes=notes,
    )


# --- calibration ----------------------------------------------------------------------------------


class Calibration(BaseModel):
    """A detection threshold chosen on unwatermarked text of the same model, for a target FPR."""

    key_id: str
    scheme: str = SCHEME
    scheme_version: int = SCHEME_VERSION
    gamma: float
    context_width: int
    min_scored_tokens: int
    target_fpr: float
    z_threshold: float
    n_texts: int = Field(description="texts given")
    n_used: int = Field(description="texts long enough to score")
    n_false_positives: int
    empirical_fpr: float
    theoretical_p: float = Field(description="normal tail probability at the threshold")
    z_mean: float
    z_std: float
    z_max: float
    source: str = Field("", description="what the texts were, e.g. the model's name")
    created: str = ""

    def matches(self, key: WatermarkKey, params: WatermarkParams) -> bool:
        return (
            self.key_id == key.key_id
            and self.scheme == params.scheme
            and self.scheme_version == params.scheme_version
            and math.isclose(self.gamma, params.gamma)
            and self.context_width == params.context_width
        )

    def statement(self) -> str:
        src = f" of {self.source}" if self.source else ""
        text = (
            f"calibrated: empirical FPR {self.empirical_fpr:.1%} ({self.n_false_positives} of {self.n_used}) "
            f"on unwatermarked texts{src} at z ≥ {self.z_threshold:.2f} (target ≤ {self.target_fpr:.1%}); "
            f"theoretical p < {self.theoretical_p:.2g}"
        )
        if self.n_used * self.target_fpr < 1:
            text += f" (only {self.n_used} texts: too few to measure a {self.target_fpr:.1%} rate)"
        return text


def calibrate_z_scores(
    z_scores: Sequence[float],
    key: WatermarkKey,
    params: WatermarkParams,
    *,
    target_fpr: float = 0.01,
    n_texts: int | None = None,
    source: str = "",
) -> Calibration:
    """The lowest threshold that flags at most ⌊target_fpr·n⌋ of these unwatermarked z-scores, and
    never below the theoretical threshold for `target_fpr` (so both rates hold)."""
    if not 0.0 < target_fpr < 1.0:
        raise ValueError("target_fpr must be between 0 and 1")
    z = np.sort(np.asarray(z_scores, dtype=float))[::-1]
    if z.size < 10:
        raise ValueError(f"calibration needs at least 10 scorable unwatermarked texts, got {z.size}")
    allowed = int(math.floor(target_fpr * z.size))
    empirical = float(np.nextafter(z[allowed], math.inf)) if allowed < z.size else -math.inf
    threshold = max(empirical, z_for_fpr(target_fpr))
    fp = int(np.count_nonzero(z >= threshold))
    return Calibration(
        key_id=key.key_id,
        scheme=params.scheme,
        scheme_version=params.scheme_version,
        gamma=params.gamma,
        context_width=params.context_width,
        min_scored_tokens=params.min_scored_tokens,
        target_fpr=target_fpr,
        z_threshold=threshold,
        n_texts=n_texts if n_texts is not None else int(z.size),
        n_used=int(z.size),
        n_false_positives=fp,
        empirical_fpr=fp / z.size,
        theoretical_p=_p_value(threshold),
        z_mean=float(z.mean()),
        z_std=float(z.std()),
        z_max=float(z[0]),
        source=source,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


def calibrate(
    texts: Sequence[str],
    tokenizer: Any,
    key: WatermarkKey,
    params: WatermarkParams | None = None,
    *,
    target_fpr: float = 0.01,
    source: str = "",
) -> Calibration:
    """Calibrate the threshold on unwatermarked `texts` from the same model (too-short ones skipped)."""
    params = (params or WatermarkParams()).model_copy(update={"key_id": key.key_id})
    zs = []
    for text in texts:
        s = score_token_ids(encode_text(text, tokenizer)[0], key, params)
        if s.n_scored >= params.min_scored_tokens:
            zs.append(s.z)
    return calibrate_z_scores(zs, key, params, target_fpr=target_fpr, n_texts=len(texts), source=source)


def save_calibration(ws: Workspace, calibration: Calibration) -> Path:
    """Store a calibration beside its key (`watermark-<key_id>.calibration.json`)."""
    from assay.store.blobs import atomic_write

    path = calibration_path(ws, calibration.key_id)
    atomic_write(path, calibration.model_dump_json(indent=2).encode(), mode=0o644)
    return path


def load_calibration(ws: Workspace, key_id: str) -> Calibration | None:
    """The stored calibration of a key, or None when it has none (or it is unreadable)."""
    path = calibration_path(ws, key_id)
    try:
        return Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


# --- the bundled model ----------------------------------------------------------------------------

_TOKENIZERS: dict[str, Any] = {}


def load_bundled_tokenizer(
    gguf_path: Path | str | None = None, *, cache_dir: Path | str | None = None
) -> Any:
    """The bundled model's tokenizer as a `tokenizers.Tokenizer` (Rust, no torch).

    Read from the engine's cache folder (`<cache>/models/<gguf sha256>/tokenizer.json`); when the model
    was never loaded, built from the GGUF with transformers' converter (no torch needed either).
    """
    from tokenizers import Tokenizer

    from assay.evals.bundled.engine import ModelUnavailable, cache_root, file_sha256, find_gguf

    path = Path(gguf_path) if gguf_path else find_gguf()
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} does not exist")
    sha = file_sha256(path)
    cached = _TOKENIZERS.get(sha)
    if cached is not None:
        return cached
    root = Path(cache_dir).expanduser() if cache_dir else cache_root()
    tok_file = root / "models" / sha / "tokenizer.json"
    if tok_file.is_file():
        tok = Tokenizer.from_file(str(tok_file))
    else:
        try:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(
                path.parent, gguf_file=path.name, local_files_only=True
            ).backend_tokenizer
        except Exception as exc:
            raise ModelUnavailable(f"cannot read the tokenizer of {path.name}: {exc}") from exc
    _TOKENIZERS[sha] = tok
    return tok


def generate_watermarked(
    prompts: Sequence[Prompt],
    params: WatermarkParams,
    key: WatermarkKey,
    max_new_tokens: int = 200,
    *,
    model: BundledModel | None = None,
    temperature: float = 0.7,
    top_p: float | None = None,
    seed: int | None = None,
) -> list[Generation]:
    """Generate with the bundled model (loaded unless given) and this watermark in its logits."""
    from assay.evals.bundled.engine import BundledModel
    from assay.provenance.text_processor import WatermarkLogitsProcessor

    engine = model or BundledModel.load()
    processor = WatermarkLogitsProcessor(params, key)
    return engine.generate(
        prompts,
        max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        logits_processors=[processor],
    )


def __getattr__(name: str) -> Any:
    """`WatermarkLogitsProcessor` is imported on first use: it needs torch and transformers."""
    if name == "WatermarkLogitsProcessor":
        from assay.provenance.text_processor import WatermarkLogitsProcessor

        return WatermarkLogitsProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
