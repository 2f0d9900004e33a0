"""Local Hugging Face material: `save_to_disk` folders, DatasetDicts, hub-snapshot folders.

Assay never downloads a dataset; it reads what is already on disk, without the `datasets` package.
Layout assumed (that of `datasets` 2.x/3.x `save_to_disk`):

- a Dataset folder holds `state.json` (its `_data_files` list names the shards in order),
  `dataset_info.json` (features, including ClassLabel names) and `data-0000N-of-0000M.arrow` shards
  in the Arrow IPC *stream* format (older versions wrote a single `dataset.arrow`);
- a DatasetDict folder holds `dataset_dict.json` (`{"splits": [...]}`) and one Dataset folder per split;
- a hub snapshot is any folder of data files, split by name the way the hub does it:
  `data/train-00000-of-00001.parquet`, `test.jsonl`, `validation/0000.parquet` …
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assay import jsonio
from assay.evals.suites.files import BINARY_FORMATS, TEXT_FORMATS, fatal, label_names_from_features
from assay.evals.suites.report import LoadReport, Problem

KNOWN_SPLITS = ("test", "validation", "valid", "dev", "eval", "evaluation", "train")
SPLIT_PREFERENCE = ("test", "validation", "valid", "dev", "eval", "evaluation", "train")
METADATA_FILES = {"dataset_info.json", "dataset_infos.json", "state.json", "dataset_dict.json", "config.json"}


@dataclass
class DataFile:
    path: Path
    fmt: str
    labels: dict[str, list[str]] = field(default_factory=dict)


def is_saved_dataset(folder: Path) -> bool:
    return (folder / "state.json").is_file() or (
        (folder / "dataset_info.json").is_file() and any(folder.glob("*.arrow"))
    )


def is_dataset_dict(folder: Path) -> bool:
    return (folder / "dataset_dict.json").is_file()


def _read_json(path: Path) -> dict:
    try:
        data = jsonio.read_json(path)
    except jsonio.JsonLimitError as exc:
        fatal(path, exc.message)
    except (OSError, ValueError) as exc:
        fatal(path, f"cannot read: {exc}")
    if not isinstance(data, dict):
        fatal(path, "expected a JSON object")
    return data


def saved_dataset_files(folder: Path) -> list[DataFile]:
    """The Arrow shards of one `save_to_disk` Dataset, in the order `state.json` lists them."""
    labels: dict[str, list[str]] = {}
    info_path = folder / "dataset_info.json"
    if info_path.is_file():
        labels = label_names_from_features(_read_json(info_path).get("features"))
    names: list[str] = []
    state_path = folder / "state.json"
    if state_path.is_file():
        for entry in _read_json(state_path).get("_data_files") or []:
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
                names.append(entry["filename"])
    if not names:
        names = sorted(p.name for p in folder.glob("*.arrow"))
    if not names:
        fatal(folder, "no .arrow data files in this saved dataset", expected="data-00000-of-00001.arrow")
    files = []
    for name in names:
        path = folder / name
        if not path.is_file():
            fatal(state_path, f"lists data file '{name}', which is missing", field="_data_files")
        files.append(DataFile(path, "arrow", labels))
    return files


def choose_split(available: list[str], split: str | None, where: Path, report: LoadReport) -> str:
    """An explicit split must exist; without one, a lone split is used, else test before validation …"""
    if split is not None:
        if split not in available:
            fatal(where, f"no split '{split}'", field="split", expected="one of: " + ", ".join(available))
        return split
    if len(available) == 1:
        return available[0]
    for preferred in SPLIT_PREFERENCE:
        if preferred in available:
            report.warnings.append(
                Problem(
                    file=str(where),
                    field="split",
                    message=f"splits {', '.join(available)} found; using '{preferred}'",
                    expected="split= to choose another",
                )
            )
            return preferred
    fatal(where, "several splits and none chosen", field="split", expected="one of: " + ", ".join(available))


def dataset_dict_files(folder: Path, split: str | None, report: LoadReport) -> list[DataFile]:
    splits = _read_json(folder / "dataset_dict.json").get("splits")
    if not isinstance(splits, list) or not splits:
        splits = sorted(p.name for p in folder.iterdir() if p.is_dir() and is_saved_dataset(p))
    chosen = choose_split([str(s) for s in splits], split, folder, report)
    sub = folder / chosen
    if not is_saved_dataset(sub):
        fatal(sub, f"split '{chosen}' has no saved dataset here", expected="state.json and .arrow files")
    return saved_dataset_files(sub)


def data_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return TEXT_FORMATS.get(suffix) or BINARY_FORMATS.get(suffix)


def _split_of(rel: Path) -> str | None:
    for part in rel.parent.parts:
        if part.lower() in KNOWN_SPLITS:
            return part.lower()
    token = re.split(r"[-_.]", rel.name, maxsplit=1)[0].lower()
    return token if token in KNOWN_SPLITS else None


def _matches(rel: Path, split: str) -> bool:
    if split in rel.parent.parts:
        return True
    return rel.stem == split or re.match(rf"{re.escape(split)}[-_.]", rel.name) is not None


def snapshot_files(folder: Path, split: str | None, report: LoadReport) -> list[DataFile]:
    """Data files of a hub-snapshot-like folder, restricted to one split when there are several."""
    found: list[Path] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.name in METADATA_FILES or data_format(path) is None:
            continue
        found.append(rel)
    if not found:
        fatal(folder, "no data files in this folder", expected="*.parquet, *.jsonl, *.csv, *.json or *.arrow")
    if split is not None:
        chosen = [rel for rel in found if _matches(rel, split)]
        if not chosen:
            fatal(folder, f"no file belongs to split '{split}'", field="split")
    else:
        splits = sorted({s for rel in found if (s := _split_of(rel)) is not None})
        if len(splits) > 1:
            pick = choose_split(splits, None, folder, report)
            chosen = [rel for rel in found if _split_of(rel) == pick]
        else:
            chosen = found
    formats = {data_format(folder / rel) for rel in chosen}
    if len(formats) > 1:
        report.warnings.append(
            Problem(
                file=str(folder),
                field="(folder)",
                message=f"mixed data formats ({', '.join(sorted(f or '' for f in formats))}); reading all",
            )
        )
    return [DataFile(folder / rel, data_format(folder / rel) or "") for rel in chosen]


def folder_files(folder: Path, split: str | None, report: LoadReport) -> tuple[str, list[DataFile]]:
    """What kind of Hugging Face folder this is, and the data files to read from it."""
    if is_dataset_dict(folder):
        return "hf-dataset-dict", dataset_dict_files(folder, split, report)
    if is_saved_dataset(folder):
        if split is not None:
            report.warnings.append(
                Problem(file=str(folder), field="split", message="a saved Dataset has no splits; ignored")
            )
        return "hf-saved-dataset", saved_dataset_files(folder)
    return "folder", snapshot_files(folder, split, report)
