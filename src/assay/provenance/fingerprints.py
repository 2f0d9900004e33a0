"""Fuzzy fingerprints: MinHash over character shingles for text, a DCT perceptual hash for images.

An exact hash finds only the very bytes that were marked. These fingerprints let the ledger find an
output after light edits (a changed word, a re-saved JPEG), and their LSH bands let it find candidates
with an index lookup instead of comparing against every entry.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

SHINGLE = 5
NUM_PERM = 128
TEXT_BANDS = 32  # 32 bands of 4 rows: pairs with Jaccard >= 0.5 share a band with p > 0.87
ROWS = NUM_PERM // TEXT_BANDS
IMAGE_BANDS = 8  # 8 bands of 8 bits: hashes within Hamming distance 7 always share a band
MAX_TEXT_CHARS = 200_000
_MASK63 = (1 << 63) - 1

# Fixed multipliers (odd) and offsets for multiply-shift hashing: a fingerprint computed today must
# compare with one computed years from now, so these never change.
_rng = np.random.Generator(np.random.PCG64(20240530))
_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u2060-\u2064\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef\u00ad\u034f\u180e]"
)
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """What a reader sees: NFKC, case-folded, invisible characters dropped, whitespace collapsed."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _SPACE.sub(" ", text).strip().casefold()


def visible_text(text: str) -> str:
    """The text without invisible characters (zero-width, variation selectors) and outer whitespace."""
    return _INVISIBLE.sub("", text).strip()


def _shingle_hashes(norm: str) -> np.ndarray:
    """64-bit hashes of every `SHINGLE`-character window, computed with numpy (wrapping arithmetic)."""
    codes = np.frombuffer(norm[:MAX_TEXT_CHARS].encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return codes
    if codes.size < SHINGLE:
        codes = np.concatenate([codes, np.zeros(SHINGLE - codes.size, dtype=np.uint64)])
    n = codes.size - SHINGLE + 1
    h = np.zeros(n, dtype=np.uint64)
    prime = np.uint64(1099511628211)
    with np.errstate(over="ignore"):
        for j in range(SHINGLE):
            h = (h ^ codes[j : j + n]) * prime
    return np.unique(h)


def minhash(text: str) -> np.ndarray:
    """A 128-value MinHash signature (uint32) of the text's normalised character 5-grams."""
    shingles = _shingle_hashes(normalise_text(text))
    sig = np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)
    if shingles.size == 0:
        return sig
    with np.errstate(over="ignore"):
        for start in range(0, shingles.size, 4096):  # bounded memory: 4096 x 128 at a time
            block = shingles[start : start + 4096, None]
            hashed = ((block * _A[None, :] + _B[None, :]) >> np.uint64(32)).astype(np.uint32)
            sig = np.minimum(sig, hashed.min(axis=0))
    return sig


def minhash_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.mean(a == b))


def _band_value(parts: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(parts, digest_size=8).digest(), "big") & _MASK63


def text_bands(sig: np.ndarray) -> list[tuple[int, int]]:
    return [
        (i, _band_value(sig[i * ROWS : (i + 1) * ROWS].astype("<u4").tobytes())) for i in range(TEXT_BANDS)
    ]


def signature_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m


_DCT32 = _dct_matrix(32)


def phash(image) -> int:  # type: ignore[no-untyped-def]
    """A 64-bit perceptual hash: the signs of the 8x8 lowest DCT frequencies of a 32x32 grey image.

    Re-encoding, mild resizing and small colour changes move only a few bits."""
    from PIL import Image

    grey = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int("".join("1" if b else "0" for b in bits), 2)


def phash_bytes(value: int) -> bytes:
    return value.to_bytes(8, "big")


def phash_from_bytes(data: bytes) -> int:
    return int.from_bytes(data, "big")


def phash_similarity(a: int, b: int) -> float:
    """1 - (differing bits / 64)."""
    return 1.0 - bin(a ^ b).count("1") / 64


def image_bands(value: int) -> list[tuple[int, int]]:
    return [(i, (value >> (8 * (IMAGE_BANDS - 1 - i))) & 0xFF) for i in range(IMAGE_BANDS)]


def pixel_sha256(image) -> str:  # type: ignore[no-untyped-def]
    """A hash of the decoded pixels, so an image whose metadata was stripped still matches exactly."""
    rgb = image.convert("RGBA")
    h = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    h.update(rgb.tobytes())
    return h.hexdigest()
