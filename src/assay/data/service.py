"""A dataset scan tied to a manifest: suites for contamination, licence, lineage, card files, evidence.

The CLI (`assay data scan`) and `assay assess` both come through here, so a card is built, rendered
and recorded the same way wherever it is asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assay.data.lineage import lineage
from assay.data.models import DataCard
from assay.data.scan import Progress, ScanOptions, SuiteText, scan_path
from assay.manifest import Manifest
from assay.manifest.schema import Dataset
from assay.store.blobs import atomic_write

CARD_KIND = "data.card"


@dataclass
class SuitePrompts:
    texts: list[SuiteText] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def suite_prompts(manifest: Manifest, base_dir: Path) -> SuitePrompts:
    """Every prompt of every suite the manifest runs (whole suites, not their samples): any of them
    appearing in training or retrieval data would inflate that suite's score."""
    from assay.evals.service import resolve_suites

    out = SuitePrompts()
    seen: set[str] = set()
    for ref in manifest.suites:
        if ref.suite in seen:
            continue
        seen.add(ref.suite)
        try:
            # only the prompts matter here: a bare sample file needs no scorer of its own to be read
            suites, _report = resolve_suites(ref.suite, base_dir, scorers=["exact"])
        except Exception as exc:  # a suite that cannot load is reported, the scan goes on without it
            out.problems.append(f"suite {ref.suite}: not compared ({type(exc).__name__}: {exc})")
            continue
        for suite in suites:
            for s in suite.samples:
                text = s.input if isinstance(s.input, str) else "\n".join(m.content for m in s.input)
                out.texts.append(SuiteText(suite=suite.id, sample_id=s.id, text=text))
    return out


def dataset_path(dataset: Dataset, base_dir: Path) -> Path | None:
    if not dataset.path:
        return None
    p = Path(dataset.path).expanduser()
    return p if p.is_absolute() else base_dir / p


def find_dataset(manifest: Manifest, base_dir: Path, path: Path) -> Dataset | None:
    """The manifest dataset whose `path` is `path`, if any."""
    target = path.resolve()
    for d in manifest.datasets:
        p = dataset_path(d, base_dir)
        if p is not None and p.resolve() == target:
            return d
    return None


def scan(
    path: Path,
    *,
    manifest: Manifest | None = None,
    base_dir: Path | None = None,
    dataset: Dataset | None = None,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    prompts: SuitePrompts | None = None,
) -> tuple[DataCard, list[str]]:
    """Scan `path`; with a manifest, compare against its suites and link the card to its dataset.

    `prompts` saves reloading the suites when several datasets of one manifest are scanned.
    Returns the card and the problems met on the way (a suite that would not load). Raises
    `DataInputError` when the data cannot be read."""
    problems: list[str] = []
    texts: list[SuiteText] = []
    commercial = None
    if manifest is not None:
        base = base_dir or Path.cwd()
        prompts = prompts if prompts is not None else suite_prompts(manifest, base)
        texts, problems = prompts.texts, prompts.problems
        commercial = manifest.system.commercial
        if dataset is None:
            dataset = find_dataset(manifest, base, path)
    card = scan_path(
        path,
        options=options,
        suite_texts=texts,
        declared_licence=dataset.licence if dataset else "",
        commercial=commercial,
        progress=progress,
    )
    if manifest is not None:
        card.system = manifest.system.id
    if dataset is not None and manifest is not None:
        card.dataset_id, card.name, card.purpose = dataset.id, dataset.name, dataset.purpose
        card.provider = dataset.provider
        card.declared_contains_personal_data = dataset.contains_personal_data
        card.lineage = lineage(manifest, dataset)
        if card.personal_data and not dataset.contains_personal_data:
            card.findings.insert(
                0, "the manifest declares contains_personal_data: false, but personal data was found"
            )
    return card, problems


def card_json(card: DataCard) -> bytes:
    return (json.dumps(card.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode()


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader

    # Autoescape always: column names, file names and snippets come from the data.
    return Environment(
        loader=PackageLoader("assay.web", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


def card_html(card: DataCard) -> str:
    return _environment().get_template("data_card.html").render(card=card)


def card_schema() -> dict[str, Any]:
    return DataCard.model_json_schema()


def card_stem(card: DataCard) -> str:
    base = card.dataset_id or Path(card.path).name.split(".")[0] or "dataset"
    return "data-card-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in base)


def write_card(card: DataCard, out_dir: Path) -> list[Path]:
    """The card as JSON and HTML in `out_dir`, each written whole or not at all."""
    stem = card_stem(card)
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.html"]
    contents = [card_json(card), card_html(card).encode()]  # both rendered before either is written
    for path, content in zip(paths, contents, strict=True):
        atomic_write(path, content)
    return paths
