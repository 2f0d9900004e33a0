"""Bounds that keep a scan of hostile input small: no claimed length is trusted beyond them."""

from __future__ import annotations

from pydantic import BaseModel

GiB = 1 << 30
MiB = 1 << 20


class ScanLimits(BaseModel):
    max_zip_members: int = 65_536
    max_zip_total_uncompressed: int = 1 << 40
    max_zip_ratio: float = 100.0
    """A member above `zip_ratio_floor` bytes that expands more than this many times is a zip bomb."""
    zip_ratio_floor: int = MiB
    max_pickle_bytes: int = 2 * GiB
    """The largest pickle (a raw file or one zip member) read; torch's data.pkl is usually kilobytes."""
    max_opcodes: int = 50_000_000
    max_line: int = MiB
    """Longest text argument (protocol-0 strings, GLOBAL names) a pickle may carry."""
    max_decompressed: int = 4 * GiB
    max_safetensors_header: int = 100 * MiB
    max_gguf_tensors: int = 1 << 20
    max_gguf_kv: int = 1 << 16
    max_gguf_array: int = 1 << 26
    max_gguf_string: int = 1 << 24
    max_npy_header: int = MiB
