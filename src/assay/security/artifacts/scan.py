"""Scan one model file or every model file in a folder: detect the format from its first bytes, run the
matching check, hash the file, and compare the hash with the one a manifest declares."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assay.security.artifacts.containers import (
    NPY_MAGIC,
    Refused,
    add_pickle_scans,
    compression_of,
    decompress_to_temp,
    scan_npy_bytes,
    scan_zip,
)
from assay.security.artifacts.headers import (
    GGUF_MAGIC,
    HeaderCheck,
    HeaderUnreadable,
    check_gguf,
    check_safetensors,
)
from assay.security.artifacts.limits import ScanLimits
from assay.security.artifacts.models import FileReport, ScanRefused, ScanReport
from assay.security.artifacts.rules import Rules, load_rules
from assay.store.blobs import sha256_file

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".sav")
MODEL_SUFFIXES = (*PICKLE_SUFFIXES, ".npy", ".npz", ".safetensors", ".gguf")


@dataclass(frozen=True)
class DeclaredArtifact:
    """A manifest component's artifact: where it is, its hash (already computed by the inventory) and
    the hash the manifest declares for it."""

    component: str
    path: Path
    sha256: str | None
    declared_sha256: str | None
    kind: str = ""
    """The component's kind (foundation_model, fine_tune, application, ...)."""


def detect_format(head: bytes, name: str) -> str | None:
    """The format from the magic bytes, falling back on the suffix only for pickles (which have none
    before protocol 2)."""
    low = name.lower()
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(GGUF_MAGIC):
        return "gguf"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if low.endswith(".safetensors"):
        return "safetensors"
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < 1 << 32:
        return "safetensors"  # a header length, then a JSON object: safetensors under another name
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return "pickle"
    if compression_of(head) and low.endswith((".joblib", ".pkl", ".pickle", ".gz", ".z", ".bz2", ".xz")):
        return "compressed-pickle"
    if low.endswith(PICKLE_SUFFIXES):
        return "pickle"
    return None


def scan_file(
    path: Path,
    *,
    limits: ScanLimits | None = None,
    rules: Rules | None = None,
    declared: DeclaredArtifact | None = None,
) -> FileReport:
    """One file's report. Never raises for bad input: an unreadable file is a report with `error`."""
    limits = limits or ScanLimits()
    rules = rules or load_rules()
    report = FileReport(file=str(path), format="unknown")
    try:
        _scan_into(report, path, limits, rules)
    except (Refused, HeaderUnreadable, ScanRefused) as exc:
        report.error = str(exc)
    except OSError as exc:
        report.error = f"cannot be read: {exc.strerror or exc}"
    except MemoryError:
        report.error = "ran out of memory while reading; refused"
    if declared is not None:
        report.component = declared.component
        report.sha256 = declared.sha256 or report.sha256
        report.declared_sha256 = declared.declared_sha256
    if report.sha256 is None and not report.error.startswith("cannot be read"):
        with contextlib.suppress(OSError):
            report.sha256 = sha256_file(path)
    if report.declared_sha256 and report.sha256 and report.sha256 != report.declared_sha256:
        report.findings.append(
            rules.finding(
                "hash-mismatch",
                "high",
                f"SHA-256 {report.sha256} differs from the {report.declared_sha256} declared"
                + (f" for component {report.component}" if report.component else ""),
                file=str(path),
                field="sha256",
                expected=report.declared_sha256,
                found=report.sha256,
            )
        )
    return report.settle()


def _scan_into(report: FileReport, path: Path, limits: ScanLimits, rules: Rules) -> None:
    if not path.is_file():
        raise ScanRefused("not a regular file")
    size = path.stat().st_size
    report.size = size
    if size == 0:
        raise ScanRefused("empty file: not a model file")
    with path.open("rb") as f:
        head = f.read(16)
        fmt = detect_format(head, path.name)
        if fmt is None:
            raise ScanRefused(
                f"not a model file: no known magic bytes (found {head[:8]!r}) and the suffix is not one of "
                + ", ".join(MODEL_SUFFIXES)
            )
        report.format = fmt
        f.seek(0)
        if fmt == "zip":
            scan_zip(report, str(path), rules, limits)
        elif fmt in ("safetensors", "gguf"):
            check = (check_safetensors if fmt == "safetensors" else check_gguf)(f, size, limits)
            _add_header_problems(report, check, rules)
        elif fmt == "compressed-pickle":
            kind = compression_of(head) or ""
            with decompress_to_temp(f, kind, limits, size) as inflated:
                report.format = f"pickle ({kind})"
                _scan_mapped(report, inflated, rules, limits, npy=False)
        else:
            if size > limits.max_pickle_bytes and fmt == "pickle":
                raise Refused(f"{size} bytes: more than the pickle limit of {limits.max_pickle_bytes}")
            _scan_mapped(report, f, rules, limits, npy=fmt == "npy")


def _scan_mapped(report: FileReport, f: object, rules: Rules, limits: ScanLimits, *, npy: bool) -> None:
    fileno = f.fileno()  # type: ignore[attr-defined]
    if os.fstat(fileno).st_size == 0:
        raise ScanRefused("empty after decompression: not a model file")
    mm = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
    try:
        if npy:
            scan_npy_bytes(report, mm, rules, limits)
        else:
            add_pickle_scans(report, mm, rules, limits, member=None)
    finally:
        with contextlib.suppress(BufferError):  # a large argument's view is still referenced
            mm.close()


def _add_header_problems(report: FileReport, check: HeaderCheck, rules: Rules) -> None:
    report.notes.extend(check.notes)
    report.notes.append(f"{check.tensors} tensors with consistent headers" if not check.problems else "")
    report.notes = [n for n in report.notes if n]
    for p in check.problems:
        report.findings.append(
            rules.finding(
                "header-inconsistent",
                "high",
                p.message,
                file=report.file,
                offset=p.offset,
                field=p.field,
                expected=p.expected,
                found=p.found,
            )
        )


def iter_model_files(root: Path) -> Iterable[Path]:
    """Model files under a folder, by suffix; symlinks are not followed (a link can point anywhere)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.lower().endswith(MODEL_SUFFIXES) and not p.is_symlink():
                yield p


def scan_path(
    path: Path,
    *,
    limits: ScanLimits | None = None,
    declared: Iterable[DeclaredArtifact] = (),
) -> ScanReport:
    """A file, or every model file in a folder. Raises ScanRefused when the path does not exist."""
    rules = load_rules()
    by_path = {_key(d.path): d for d in declared}
    if path.is_dir():
        files = list(iter_model_files(path))
    elif path.exists():
        files = [path]
    else:
        raise ScanRefused(f"{path}: no such file or folder")
    reports = [scan_file(p, limits=limits, rules=rules, declared=by_path.get(_key(p))) for p in files]
    return ScanReport(root=str(path), files=reports)


def scan_artifacts(
    declared: Iterable[DeclaredArtifact], *, root: str = "", limits: ScanLimits | None = None
) -> ScanReport:
    """Each declared artifact (a manifest's components), reusing the hash the inventory computed."""
    rules = load_rules()
    files = [scan_file(d.path, limits=limits, rules=rules, declared=d) for d in declared]
    return ScanReport(root=root, files=files)


def _key(p: Path) -> str:
    try:
        return str(p.resolve())
    except OSError:
        return str(p)


def declared_artifacts(manifest: object, base: Path) -> list[DeclaredArtifact]:
    """The manifest's component artifacts with a resolvable path, hashed once by the inventory."""
    from assay.manifest.schema import Manifest
    from assay.registry.inventory import build_inventory

    assert isinstance(manifest, Manifest)
    declared = {c.id: c.artifact.sha256 for c in manifest.components if c.artifact is not None}
    out = []
    for item in build_inventory(manifest, base).components:
        if item.artifact_path:
            out.append(
                DeclaredArtifact(
                    component=item.id,
                    path=Path(item.artifact_path),
                    sha256=item.artifact_sha256,
                    declared_sha256=declared.get(item.id),
                    kind=item.kind,
                )
            )
    return out
