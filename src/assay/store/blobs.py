"""A content-addressed blob store: each blob lives at its SHA-256 and is written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel

HEX = set("0123456789abcdef")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask would, briefly)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def published_mode() -> int:
    """The permissions of an ordinary new file (0666 less the umask, usually 0644): what outputs meant to
    be shared get, instead of a temporary file's private 0600."""
    return 0o666 & ~_umask()


def atomic_write(path: Path, data: bytes, mode: int | None = None, *, exclusive: bool = False) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it: never half-written.

    Without `mode` the file gets the permissions an ordinary new file would (0666 less the umask,
    usually 0644): the temporary file's private 0600 must not leak into published outputs. Secrets
    pass `mode=0o600`. `exclusive`: never replace an existing file (FileExistsError instead), so of two
    processes creating the same file at once exactly one wins and the other can read the winner's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else published_mode())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BlobCheck(BaseModel):
    sha256: str
    ok: bool
    problem: str = ""
    path: str = ""


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not set(digest) <= HEX:
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        target = self.path(digest)
        if not target.exists():
            atomic_write(target, data, mode=0o444)
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def check(self, digest: str) -> BlobCheck:
        """Re-hash a stored blob: a changed byte or a missing file is a failure."""
        p = self.path(digest)
        if not p.exists():
            return BlobCheck(sha256=digest, ok=False, problem="blob is missing", path=str(p))
        actual = sha256_file(p)
        if actual != digest:
            return BlobCheck(
                sha256=digest, ok=False, problem=f"content changed: it now hashes to {actual}", path=str(p)
            )
        return BlobCheck(sha256=digest, ok=True, path=str(p))
