"""Suites: what is asked of a model, as data, from Assay YAML, sample files, Moonshot and Hugging Face."""

from assay.evals.suites.loader import load_samples, load_suite, load_suites
from assay.evals.suites.render import TemplateRenderError, render_messages, render_prompt
from assay.evals.suites.report import LoadReport, Problem, SuiteInvalid
from assay.evals.suites.resolve import list_suites, resolve_suite, suite_dirs
from assay.evals.suites.rows import FieldMap

__all__ = [
    "FieldMap",
    "LoadReport",
    "Problem",
    "SuiteInvalid",
    "TemplateRenderError",
    "list_suites",
    "load_samples",
    "load_suite",
    "load_suites",
    "render_messages",
    "render_prompt",
    "resolve_suite",
    "suite_dirs",
]
