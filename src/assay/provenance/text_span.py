"""Windowed watermark detection: find a marked passage inside a longer text, and say where it is.

Whole-text detection averages over every token, so a 200-token marked answer pasted into 1,000 words of
human text is diluted to a z-score near the threshold. Here the per-token green indicators (the same
ones whole-text detection counts: scored tokens only, each (context, token) n-gram once) are scanned with
windows of many lengths and positions, and the most significant window is reported.

Multiple testing: scanning M windows gives M chances of a false alarm, so each window is tested at α/M
(Bonferroni). The family-wise false-positive rate of "some window is significant" is then at most α
on unwatermarked text, whatever the correlation between overlapping windows (Bonferroni needs none).
Each window's p-value is the exact binomial tail P(Bin(L, γ) ≥ greens), not the normal approximation,
which is too optimistic in the far tail for short windows.

Windows: lengths L = L_min·√2^k below the number of scored tokens (the whole text is the whole-text
test's job), starts every ⌈L/4⌉ scored tokens plus one flush with the end. A span is always overlapped
by a window of about its length covering at least 7/8 of it, and M stays near 0.55 × the scored tokens.

The span reported is the grid window that passed, then trimmed or extended (within one window length)
to the maximum-likelihood edges of a passage green at a higher rate than γ: that refinement locates the
edges and is descriptive only. The test decision and its p-value are the grid window's, so choosing the
edges after the fact does not bias it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, Field

__all__ = ["MarkedSpan", "SpanSearch", "binomial_tail", "find_marked_span", "window_grid"]


class MarkedSpan(BaseModel):
    """Where a watermarked passage is, in tokens and characters, and how strong it is there."""

    token_start: int = Field(description="first token of the span (index into the text's tokens)")
    token_end: int = Field(description="one past the last token of the span")
    char_start: int = Field(description="[char_start, char_end) of the input text")
    char_end: int
    n_scored: int = Field(description="scored tokens inside the span")
    n_green: int
    z_score: float = Field(
        description="z inside the reported span (descriptive: its edges were chosen to maximise it)"
    )


class SpanSearch(BaseModel):
    """The outcome of the windowed search, significant or not. Holds no key material."""

    found: bool = Field(description="some window is significant at family-wise level alpha")
    alpha: float = Field(description="family-wise false-positive rate of the search (Bonferroni)")
    n_windows: int = Field(description="windows tested (M); each is tested at alpha / M")
    min_window: int
    max_window: int
    window_start: int | None = Field(None, description="the most significant grid window, in scored tokens")
    window_length: int | None = None
    window_green: int | None = None
    window_p: float | None = Field(None, description="exact binomial tail of that window, unadjusted")
    p_adjusted: float | None = Field(None, description="min(1, M · window_p): compare with alpha")
    span: MarkedSpan | None = Field(None, description="where the mark is, when found")

    def statement(self) -> str:
        """The multiple-testing correction, in a sentence."""
        if self.n_windows == 0:
            return "windowed search: text too short for windows"
        return (
            f"windowed search over {self.n_windows} windows of {self.min_window}–{self.max_window} scored "
            f"tokens, each tested at α/{self.n_windows} (Bonferroni), so the chance that unwatermarked text "
            f"shows a significant window is at most {self.alpha:g}"
        )


def window_grid(n: int, min_len: int) -> list[tuple[int, np.ndarray]]:
    """(length, starts) of every window tested on `n` scored tokens."""
    grid: list[tuple[int, np.ndarray]] = []
    k = 0
    while True:
        length = int(round(min_len * math.sqrt(2.0) ** k))
        k += 1
        if length >= n:
            break
        if grid and length == grid[-1][0]:
            continue
        stride = max(1, math.ceil(length / 4))
        starts = np.arange(0, n - length + 1, stride)
        if starts[-1] != n - length:
            starts = np.append(starts, n - length)
        grid.append((length, starts))
    return grid


@lru_cache(maxsize=64)
def _log_factorials(n: int) -> np.ndarray:
    """log k! for k = 0 … n (a running sum of logs: vectorised, and exact to ~1e-12 relative)."""
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=float)))])


@lru_cache(maxsize=256)
def _log_tail(length: int, gamma: float) -> np.ndarray:
    """log P(Bin(length, γ) ≥ k) for k = 0 … length (log-space: far tails underflow in float64)."""
    k = np.arange(length + 1, dtype=float)
    lf = _log_factorials(1 << max(6, (length).bit_length()))  # cached at powers of two
    log_pmf = (
        lf[length]
        - lf[: length + 1]
        - lf[length::-1]
        + k * math.log(gamma)
        + (length - k) * math.log1p(-gamma)
    )
    return np.logaddexp.accumulate(log_pmf[::-1])[::-1]


def binomial_tail(k: int, length: int, gamma: float) -> float:
    """P(Bin(length, γ) ≥ k), exact."""
    if k <= 0:
        return 1.0
    if k > length:
        return 0.0
    return float(math.exp(min(0.0, _log_tail(length, round(gamma, 12))[k])))


def _z(green: float, n: float, gamma: float) -> float:
    return (green - gamma * n) / math.sqrt(n * gamma * (1.0 - gamma)) if n else 0.0


def _argmin_accumulate(v: np.ndarray) -> np.ndarray:
    """For each i, the index of the minimum of v[: i + 1] (the last, on ties: the shorter interval)."""
    idx = np.arange(v.size)
    is_new_min = np.concatenate([[True], v[1:] <= np.minimum.accumulate(v)[:-1]])
    return np.maximum.accumulate(np.where(is_new_min, idx, 0))


def _refine(x: np.ndarray, start: int, length: int, gamma: float) -> tuple[int, int]:
    """The edges of the marked passage around a significant window: the maximum-likelihood span under
    "green at rate γ₁ inside, γ outside", γ₁ estimated from the window (then from the span, once more).

    Each token scores its log-likelihood ratio, x·log(γ₁/γ) + (1−x)·log((1−γ₁)/(1−γ)); the span is the
    maximum-sum interval (Kadane's algorithm), searched within one window length either side.
    """
    lo, hi = max(0, start - length), min(x.size, start + 2 * length)
    a, b = start, start + length
    for _ in range(2):
        rate = float(x[a:b].mean()) if b > a else gamma
        g1 = min(max(rate, gamma + 0.05), 0.99)
        s = np.where(x[lo:hi] > 0, math.log(g1 / gamma), math.log((1.0 - g1) / (1.0 - gamma)))
        # maximum-sum interval: the end j maximising prefix[j] - min(prefix[:j]) (vectorised Kadane)
        prefix = np.concatenate([[0.0], np.cumsum(s)])
        low = np.minimum.accumulate(prefix)[:-1]
        low_at = _argmin_accumulate(prefix[:-1])
        j = int(np.argmax(prefix[1:] - low)) + 1
        a, b = lo + int(low_at[j - 1]), lo + j
    return a, b


def find_marked_span(
    green: np.ndarray,
    scored: np.ndarray,
    offsets: list[tuple[int, int]],
    gamma: float,
    *,
    min_window: int = 25,
    alpha: float = 0.001,
) -> SpanSearch:
    """Scan windows of the scored tokens' green indicators; report the most significant one, if any
    passes α/M, as a span of tokens and characters."""
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be between 0 and 1")
    idx = np.flatnonzero(scored)
    x = green[idx].astype(np.int64)
    grid = window_grid(idx.size, min_window)
    m = sum(starts.size for _, starts in grid)
    lengths = [length for length, _ in grid]
    out = SpanSearch(
        found=False,
        alpha=alpha,
        n_windows=m,
        min_window=min(lengths, default=min_window),
        max_window=max(lengths, default=0),
    )
    if m == 0:
        return out
    c = np.concatenate([[0], np.cumsum(x)])
    best: tuple[float, int, int, int] | None = None  # (log p, length, start, greens)
    for length, starts in grid:
        greens = c[starts + length] - c[starts]
        log_p = _log_tail(length, round(gamma, 12))[greens]
        i = int(np.argmin(log_p))
        cand = (float(log_p[i]), -length, int(starts[i]), int(greens[i]))
        if best is None or cand < best:
            best = cand
    assert best is not None
    log_p, neg_len, start, k = best
    length = -neg_len
    p = math.exp(min(0.0, log_p))
    out.window_start, out.window_length, out.window_green = start, length, k
    out.window_p = p
    out.p_adjusted = min(1.0, p * m)
    out.found = log_p + math.log(m) <= math.log(alpha)
    if out.found:
        a, b = _refine(x, start, length, gamma)
        t0, t1 = int(idx[a]), int(idx[b - 1]) + 1
        g = int(x[a:b].sum())
        out.span = MarkedSpan(
            token_start=t0,
            token_end=t1,
            char_start=offsets[t0][0],
            char_end=offsets[t1 - 1][1],
            n_scored=b - a,
            n_green=g,
            z_score=round(_z(g, b - a, gamma), 4),
        )
    return out
