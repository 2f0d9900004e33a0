"""A suite written as YAML: the header validated against `Suite`, samples inline or from a file.

Every problem names the YAML line, using the same position-keeping loader as the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.suites.render import TemplateRenderError, check_template, render_prompt
from assay.evals.suites.report import LoadReport, Problem, SuiteInvalid
from assay.evals.suites.rows import FieldMap, SampleCollector
from assay.evals.suites.scoring import normalise_scorer
from assay.manifest.loader import format_path
from assay.manifest.yamlpos import LocatedYaml, YamlSyntaxError, load_located
from assay.yamlio import YamlLimits

MAX_SUITE_BYTES = 20 * 1024 * 1024
SUITE_LIMITS = YamlLimits(max_bytes=MAX_SUITE_BYTES)
LOADER_KEYS = ("samples_file", "fields", "split", "allow_outside")

SampleFileLoader = Callable[..., tuple[list[Sample], LoadReport]]


def _problem(
    file: str, located: LocatedYaml, path: tuple[Any, ...], message: str, expected: str = ""
) -> Problem:
    pos = located.locate(path)
    return Problem(
        file=file,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
        field=format_path(path),
        message=message,
        expected=expected,
    )


def read_located(path: Path) -> tuple[str, LocatedYaml]:
    file = str(path)
    if path.stat().st_size > MAX_SUITE_BYTES:
        raise SuiteInvalid(
            [
                Problem(
                    file=file,
                    field="(document)",
                    message="larger than 20 MiB; keep samples in a samples_file",
                )
            ]
        )
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise SuiteInvalid(
            [Problem(file=file, line=line, field="(document)", message="not UTF-8 text")]
        ) from None
    try:
        return text, load_located(text, file=file, limits=SUITE_LIMITS)
    except YamlSyntaxError as exc:
        raise SuiteInvalid([exc.as_problem(file)]) from None


def _inline_samples(
    raw: Any, located: LocatedYaml, file: str, report: LoadReport, collector: SampleCollector
) -> None:
    if not isinstance(raw, list):
        raise SuiteInvalid([_problem(file, located, ("samples",), "samples must be a list", "a YAML list")])
    for i, item in enumerate(raw):
        report.rows_read += 1
        pos = located.locate(("samples", i))
        line = pos.line if pos else None
        if not isinstance(item, dict):
            report.skipped.append(_problem(file, located, ("samples", i), "a sample must be a mapping"))
            continue
        data = dict(item)
        if data.get("id") in (None, ""):
            data["id"] = str(i)
        try:
            sample = Sample.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ("samples", i, *err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    message = f"unknown sample field '{err['loc'][-1]}'"
                report.skipped.append(
                    _problem(file, located, loc, message, "fields: " + ", ".join(Sample.model_fields))
                )
            continue
        collector.add_sample(sample, line, file, f"samples[{i}].")


def load_yaml_suite(
    path: Path,
    *,
    report: LoadReport,
    load_samples: SampleFileLoader,
    scorers: list[ScorerSpec] | None = None,
    fields: FieldMap | None = None,
    split: str | None = None,
) -> Suite:
    """Read one suite file. Header problems are fatal; sample problems skip the sample (see strict)."""
    file = str(path)
    text, located = read_located(path)
    problems = [
        _problem(file, located, p, f"key '{p[-1]}' appears twice", "each key once")
        for p, _ in located.duplicate_keys
    ]
    doc = located.value
    if not isinstance(doc, dict):
        problems.append(
            Problem(
                file=file,
                line=1,
                field="(document)",
                message="not a mapping",
                expected="a suite: id, scorers, samples or samples_file …",
            )
        )
        raise SuiteInvalid(problems)
    header = {k: v for k, v in doc.items() if k not in (*LOADER_KEYS, "samples")}
    if isinstance(header.get("scorers"), list):
        header["scorers"] = [normalise_scorer(s) for s in header["scorers"]]
    if scorers:
        header["scorers"] = scorers
        if header.get("primary_scorer") not in {s.name for s in scorers}:
            header.pop("primary_scorer", None)
    header.setdefault("source", file)

    samples: list[Sample] = []
    if "samples" in doc and "samples_file" in doc:
        problems.append(_problem(file, located, ("samples_file",), "give samples or samples_file, not both"))
    elif "samples_file" in doc:
        samples = _samples_from_file(path, doc, located, report, load_samples, fields, split, problems)
    elif "samples" in doc:
        collector = SampleCollector(report, FieldMap(), file)
        _inline_samples(doc["samples"], located, file, report, collector)
        samples = collector.samples
    else:
        problems.append(_problem(file, located, (), "no samples", "samples: [...] or samples_file: FILE"))

    template = header.get("template")
    if isinstance(template, str):
        try:
            check_template(template)
        except TemplateRenderError as exc:
            problems.append(_template_problem(file, located, exc, text))
            header.pop("template")
    if problems:
        raise SuiteInvalid(problems)
    try:
        suite = Suite.model_validate({**header, "samples": samples})
    except ValidationError as exc:
        raise SuiteInvalid(_validation_problems(exc, located, file, report)) from None
    _check_suite(suite, located, file, text)
    return suite


def _samples_from_file(
    path: Path,
    doc: dict[str, Any],
    located: LocatedYaml,
    report: LoadReport,
    load_samples: SampleFileLoader,
    fields: FieldMap | None,
    split: str | None,
    problems: list[Problem],
) -> list[Sample]:
    file = str(path)
    ref = doc["samples_file"]
    if not isinstance(ref, str) or not ref:
        problems.append(
            _problem(file, located, ("samples_file",), "must be a path", "a path relative to this file")
        )
        return []
    target = (path.parent / ref).resolve()
    if doc.get("allow_outside") is not True and not target.is_relative_to(path.parent.resolve()):
        problems.append(
            _problem(
                file,
                located,
                ("samples_file",),
                f"'{ref}' leaves this suite's folder",
                "a path inside the suite's folder, or 'allow_outside: true' in the suite",
            )
        )
        return []
    if not target.exists():
        problems.append(_problem(file, located, ("samples_file",), f"'{ref}' not found (looked at {target})"))
        return []
    try:
        base = FieldMap.model_validate(doc.get("fields") or {})
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(
                _problem(
                    file,
                    located,
                    ("fields", *err["loc"]),
                    err["msg"],
                    "input, target, id, choices, category, language",
                )
            )
        return []
    if fields is not None:
        base = FieldMap.model_validate(
            {**base.model_dump(exclude_none=True), **fields.model_dump(exclude_none=True)}
        )
    file_split = split if split is not None else doc.get("split")
    samples, sub = load_samples(target, fields=base, split=file_split, strict=False)
    report.merge(sub)
    return samples


def _template_problem(file: str, located: LocatedYaml, exc: TemplateRenderError, text: str) -> Problem:
    """Point at the template's own line inside the YAML file where that can be worked out."""
    pos = located.positions.get(("template",)) or located.locate(("template",))
    line = pos.line if pos else None
    if pos is not None and exc.line:
        lines = text.splitlines()
        indicator = lines[pos.line - 1][pos.column - 1 : pos.column] if pos.line <= len(lines) else ""
        # a block scalar (| or >) starts on the line after its indicator; a flow scalar on the same line
        line = pos.line + exc.line - (0 if indicator in ("|", ">") else 1)
    return Problem(file=file, line=line, field="template", message=exc.message, expected="a Jinja2 template")


def _validation_problems(
    exc: ValidationError, located: LocatedYaml, file: str, report: LoadReport
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        expected = ""
        if err["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            expected = "suite keys: " + ", ".join([*Suite.model_fields, *LOADER_KEYS])
        elif loc == ("samples",):
            message = "no usable samples" + (
                f" ({len(report.skipped)} skipped, see above)" if report.skipped else ""
            )
            expected = "at least one valid sample"
        problems.append(_problem(file, located, loc, message, expected))
    if any(tuple(err["loc"]) == ("samples",) for err in exc.errors()):
        return [*report.skipped, *problems]
    return problems


def _check_suite(suite: Suite, located: LocatedYaml, file: str, text: str) -> None:
    """Cross-field checks pydantic cannot make alone: the primary scorer exists, the template renders."""
    problems = []
    names = [s.name for s in suite.scorers]
    if suite.primary_scorer and suite.primary_scorer not in names:
        problems.append(
            _problem(
                file,
                located,
                ("primary_scorer",),
                f"'{suite.primary_scorer}' is not one of this suite's scorers",
                "one of: " + ", ".join(names),
            )
        )
    if suite.template:
        try:
            render_prompt(suite.template, suite.samples[0])
        except TemplateRenderError as exc:
            problems.append(_template_problem(file, located, exc, text))
    if problems:
        raise SuiteInvalid(problems)
