"""`assay bundle`: pack a system's evaluation runs, its evidence and the settings they ran with into one
signed zip archive, written atomically; a secret's value anywhere in it stops the write."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from assay import __version__
from assay.assurance.evidence import Evidence, check_evidence, list_evidence
from assay.evals.runner import RunSpec, RunSummary
from assay.manifest import Manifest, load_manifest
from assay.replay.environment import current_environment
from assay.replay.models import (
    BLOB_PREFIX,
    CONTENTS,
    EVIDENCE_RECORDS,
    FILES_PREFIX,
    MANIFEST_MEMBER,
    PUBLIC_KEY,
    RUNS_PREFIX,
    SIGNATURE,
    BundleContents,
    BundleInfo,
    BundleInvalid,
    Member,
    ModelHash,
    RunEntry,
    SecretInBundle,
    SuiteFile,
    SystemRef,
)
from assay.replay.secrets import find_secret, literal_secrets, secret_values, target_settings
from assay.store.blobs import sha256_bytes, sha256_file
from assay.workspace import Workspace

Source = bytes | Path
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Every member gets the same timestamp, so the archive's bytes depend only on what is in it."""
MAX_SUITE_FOLDER_FILES = 10_000


def _latest_by_name(records: Iterable[Evidence], kind: str) -> dict[str, Evidence]:
    latest: dict[str, Evidence] = {}
    for ev in sorted(records, key=lambda e: e.seq):
        if ev.kind == kind:
            latest[ev.name] = ev
    return latest


def collect_runs(
    ws: Workspace, records: list[Evidence], skipped: list[str] | None = None
) -> list[tuple[RunEntry, dict[str, bytes]]]:
    """The system's complete evaluation runs (red-team runs are evidence only), each with its files.

    The summary and log are taken from the signed evidence blobs, so the bundle carries what was signed;
    of several runs with the same suite, target and options only the newest is kept, since replaying a
    duplicate proves nothing more. Runs left out, and why, are appended to `skipped`."""
    from assay.evals.models import Suite
    from assay.evals.service import runs_dir

    skipped = skipped if skipped is not None else []

    signed = _latest_by_name(records, "eval.run")
    chosen: dict[str, tuple[int, RunEntry, dict[str, bytes]]] = {}
    for name, ev in signed.items():
        parts = name.split("/")
        if len(parts) != 3 or parts[0] != "runs" or parts[2] != "summary.json":
            continue
        run_id = parts[1]
        log = signed.get(f"runs/{run_id}/log.jsonl")
        folder = runs_dir(ws) / run_id
        if log is None or not (folder / "spec.json").is_file() or not (folder / "suite.json").is_file():
            raise ValueError(
                f"run {run_id}: its spec.json, suite.json or signed log is missing from {folder}; "
                "the run cannot be bundled"
            )
        summary_bytes = ws.blobs.get(ev.sha256)
        summary = RunSummary.model_validate_json(summary_bytes)
        if summary.status != "complete":
            skipped.append(f"run {run_id}: {summary.status}, not complete")
            continue
        spec_bytes = (folder / "spec.json").read_bytes()
        spec = RunSpec.model_validate_json(spec_bytes)
        suite_bytes = (folder / "suite.json").read_bytes()
        if Suite.model_validate_json(suite_bytes).digest() != spec.suite_digest:
            skipped.append(f"run {run_id}: its suite is not the one its answers were asked with (re-scored)")
            continue
        files = {
            "spec.json": spec_bytes,
            "suite.json": suite_bytes,
            "summary.json": summary_bytes,
            "log.jsonl": ws.blobs.get(log.sha256),
        }
        entry = RunEntry(
            run_id=run_id,
            suite_id=spec.suite_id,
            suite_digest=spec.suite_digest,
            target_id=spec.target_id,
            options=spec.options,
            samples=len(spec.sample_ids) * spec.options.epochs,
            score=summary.score,
            target=spec.target,
        )
        options = spec.options.model_dump(mode="json", exclude={"use_cache"})
        same = json.dumps([spec.suite_digest, spec.target_id, options, spec.target], sort_keys=True)
        if same in chosen:
            older, newer = sorted([chosen[same], (ev.seq, entry, files)], key=lambda c: c[0])
            skipped.append(f"run {older[1].run_id}: the same as the newer run {newer[1].run_id}")
            chosen[same] = newer
        else:
            chosen[same] = (ev.seq, entry, files)
    return [(entry, files) for _, entry, files in sorted(chosen.values(), key=lambda c: c[0])]


def _arcname(path: Path, base: Path) -> str:
    """Where a local file goes in the bundle: its path from the manifest's folder, or (outside it) its
    absolute path under `files/outside/`."""
    resolved = path.resolve()
    try:
        return FILES_PREFIX + resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return FILES_PREFIX + "outside/" + resolved.as_posix().lstrip("/")


def _suite_files(
    manifest: Manifest,
    base: Path,
    specs: dict[str, RunSpec],
    members: dict[str, Source],
) -> list[SuiteFile]:
    refs = [r.suite for r in manifest.suites]
    refs += [s.suite_source for s in specs.values() if s.suite_source and s.suite_source not in refs]
    out = []
    for ref in dict.fromkeys(refs):
        local = Path(ref.removeprefix("moonshot:"))
        local = local if local.is_absolute() else base / local
        if not local.exists():
            out.append(SuiteFile(ref=ref, source="builtin"))
            continue
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        if len(files) > MAX_SUITE_FOLDER_FILES:
            raise ValueError(f"suite folder {local} holds more than {MAX_SUITE_FOLDER_FILES} files")
        names = []
        for f in files:
            name = _arcname(f, base)
            members[name] = f
            names.append(name)
        out.append(SuiteFile(ref=ref, source="file", members=names))
    return out


def _target_code(manifest: Manifest, base: Path, members: dict[str, Source]) -> list[str]:
    """The module of each python target when it sits beside the manifest (as `load_callable` finds it),
    so the replayer calls the same code; installed packages are the replayer's to provide."""
    names = []
    for t in manifest.targets:
        if t.kind.value != "python" or not t.callable:
            continue
        top = t.callable.partition(":")[0].split(".")[0]
        module, package = base / f"{top}.py", base / top
        files = [module] if module.is_file() else []
        if package.is_dir():
            files += sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
        for f in files[:MAX_SUITE_FOLDER_FILES]:
            name = _arcname(f, base)
            members[name] = f
            names.append(name)
    return names


def _model_hashes(manifest: Manifest, base: Path, runs: list[RunEntry]) -> list[ModelHash]:
    from assay.registry.inventory import build_inventory

    models = []
    for item in build_inventory(manifest, base).components:
        if item.artifact_path or item.artifact_sha256 or item.distribution:
            models.append(
                ModelHash(
                    what=f"component {item.id}",
                    path=item.artifact_path,
                    sha256=item.artifact_sha256,
                    note=item.problem,
                )
            )
    for run in runs:
        digest = run.target.get("gguf_sha256")
        if digest and not any(m.sha256 == digest and m.what.startswith("target") for m in models):
            models.append(
                ModelHash(
                    what=f"target {run.target_id}", sha256=digest, note=str(run.target.get("model", ""))
                )
            )
    return models


def _check_workspace_evidence(ws: Workspace, records: list[Evidence]) -> None:
    problems = []
    for ev in records:
        check = check_evidence(ws, ev)
        problems += [f"evidence {ev.id} ({ev.name or ev.kind}): {p}" for p in check.problems]
    if problems:
        raise BundleInvalid(str(ws.home), problems)


def _scan(members: dict[str, Source], secrets: dict[str, bytes]) -> None:
    if not secrets:
        return
    for name, source in members.items():
        content = source if isinstance(source, bytes) else source.read_bytes()
        var = find_secret(content, secrets)
        if var is not None:
            raise SecretInBundle(
                f"bundle member {name} contains the value of environment variable {var}; "
                "nothing was written (keep secrets in environment variables the manifest names, "
                "never in the manifest or suite files)"
            )


def _write_zip(out: Path, members: dict[str, Source]) -> None:
    from assay.store.blobs import published_mode

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, source in members.items():
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w") as dst:
                    if isinstance(source, bytes):
                        dst.write(source)
                    else:
                        with source.open("rb") as src:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())  # on disk before it takes the name: never a half-written bundle
        os.chmod(tmp, published_mode())  # a bundle is meant to be handed to others
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bundle(
    manifest_path: str | Path,
    out: str | Path,
    *,
    ws: Workspace | None = None,
    environ: dict[str, str] | None = None,
) -> BundleInfo:
    """Bundle the manifest's system from its workspace into `out` (replaced atomically).

    Raises ManifestInvalid (bad manifest), ValueError (nothing to bundle, a run's files gone),
    BundleInvalid (the workspace's own evidence fails its check) or SecretInBundle."""
    path = Path(manifest_path)
    manifest = load_manifest(path)
    if path.is_dir():
        path = path / "assay.yaml"
    base = path.parent
    literal = literal_secrets(manifest.targets)
    if literal:
        raise SecretInBundle(
            f"{path}: {'; '.join(literal)} holds a literal value that looks like a secret, and the "
            "manifest is bundled as it is; nothing was written (name an environment variable instead: "
            "api_key_env, or a ${VAR} reference)"
        )
    ws = ws or Workspace.for_manifest(path)
    system = manifest.system.id
    records = sorted(list_evidence(ws, system=system, limit=1_000_000), key=lambda e: e.seq)
    _check_workspace_evidence(ws, records)
    skipped: list[str] = []
    runs = collect_runs(ws, records, skipped)
    if not runs:
        raise ValueError(
            f"no complete evaluation run of system '{system}' in {ws.home}; run `assay assess {path}` "
            f"or `assay eval run SUITE -m {path}` first"
        )
    from assay.evals.service import target_specs

    known = target_specs(manifest)
    for entry, _ in runs:
        if entry.target_id not in known:
            raise ValueError(
                f"run {entry.run_id} used target '{entry.target_id}', which {path} no longer names; "
                "a replay could not build it"
            )
    members: dict[str, Source] = {MANIFEST_MEMBER: path.read_bytes()}
    specs = {e.run_id: RunSpec.model_validate_json(files["spec.json"]) for e, files in runs}
    entries = [e for e, _ in runs]
    suites = _suite_files(manifest, base, specs, members)
    code = _target_code(manifest, base, members)
    for entry, files in runs:
        for name, content in files.items():
            members[f"{RUNS_PREFIX}{entry.run_id}/{name}"] = content
    members[EVIDENCE_RECORDS] = b"".join(ev.model_dump_json().encode() + b"\n" for ev in records)
    for ev in records:
        members.setdefault(BLOB_PREFIX + ev.sha256, ws.blobs.path(ev.sha256))
    key = ws.signing_key
    members[PUBLIC_KEY] = key.public_pem().encode()
    secrets = secret_values(manifest.targets, environ)
    _scan(members, secrets)

    from assay.assurance.chain_check import current_head

    listed = [
        Member(
            path=name,
            sha256=sha256_bytes(src) if isinstance(src, bytes) else sha256_file(src),
            size=len(src) if isinstance(src, bytes) else src.stat().st_size,
        )
        for name, src in members.items()
    ]
    contents = BundleContents(
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        assay_version=__version__,
        system=SystemRef(id=system, name=manifest.system.name, version=manifest.system.version),
        key_id=key.key_id,
        chain_head=current_head(ws, system).ref(),
        environment=current_environment(),
        targets=[target_settings(t) for t in manifest.targets],
        models=_model_hashes(manifest, base, entries),
        suites=suites,
        target_code=code,
        runs=entries,
        skipped_runs=skipped,
        evidence=len(records),
        members=listed,
    )
    contents_bytes = json.dumps(contents.model_dump(mode="json"), indent=2, sort_keys=True).encode() + b"\n"
    _scan({CONTENTS: contents_bytes}, secrets)
    signature = key.sign(contents_bytes).encode() + b"\n"
    archive = {CONTENTS: contents_bytes, SIGNATURE: signature, **members}
    target = Path(out)
    _write_zip(target, archive)
    return BundleInfo(
        path=str(target),
        sha256=sha256_file(target),
        size=target.stat().st_size,
        system=system,
        key_id=key.key_id,
        runs=len(entries),
        evidence=len(records),
        members=len(archive),
        skipped_runs=skipped,
    )
