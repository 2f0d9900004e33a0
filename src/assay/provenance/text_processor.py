"""The generation hook of the text watermark: a transformers `LogitsProcessor` that adds δ to the
logits of the green list (see `text_watermark` for the scheme).

Where δ applies. transformers runs the processors passed to `generate(logits_processor=...)` *before*
its sampling warpers (temperature, top-k, top-p, min-p). The bias is therefore added to the raw logits
and then divided by the temperature T with everything else: the effective bias at sampling time is δ/T.
At T = 0.7, δ = 2 acts like 2.86 at T = 1 (a stronger watermark and a larger change to the text); at
T = 1.5 it acts like 1.33. Because top-p is computed after the bias, green tokens can enter the nucleus.
transformers' own `WatermarkingConfig` does the opposite (its processor is appended after the warpers,
so its δ is not scaled by T and cannot revive tokens top-p removed). Under greedy decoding there is no
warper: the argmax of the biased logits is taken.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor

from assay.provenance.keys import WatermarkKey
from assay.provenance.text_watermark import (
    WatermarkParams,
    _candidate_part,
    _context_seeds,
    _green_hash,
    green_threshold,
    key_words,
)


class WatermarkLogitsProcessor(LogitsProcessor):
    """Adds `params.delta` to the logits of the tokens green after each row's last `context_width` ids.

    Green lists are computed with numpy for all rows of the batch at once and kept in a small LRU cache
    per context (common previous tokens recur), so the watermark costs well under a millisecond a step.
    """

    def __init__(self, params: WatermarkParams, key: WatermarkKey, *, cache_size: int = 256) -> None:
        if params.key_id is not None and params.key_id != key.key_id:
            raise ValueError(f"params name key {params.key_id!r} but key {key.key_id!r} was given")
        self.params = params.model_copy(update={"key_id": key.key_id})
        self._w = key_words(key, self.params)
        self._threshold = green_threshold(self.params.gamma)
        self._cand: np.ndarray | None = None
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def identity(self) -> dict[str, Any]:
        """How a target records this processor: the settings and key id, never the key."""
        return {"kind": "assay.text-watermark", **self.params.model_dump()}

    def _masks(self, contexts: np.ndarray, vocab_size: int) -> torch.Tensor:
        if self._cand is None or self._cand.size != vocab_size:
            self._cand = _candidate_part(np.arange(vocab_size, dtype=np.uint64), self._w)
            self._cache.clear()
        keys = [row.tobytes() for row in contexts]
        missing = sorted({k for k in keys if k not in self._cache})
        if missing:
            rows = np.frombuffer(b"".join(missing), dtype=np.uint64).reshape(len(missing), -1)
            seeds = _context_seeds(rows, self._w)
            green = _green_hash(seeds[:, None], self._cand[None, :], self._w) < self._threshold
            for k, mask in zip(missing, green, strict=True):
                self._cache[k] = mask
        for k in keys:
            self._cache.move_to_end(k)
        while len(self._cache) > max(self._cache_size, len(keys)):
            self._cache.popitem(last=False)
        # np.stack, not torch.stack: the latter is ~100x slower on bool rows here.
        return torch.from_numpy(np.stack([self._cache[k] for k in keys]))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        h = self.params.context_width
        if input_ids.shape[-1] < h or self.params.delta == 0:
            return scores
        contexts = input_ids[:, -h:].detach().cpu().numpy().astype(np.uint64)
        mask = self._masks(contexts, scores.shape[-1]).to(scores.device)
        return torch.where(mask, scores + self.params.delta, scores)
