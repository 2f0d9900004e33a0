"""Re-running a verified bundle's evaluation runs into a workspace, with the same suites, seeds and
settings, and comparing each with the original. Call only with an `OpenBundle` from `open_bundle`,
which has already checked everything this reads."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from assay.evals.models import SampleRecord, Suite
from assay.evals.runner import RunSpec, RunSummary, load_run
from assay.manifest import Manifest, load_manifest
from assay.replay.compare import compare_run
from assay.replay.environment import current_environment, environment_notes
from assay.replay.models import FILES_PREFIX, RUNS_PREFIX, ReplayReport, RunEntry
from assay.replay.reader import OpenBundle
from assay.workspace import Workspace

Progress = Callable[[int, int], None]
ProgressFactory = Callable[[RunEntry, int, int], AbstractContextManager[Progress | None]]
EXTRACTED = "bundle-{sha}"
"""The folder inside the replay workspace that holds the bundle's manifest and suite files."""
MARKER = ".assay-replay"
"""Marks a folder `_extract` made, so a second replay of the bundle may replace it (and nothing else)."""


def _extract(bundle: OpenBundle, base: Path) -> Path:
    """The manifest and suite files, laid out as beside the original manifest (files/X → X)."""
    if base.exists():
        if not (base / MARKER).is_file():
            raise ValueError(f"{base} exists and was not made by assay replay; replay elsewhere")
        shutil.rmtree(base)
    base.mkdir(parents=True)
    (base / MARKER).write_text(bundle.sha256 + "\n")
    manifest_path = base / "assay.yaml"
    manifest_path.write_bytes(bundle.read(bundle.contents.manifest))
    for m in bundle.contents.members:
        if m.path.startswith(FILES_PREFIX):
            target = base / m.path.removeprefix(FILES_PREFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bundle.read(m.path))
    return manifest_path


def _point_targets(manifest: Manifest, urls: Mapping[str, str]) -> Manifest:
    """Send a target's requests elsewhere (the replayer's own deployment of the same endpoint)."""
    ids = {t.id for t in manifest.targets}
    unknown = sorted(set(urls) - ids)
    if unknown:
        raise ValueError(
            f"--target-url names {', '.join(unknown)}, but the bundle's targets are: {', '.join(sorted(ids))}"
        )
    targets = [t.model_copy(update={"base_url": urls[t.id]}) if t.id in urls else t for t in manifest.targets]
    return manifest.model_copy(update={"targets": targets})


def _refuse_code(bundle: OpenBundle, allow_code: bool) -> None:
    """A `python` target runs the bundle's own code on this machine: only when the replayer says so
    (checked before anything is extracted)."""
    used = {r.target_id for r in bundle.contents.runs}
    python = sorted(
        str(t.get("id")) for t in bundle.contents.targets if t.get("id") in used and t.get("kind") == "python"
    )
    if python and not allow_code:
        raise ValueError(
            f"the bundle's runs call python target(s) {', '.join(python)}, whose code would run on this "
            "machine; read it (files/ in the bundle), then pass --allow-code to replay them"
        )


def _original(bundle: OpenBundle, run_id: str) -> tuple[RunSpec, Suite, RunSummary, list[SampleRecord]]:
    folder = f"{RUNS_PREFIX}{run_id}/"
    spec = RunSpec.model_validate_json(bundle.read(folder + "spec.json"))
    suite = Suite.model_validate_json(bundle.read(folder + "suite.json"))
    summary = RunSummary.model_validate_json(bundle.read(folder + "summary.json"))
    records = [
        SampleRecord.model_validate_json(line)
        for line in bundle.read(folder + "log.jsonl").splitlines()
        if line.strip()
    ]
    return spec, suite, summary, records


def replay(
    bundle: OpenBundle,
    folder: str | Path,
    *,
    target_urls: Mapping[str, str] | None = None,
    progress: ProgressFactory | None = None,
    database_url: str | None = None,
    allow_code: bool = False,
) -> ReplayReport:
    """Re-run every run of the bundle into the workspace at `folder/.assay` (created if new) and compare.

    The response cache is off, so every answer is asked again; each replayed run is signed evidence of
    the replaying workspace, and so is the comparison (`replay.json`, kind `eval.replay`)."""
    from assay.assurance.evidence import record_evidence
    from assay.evals.service import evaluate
    from assay.store.blobs import atomic_write

    _refuse_code(bundle, allow_code)
    named = {str(t.get("id")) for t in bundle.contents.targets}
    unknown = sorted(set(target_urls or {}) - named)
    if unknown:  # said before anything is extracted
        raise ValueError(
            f"--target-url names {', '.join(unknown)}, "
            f"but the bundle's targets are: {', '.join(sorted(named)) or 'none'}"
        )
    root = Path(folder).resolve()
    manifest_path = _extract(bundle, root / EXTRACTED.format(sha=bundle.sha256[:12]))
    manifest = _point_targets(load_manifest(manifest_path), target_urls or {})
    ws = Workspace(root / ".assay", database_url)
    comparisons = []
    try:
        runs = bundle.contents.runs
        for i, entry in enumerate(runs):
            spec, suite, summary, records = _original(bundle, entry.run_id)
            options = spec.options.model_copy(update={"use_cache": False})
            bar = progress(entry, i, len(runs)) if progress else nullcontext(None)
            with bar as update:
                outcome = asyncio.run(
                    evaluate(
                        ws,
                        suite,
                        spec.target_id,
                        manifest=manifest,
                        base_dir=manifest_path.parent,
                        options=options,
                        progress=update,
                    )
                )
            new_spec, _, new_records, new_summary = load_run(Path(outcome.folder))
            assert new_summary is not None
            comparisons.append(compare_run(spec, summary, records, new_spec, new_summary, list(new_records)))
        report = ReplayReport(
            bundle=str(bundle.path),
            bundle_sha256=bundle.sha256,
            system=bundle.contents.system.id,
            key_id=bundle.contents.key_id,
            workspace=str(ws.home),
            runs=comparisons,
            environment_notes=environment_notes(bundle.contents.environment, current_environment()),
            status="differs" if any(c.status == "differs" for c in comparisons) else "reproduced",
        )
        content = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False).encode() + b"\n"
        atomic_write(root / "replay.json", content)
        record_evidence(
            ws,
            content,
            kind="eval.replay",
            system=bundle.contents.system.id,
            name="replay.json",
            media_type="application/json",
            summary=f"replay of bundle {bundle.sha256[:12]}: {report.status}",
        )
    finally:
        ws.close()
    return report
