"""Checks of what a manifest on disk points at: suite names and files, seed suites, artifacts, datasets and
the policy pack, resolved against the manifest's folder the same way `assay assess` resolves them.

A path may not leave the manifest's folder (`../`, an absolute path, a symlink out) unless its entry sets
`allow_outside: true`: a manifest from someone else should not make Assay read, hash or publish
`/etc/passwd`. These checks are cheap (no file is parsed); `runnable.py` goes further for validate and
assess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from assay.manifest.references import Finding, _hint
from assay.manifest.schema import Manifest

MOONSHOT_PREFIX = "moonshot:"
OUTSIDE_EXPECTED = "a path inside the manifest's folder, or 'allow_outside: true' on this entry"


def seed_names() -> list[str]:
    from assay.redteam.service import SEEDS_DIR

    return sorted(p.stem for p in SEEDS_DIR.glob("*.yaml"))


def inside(base: Path, target: Path) -> bool:
    """Whether `target` (symlinks followed) lies in `base`."""
    try:
        target.resolve().relative_to(base.resolve())
    except ValueError:
        return False
    return True


def local_path(
    where: tuple[str | int, ...],
    text: str,
    base: Path,
    *,
    allow_outside: bool,
    must_exist: bool,
    what: str,
) -> Iterator[Finding]:
    path = Path(text).expanduser()
    full = path if path.is_absolute() else base / path
    if not allow_outside and not inside(base, full):
        yield where, f"'{text}' leaves the manifest's folder", OUTSIDE_EXPECTED
        return
    if must_exist and not full.exists():
        looked = f" (looked for {full})" if full != path else ""
        yield where, f"{what} not found: '{text}'{looked}", f"an existing {what}"


def suite_reference(
    where: tuple[str | int, ...],
    text: str,
    base: Path,
    *,
    allow_outside: bool,
    extra_names: list[str] | None = None,
) -> Iterator[Finding]:
    """A suite as `assay assess` will look for it: a file or folder beside the manifest, else a suite
    name (built-in or on ASSAY_SUITES_PATH, or a seed-suite name for red-team seeds)."""
    from assay.evals.suites.resolve import is_name, list_suites, resolve_suite

    forced = text.startswith(MOONSHOT_PREFIX)
    raw = text.removeprefix(MOONSHOT_PREFIX)
    names = extra_names or []
    if not forced and is_name(raw):
        if (base / raw).exists() or raw in names or resolve_suite(raw) is not None:
            return
        known = sorted({*list_suites(), *names})
        yield (
            where,
            f"no suite named '{raw}'{_hint(raw, known)}",
            "a suite name (" + ", ".join(known) + ") or a suite file beside the manifest",
        )
        return
    yield from local_path(where, raw, base, allow_outside=allow_outside, must_exist=True, what="suite file")


def check_files(m: Manifest, base: Path) -> list[Finding]:
    return list(_iter_file_findings(m, base))


def _iter_file_findings(m: Manifest, base: Path) -> Iterator[Finding]:
    for i, s in enumerate(m.suites):
        yield from suite_reference(("suites", i, "suite"), s.suite, base, allow_outside=s.allow_outside)
    seeds = seed_names() if m.redteam else []
    for i, r in enumerate(m.redteam):
        yield from suite_reference(
            ("redteam", i, "seeds"), r.seeds, base, allow_outside=r.allow_outside, extra_names=seeds
        )
    for i, c in enumerate(m.components):
        a = c.artifact
        if a is None or not a.path:
            continue
        where = ("components", i, "artifact", "path")
        if a.python_package:
            parts = PurePosixPath(a.path.replace("\\", "/")).parts
            if not a.allow_outside and (a.path.startswith(("/", "\\")) or ".." in parts):
                yield (
                    where,
                    f"'{a.path}' leaves the package '{a.python_package}'",
                    "a path inside the package, or 'allow_outside: true' on this artifact",
                )
            continue
        # a missing artifact is a warning of the inventory step (weights may live elsewhere)
        yield from local_path(
            where, a.path, base, allow_outside=a.allow_outside, must_exist=False, what="file"
        )
    for i, d in enumerate(m.datasets):
        if d.path:
            yield from local_path(
                ("datasets", i, "path"),
                d.path,
                base,
                allow_outside=d.allow_outside,
                must_exist=True,
                what="file",
            )
    pack = m.policy_pack
    if pack is not None and pack.path:
        yield from local_path(
            ("policy_pack", "path"),
            pack.path,
            base,
            allow_outside=pack.allow_outside,
            must_exist=True,
            what="file",
        )
