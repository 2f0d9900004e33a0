"""Project Moonshot's own files, read unchanged: datasets, recipes, cookbooks and prompt templates.

A Moonshot data folder ("moonshot-data") keeps them side by side and refers to them by file stem:
`<root>/datasets/<id>.json`, `<root>/prompt-templates/<id>.json`, `<root>/recipes/<id>.json`,
`<root>/cookbooks/<id>.json`. A recipe becomes one Assay suite (its datasets combined, its template,
its metrics mapped to Assay scorers, its grading scale as grade bands); a cookbook becomes one suite
per recipe. Files are parsed whole with `json.load`, which suits the published datasets (the largest
are tens of megabytes); a streaming parser would be needed for files beyond a few hundred megabytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.evals.models import GradeBand, Message, Sample, ScorerSpec, Suite
from assay.evals.suites.files import fatal, iter_json_array, read_json
from assay.evals.suites.render import TemplateRenderError, check_template, render_prompt
from assay.evals.suites.report import LoadReport, Problem, SuiteInvalid
from assay.evals.suites.rows import FieldMap, SampleCollector
from assay.evals.suites.scoring import EXACT, REFUSAL, infer_scorers

MoonshotKind = Literal["dataset", "recipe", "cookbook", "prompt-template"]

# Moonshot metric id -> the Assay scorer that judges the same thing; absent: no equivalent here.
METRIC_SCORERS: dict[str, ScorerSpec] = {
    # Moonshot compares the raw strings: case and spacing count
    "exactstrmatch": ScorerSpec(name=EXACT, params={"ignore_case": False, "ignore_whitespace": False}),
    # Moonshot lower-cases and drops symbols and spaces before comparing; this is the nearest folding
    "relaxstrmatch": ScorerSpec(
        name=EXACT, params={"ignore_case": True, "ignore_punctuation": True, "ignore_whitespace": True}
    ),
    # Moonshot asks an evaluator model whether the answer refused; Assay's refusal scorer is rule-based
    "refusal": ScorerSpec(name=REFUSAL),
}


class MoonshotDataset(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    description: str = ""
    license: str = ""
    reference: str = ""
    examples: list[Any]


class MoonshotRecipe(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(min_length=1)
    prompt_templates: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    attack_modules: list[str] = Field(default_factory=list)
    grading_scale: dict[str, list[float]] = Field(default_factory=dict)


class MoonshotCookbook(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str = Field(min_length=1)
    description: str = ""
    recipes: list[str] = Field(min_length=1)


class MoonshotPromptTemplate(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    description: str = ""
    template: str


def detect_kind(data: Any) -> MoonshotKind | None:
    """Which Moonshot file this is, judged by content (the folder it sits in is not needed)."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("examples"), list):
        return "dataset"
    if isinstance(data.get("recipes"), list):
        return "cookbook"
    if isinstance(data.get("datasets"), list) and ("metrics" in data or "prompt_templates" in data):
        return "recipe"
    if isinstance(data.get("template"), str) and "name" in data:
        return "prompt-template"
    return None


def _key_line(path: Path, key: str) -> int | None:
    """The line of a top-level key in a JSON file, so a problem in it can point somewhere."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _validate(model: type[BaseModel], data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            problems.append(
                Problem(
                    file=str(path),
                    line=_key_line(path, loc[0]) if loc else None,
                    field=".".join(loc) or "(document)",
                    message=err["msg"],
                    expected=f"a Moonshot {model.__name__.removeprefix('Moonshot').lower()} file",
                )
            )
        raise SuiteInvalid(problems) from None


def root_of(path: Path) -> Path:
    """A recipe in `<root>/recipes/` or a cookbook in `<root>/cookbooks/` names files under `<root>`."""
    return path.resolve().parent.parent


def dataset_samples(
    path: Path, report: LoadReport, fields: FieldMap | None = None, data: Any = None
) -> tuple[MoonshotDataset, list[Sample]]:
    """The examples of one Moonshot dataset as samples `<dataset-id>:<index>`, category = dataset id."""
    if data is None:
        data = read_json(path)
    info = _validate(MoonshotDataset, data, path)
    ds_id = path.stem
    collector = SampleCollector(report, fields or FieldMap(), str(path), id_prefix=f"{ds_id}:")
    examples_line: list[int | None] = []  # found only if a problem needs it
    for _, row in iter_json_array(path, report, info.examples):
        before = len(report.skipped)
        collector.add_row(row)
        for problem in report.skipped[before:]:
            problem.field = f"examples{problem.field}" if problem.field.startswith("[") else problem.field
            if not examples_line:
                examples_line.append(_key_line(path, "examples"))
            problem.line = problem.line or examples_line[0]
    for sample in collector.samples:
        sample.category = sample.category or ds_id
        sample.metadata.setdefault("dataset", ds_id)
    return info, collector.samples


def _describe(info: MoonshotDataset) -> str:
    extra = [
        f"Licence: {info.license}." if info.license else "",
        f"Reference: {info.reference}." if info.reference else "",
    ]
    return "\n\n".join(part for part in [info.description, " ".join(p for p in extra if p)] if part)


def suite_from_dataset(
    path: Path,
    report: LoadReport,
    scorers: list[ScorerSpec] | None = None,
    data: Any = None,
    fields: FieldMap | None = None,
) -> Suite:
    info, samples = dataset_samples(path, report, fields, data)
    specs = scorers or infer_scorers(samples)
    if not scorers and specs:
        report.warnings.append(
            Problem(
                file=str(path),
                field="scorers",
                message="no scorers given; using " + ", ".join(s.name for s in specs),
            )
        )
    return _build_suite(
        path,
        {
            "id": path.stem,
            "title": info.name,
            "description": _describe(info),
            "scorers": specs,
            "samples": samples,
            "source": str(path),
        },
    )


def _build_suite(path: Path, data: dict[str, Any]) -> Suite:
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            message = err["msg"]
            expected = ""
            if field == "scorers":
                message = "no scorer to judge the answers"
                expected = "scorers= naming at least one scorer"
            elif field == "samples":
                message = "no usable samples"
                expected = "at least one valid example"
            problems.append(Problem(file=str(path), field=field, message=message, expected=expected))
        raise SuiteInvalid(problems) from None


def grade_bands(scale: dict[str, list[float]], path: Path) -> list[GradeBand]:
    """Moonshot's `{"A": [80, 100], ...}` (percent, or 0-1 in newer files) as min-score bands."""
    if not scale:
        return []
    bands = []
    percent = any(v > 1 for bounds in scale.values() for v in bounds)
    for grade, bounds in scale.items():
        if len(bounds) != 2 or bounds[0] > bounds[1]:
            fatal(
                path,
                f"grade '{grade}' needs [low, high]",
                field=f"grading_scale.{grade}",
                line=_key_line(path, "grading_scale"),
            )
        low = bounds[0] / 100 if percent else bounds[0]
        bands.append(GradeBand(grade=grade, min_score=max(0.0, min(1.0, low))))
    return sorted(bands, key=lambda b: b.min_score, reverse=True)


def map_metrics(metrics: list[str], path: Path, report: LoadReport) -> list[ScorerSpec]:
    """Moonshot metrics as Assay scorers; a metric with no equivalent is skipped with a warning."""
    specs: list[ScorerSpec] = []
    line = _key_line(path, "metrics")
    for metric in metrics:
        spec = METRIC_SCORERS.get(metric)
        if spec is None:
            report.warnings.append(
                Problem(
                    file=str(path),
                    line=line,
                    field="metrics",
                    message=f"Moonshot metric '{metric}' has no equivalent Assay scorer; skipped",
                    expected="one of: " + ", ".join(sorted(METRIC_SCORERS)),
                )
            )
        elif spec not in specs:
            specs.append(spec)
    return specs


def _template(root: Path, template_id: str, recipe: Path) -> str:
    path = root / "prompt-templates" / f"{template_id}.json"
    if not path.is_file():
        fatal(
            recipe,
            f"prompt template '{template_id}' not found at {path}",
            field="prompt_templates",
            line=_key_line(recipe, "prompt_templates"),
        )
    template = _validate(MoonshotPromptTemplate, read_json(path), path).template
    try:
        check_template(template)
    except TemplateRenderError as exc:
        fatal(path, exc.message, field="template", line=_key_line(path, "template"))
    return template


def suite_from_recipe(
    path: Path,
    report: LoadReport,
    *,
    root: Path | None = None,
    scorers: list[ScorerSpec] | None = None,
    data: Any = None,
) -> Suite:
    """One suite for one recipe: every dataset's examples, under each of the recipe's templates.

    With one template the suite keeps it as its Jinja2 template; with several, each sample is
    repeated per template with the prompt already rendered (id `<dataset>:<index>@<template>`).
    """
    recipe = _validate(MoonshotRecipe, read_json(path) if data is None else data, path)
    root = root or root_of(path)
    recipe_id = recipe.id or path.stem
    samples: list[Sample] = []
    for ds_id in recipe.datasets:
        ds_path = root / "datasets" / f"{ds_id}.json"
        if not ds_path.is_file():
            fatal(
                path,
                f"dataset '{ds_id}' not found at {ds_path}",
                field="datasets",
                line=_key_line(path, "datasets"),
                expected="a Moonshot data folder with datasets/",
            )
        _, ds_samples = dataset_samples(ds_path, report)
        samples.extend(ds_samples)
    templates = [(tid, _template(root, tid, path)) for tid in recipe.prompt_templates]
    template: str | None = None
    if len(templates) == 1:
        template = templates[0][1]
    elif len(templates) > 1:
        samples = _expand(samples, templates)
    for sample in samples:
        if recipe.categories:
            sample.metadata.setdefault("moonshot_categories", list(recipe.categories))
    if recipe.attack_modules:
        report.warnings.append(
            Problem(
                file=str(path),
                line=_key_line(path, "attack_modules"),
                field="attack_modules",
                message="attack modules are not imported; use Assay's red-team attacks instead",
            )
        )
    specs = scorers or map_metrics(recipe.metrics, path, report)
    grades = grade_bands(recipe.grading_scale, path)
    suite_data: dict[str, Any] = {
        "id": recipe_id,
        "title": recipe.name,
        "description": recipe.description,
        "template": template,
        "scorers": specs,
        "primary_scorer": specs[0].name if specs else None,
        "samples": samples,
        "source": str(path),
    }
    if grades:
        suite_data["grades"] = grades
    return _build_suite(path, suite_data)


def _expand(samples: list[Sample], templates: list[tuple[str, str]]) -> list[Sample]:
    out = []
    for sample in samples:
        for tid, template in templates:
            text = render_prompt(template, sample)
            copy = sample.model_copy(deep=True)
            copy.id = f"{sample.id}@{tid}"
            copy.input = text if isinstance(sample.input, str) else [Message(role="user", content=text)]
            copy.metadata["prompt_template"] = tid
            copy.metadata.setdefault("prompt", sample.prompt_text())
            out.append(copy)
    return out


def suites_from_cookbook(
    path: Path,
    report: LoadReport,
    *,
    root: Path | None = None,
    scorers: list[ScorerSpec] | None = None,
    data: Any = None,
) -> list[Suite]:
    """A cookbook is a named list of recipes: one suite each, in the cookbook's order."""
    cookbook = _validate(MoonshotCookbook, read_json(path) if data is None else data, path)
    root = root or root_of(path)
    suites = []
    for recipe_id in cookbook.recipes:
        recipe_path = root / "recipes" / f"{recipe_id}.json"
        if not recipe_path.is_file():
            fatal(
                path,
                f"recipe '{recipe_id}' not found at {recipe_path}",
                field="recipes",
                line=_key_line(path, "recipes"),
                expected="a Moonshot data folder with recipes/",
            )
        suites.append(suite_from_recipe(recipe_path, report, root=root, scorers=scorers))
    return suites
