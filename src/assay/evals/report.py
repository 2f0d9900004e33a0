"""The HTML report of one run: headline numbers, pass rates by category with intervals, worst samples.

Charts are drawn by matplotlib as inline SVG, so the page is one self-contained file.
"""

from __future__ import annotations

import io
from collections import defaultdict

from assay.evals.models import SampleRecord, Score, Suite
from assay.evals.runner import RunSpec, RunSummary


def primary_scorer(suite: Suite) -> str:
    return suite.primary_scorer or suite.scorers[0].name


def _primary(record: SampleRecord, name: str) -> Score | None:
    return next((s for s in record.scores if s.scorer == name), None)


def rates_by(
    records: list[SampleRecord], scorer: str, field: str
) -> list[tuple[str, int, int, float, float]]:
    """(group, passed, judged, lower, upper) for each group, judged answers only."""
    from assay.evals.metrics import wilson_interval

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in records:
        score = _primary(r, scorer)
        if score is None or score.passed is None:
            continue
        group = getattr(r, field) or "(none)"
        counts[group][1] += 1
        counts[group][0] += int(bool(score.passed))
    rows = []
    for group in sorted(counts):
        k, n = counts[group]
        lo, hi = wilson_interval(k, n)
        rows.append((group, k, n, lo, hi))
    return rows


def _chart(rows: list[tuple[str, int, int, float, float]], title: str) -> str:
    # A bare Figure with the SVG canvas: pyplot's global state and its import cost are not needed.
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    labels = [r[0] for r in rows]
    rates = [r[1] / r[2] if r[2] else 0.0 for r in rows]
    lower = [max(0.0, rate - r[3]) for rate, r in zip(rates, rows, strict=True)]
    upper = [max(0.0, r[4] - rate) for rate, r in zip(rates, rows, strict=True)]
    fig = Figure(figsize=(7.5, 0.45 * len(rows) + 1.2))
    FigureCanvasSVG(fig)
    ax = fig.subplots()
    ax.barh(labels, rates, xerr=[lower, upper], color="#4c78a8", ecolor="#333", capsize=3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("pass rate (95% Wilson interval)")
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def worst_samples(records: list[SampleRecord], scorer: str, limit: int = 15) -> list[SampleRecord]:
    """Target errors first, then failed answers, lowest value first."""
    failed = []
    for r in records:
        score = _primary(r, scorer)
        if r.error:
            failed.append((0, 0.0, r))
        elif score is not None and score.passed is False:
            failed.append((1, score.value or 0.0, r))
        elif score is not None and score.error:
            failed.append((2, 0.0, r))
    failed.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in failed[:limit]]


def render_run_report(spec: RunSpec, suite: Suite, records: list[SampleRecord], summary: RunSummary) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    scorer = primary_scorer(suite)
    by_category = rates_by(records, scorer, "category")
    by_language = rates_by(records, scorer, "language")
    charts = []
    if by_category:
        charts.append(_chart(by_category, f"{suite.title or suite.id}: by category"))
    if len(by_language) > 1:
        charts.append(_chart(by_language, f"{suite.title or suite.id}: by language"))
    env = Environment(loader=PackageLoader("assay.web", "templates"), autoescape=select_autoescape())
    return env.get_template("eval_report.html").render(
        spec=spec,
        suite=suite,
        summary=summary,
        scorer=scorer,
        by_category=by_category,
        by_language=by_language,
        charts=charts,
        worst=worst_samples(records, scorer),
        primary=lambda r: _primary(r, scorer),
    )
