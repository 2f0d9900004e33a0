"""One entry point for every kind of suite source, told apart by name, suffix and content.

- a bare name: a built-in or user suite (see `resolve`);
- `*.yaml` / `*.yml`, or a folder with `suite.yaml`: an Assay suite;
- `*.json`: a Moonshot dataset, recipe or cookbook (by content), else a JSON array of samples;
- `moonshot:<path>`: insist on Moonshot (a file, or a moonshot-data folder for all its recipes);
- `*.jsonl`, `*.csv`, `*.tsv`, `*.parquet`, `*.arrow`: a bare sample file;
- a folder: a Hugging Face `save_to_disk` Dataset or DatasetDict, or a hub-snapshot-like folder.

A bare sample source becomes a suite with the caller's scorers, or scorers inferred from the samples.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.suites import hf, moonshot
from assay.evals.suites.files import TEXT_FORMATS, columns_of, fatal, iter_rows, read_json
from assay.evals.suites.report import LoadReport, Problem, SuiteInvalid
from assay.evals.suites.resolve import is_name, resolve_suite, suite_dirs
from assay.evals.suites.rows import MAPPABLE, FieldMap, SampleCollector
from assay.evals.suites.scoring import ScorerLike, as_specs, infer_scorers
from assay.evals.suites.yamlsuite import load_yaml_suite

MOONSHOT_PREFIX = "moonshot:"
SHOWN_SKIPS = 5  # skipped rows quoted when a whole file is unusable
FIELD_OPTIONS = tuple(f"{name}_field" for name in MAPPABLE)


def _field_map(fields: FieldMap | None, options: dict[str, Any]) -> FieldMap | None:
    unknown = [k for k in options if k not in FIELD_OPTIONS]
    if unknown:
        hints = [
            f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(k, FIELD_OPTIONS, 1)) else k
            for k in unknown
        ]
        raise TypeError(f"unknown loader option(s): {', '.join(hints)}; known: {', '.join(FIELD_OPTIONS)}")
    if not options:
        return fields
    return FieldMap.from_options(options, fields)


def _finish(report: LoadReport, strict: bool) -> None:
    if strict and report.skipped:
        raise SuiteInvalid(list(report.skipped))


def _file_format(path: Path, format: str | None) -> str:
    if format:
        return format
    fmt = hf.data_format(path)
    if fmt is None:
        fatal(
            path,
            f"unknown file type '{path.suffix}'",
            expected="yaml, json, jsonl, csv, tsv, parquet, arrow or a dataset folder",
        )
    return fmt


def load_samples(
    path: str | Path,
    *,
    strict: bool = False,
    fields: FieldMap | None = None,
    split: str | None = None,
    format: str | None = None,
    **options: Any,
) -> tuple[list[Sample], LoadReport]:
    """Samples from a file or dataset folder (not a suite file), with a report of what was skipped.

    `options` are the column choices `input_field`, `target_field`, `id_field`, `choices_field`,
    `category_field` and `language_field`; `split` picks a split of a Hugging Face folder.
    """
    path = Path(path)
    fmap = _field_map(fields, options) or FieldMap()
    report = LoadReport(source=str(path))
    if not path.exists():
        fatal(path, "not found", expected="a sample file or dataset folder")
    if path.is_dir():
        report.format, files = hf.folder_files(path, split, report)
    else:
        fmt = _file_format(path, format)
        if fmt == "json":
            data = read_json(path)
            if moonshot.detect_kind(data) == "dataset":
                report.format = "moonshot-dataset"
                _, samples = moonshot.dataset_samples(path, report, fmap, data)
                _finish(report, strict)
                return samples, report
        report.format = fmt
        files = [hf.DataFile(path, fmt)]
    collector = SampleCollector(report, fmap, str(path))
    for data_file in files:
        columns = columns_of(data_file.path, data_file.fmt)
        if columns is not None:
            problems = fmap.column_problems(columns, str(data_file.path))
            if problems:
                raise SuiteInvalid(problems)
        for line, row in iter_rows(data_file.path, data_file.fmt, report, data_file.labels):
            collector.add_row(row, line, str(data_file.path))
    report.warnings.extend(collector.mapping_notes())
    _finish(report, strict)
    return collector.samples, report


def _bare_suite(
    path: Path,
    samples: list[Sample],
    report: LoadReport,
    scorers: list[ScorerSpec] | None,
    meta: dict[str, Any],
) -> Suite:
    if not samples:
        shown = report.skipped[:SHOWN_SKIPS]
        more = len(report.skipped) - len(shown)
        headline = Problem(
            file=str(path),
            field="samples",
            message=f"no usable samples: all {report.rows_read} row(s) were skipped"
            + (f"; the first {len(shown)} reasons follow" if shown else "")
            + (f" ({more} more alike)" if more > 0 else ""),
            expected="rows with at least a prompt",
        )
        raise SuiteInvalid([headline, *shown])
    specs = scorers or infer_scorers(samples)
    if not specs:
        fatal(
            path,
            "no scorers given, and the samples carry nothing to infer one from (no expected answer, "
            "no expect: refuse/comply, no choices)",
            field="scorers",
            expected="scorers: `--scorers NAME[,NAME]` on the command line (e.g. --scorers refusal), "
            "`scorers=[...]` from Python",
        )
    if not scorers:
        report.warnings.append(
            Problem(
                file=str(path),
                field="scorers",
                message="no scorers given; using " + ", ".join(s.name for s in specs),
            )
        )
    data = {
        "id": path.stem if path.is_file() else path.name,
        "title": "",
        "scorers": specs,
        "samples": samples,
        "source": str(path),
    }
    data.update({k: v for k, v in meta.items() if v is not None})
    return Suite.model_validate(data)


def _dedupe(suite: Suite, report: LoadReport) -> Suite:
    """Ids must be unique across a whole suite (a recipe may list one dataset twice)."""
    seen: set[str] = set()
    kept = []
    for sample in suite.samples:
        if sample.id in seen:
            report.skipped.append(
                Problem(
                    file=suite.source or "",
                    field="id",
                    message=f"duplicate sample id '{sample.id}'",
                    expected="each sample id once",
                )
            )
            continue
        seen.add(sample.id)
        kept.append(sample)
    if len(kept) != len(suite.samples):
        suite.samples = kept
        report.samples_loaded -= len(suite.samples) - len(kept)
    return suite


def _locate(path_or_name: str | Path, search_path: Sequence[str | Path] | None) -> tuple[Path, bool]:
    """The file or folder meant, and whether Moonshot was asked for explicitly."""
    text = str(path_or_name)
    forced = text.startswith(MOONSHOT_PREFIX)
    if forced:
        text = text[len(MOONSHOT_PREFIX) :]
    if not forced and isinstance(path_or_name, str):
        found = resolve_suite(text, search_path)
        if found is not None:
            return found, False
    path = Path(text).expanduser()
    if not path.exists():
        where = ""
        if is_name(text):
            where = "; searched " + ", ".join(str(d) for d in suite_dirs(search_path))
        fatal(
            path,
            f"no suite named or found at '{text}'{where}",
            field="(suite)",
            expected="a suite name, a suite file, a sample file or a dataset folder",
        )
    return path, forced


def _moonshot(
    path: Path,
    report: LoadReport,
    scorers: list[ScorerSpec] | None,
    root: Path | None,
    fields: FieldMap | None = None,
    data: Any = None,
) -> list[Suite]:
    if path.is_dir():
        recipes = sorted((path / "recipes").glob("*.json"))
        if not recipes:
            fatal(path, "no recipes/ folder with recipe files", expected="a Moonshot data folder")
        report.format = "moonshot-data"
        out = []
        for recipe in recipes:
            out.append(moonshot.suite_from_recipe(recipe, report, root=root or path, scorers=scorers))
        return out
    if data is None:
        data = read_json(path)
    kind = moonshot.detect_kind(data)
    report.format = f"moonshot-{kind}" if kind else ""
    if kind == "dataset":
        return [moonshot.suite_from_dataset(path, report, scorers, data, fields)]
    if kind == "recipe":
        return [moonshot.suite_from_recipe(path, report, root=root, scorers=scorers, data=data)]
    if kind == "cookbook":
        return moonshot.suites_from_cookbook(path, report, root=root, scorers=scorers, data=data)
    if kind == "prompt-template":
        fatal(
            path,
            "a Moonshot prompt template asks nothing by itself",
            expected="a dataset, recipe or cookbook",
        )
    fatal(
        path,
        "not a Moonshot dataset, recipe or cookbook",
        expected="a JSON object with examples, datasets+metrics, or recipes",
    )


def load_suites(
    path_or_name: str | Path,
    *,
    strict: bool = False,
    scorers: Sequence[ScorerLike] | None = None,
    split: str | None = None,
    fields: FieldMap | None = None,
    moonshot_root: str | Path | None = None,
    search_path: Sequence[str | Path] | None = None,
    suite_id: str | None = None,
    title: str | None = None,
    template: str | None = None,
    system_prompt: str | None = None,
    **options: Any,
) -> tuple[list[Suite], LoadReport]:
    """Every suite a source holds: one for most sources, one per recipe for a Moonshot cookbook or folder.

    `scorers` replaces the file's own (or the Moonshot metric mapping); `suite_id`, `title`, `template`
    and `system_prompt` describe a suite made from a bare sample file. With `strict`, any skipped row
    or duplicate id raises `SuiteInvalid`; otherwise they are listed in the report.
    """
    fmap = _field_map(fields, options)
    specs = as_specs(scorers) if scorers else None
    root = Path(moonshot_root) if moonshot_root else None
    path, forced = _locate(path_or_name, search_path)
    report = LoadReport(source=str(path))
    suites: list[Suite]
    json_data = None
    if path.is_file() and TEXT_FORMATS.get(path.suffix.lower()) == "json":
        json_data = read_json(path)
    if forced:
        suites = _moonshot(path, report, specs, root, fmap, json_data)
    elif path.is_dir() and ((path / "suite.yaml").is_file() or (path / "suite.yml").is_file()):
        suite_file = path / "suite.yaml" if (path / "suite.yaml").is_file() else path / "suite.yml"
        report.format = "assay-yaml"
        suites = [
            load_yaml_suite(
                suite_file, report=report, load_samples=load_samples, scorers=specs, fields=fmap, split=split
            )
        ]
    elif path.is_dir() and (path / "recipes").is_dir() and (path / "datasets").is_dir():
        suites = _moonshot(path, report, specs, root)
    elif path.suffix.lower() in (".yaml", ".yml"):
        report.format = "assay-yaml"
        suites = [
            load_yaml_suite(
                path, report=report, load_samples=load_samples, scorers=specs, fields=fmap, split=split
            )
        ]
    elif json_data is not None and moonshot.detect_kind(json_data):
        suites = _moonshot(path, report, specs, root, fmap, json_data)
    else:
        samples, sub = load_samples(path, fields=fmap, split=split)
        report.merge(sub)
        report.format = sub.format
        meta = {"id": suite_id, "title": title, "template": template, "system_prompt": system_prompt}
        suites = [_bare_suite(path, samples, report, specs, meta)]
    suites = [_dedupe(s, report) for s in suites]
    _finish(report, strict)
    return suites, report


def load_suite(path_or_name: str | Path, *, strict: bool = False, **options: Any) -> tuple[Suite, LoadReport]:
    """Exactly one suite (see `load_suites` for the options); a cookbook of several is an error."""
    suites, report = load_suites(path_or_name, strict=strict, **options)
    if len(suites) != 1:
        fatal(
            report.source,
            f"holds {len(suites)} suites ({', '.join(s.id for s in suites)})",
            field="(suite)",
            expected="one suite here; `assay eval run` runs each suite of a cookbook or data folder, "
            "from Python use load_suites()",
        )
    return suites[0], report
