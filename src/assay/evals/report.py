"""The HTML report of one run: headline numbers, pass rates by category with intervals, worst samples.

Charts are inline SVG written here (not matplotlib, whose import alone costs ~1 s), so the page is
one self-contained file and a cached re-run stays under a second.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from assay.assurance.chain import ChainHead
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
    """Pass rate per group as horizontal bars with their interval, drawn as plain SVG.

    Hand-written rather than matplotlib: importing matplotlib alone costs about a second, more than a
    fully cached re-run of a 500-sample suite takes."""
    from html import escape

    label_w, plot_w, bar_h, gap, top = 170, 440, 18, 8, 34
    height = top + len(rows) * (bar_h + gap) + 40
    width = label_w + plot_w + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
    ]
    for tick in range(0, 11, 2):
        x = label_w + plot_w * tick / 10
        parts.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{height - 34}" stroke="#e1e4e8"/>')
        parts.append(
            f'<text x="{x}" y="{height - 20}" text-anchor="middle" fill="#57606a">{tick / 10:.1f}</text>'
        )
    for i, (group, k, n, lo, hi) in enumerate(rows):
        y = top + i * (bar_h + gap)
        rate = k / n if n else 0.0
        mid = y + bar_h / 2
        parts.append(
            f'<text x="{label_w - 8}" y="{mid + 4}" text-anchor="end">{escape(group[:28])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{plot_w * rate:.1f}" height="{bar_h}" fill="#4c78a8">'
            f"<title>{escape(group)}: {k}/{n} ({100 * rate:.1f}%), 95% interval "
            f"{100 * lo:.1f}–{100 * hi:.1f}%</title></rect>"
            f'<line x1="{label_w + plot_w * lo:.1f}" y1="{mid}" x2="{label_w + plot_w * hi:.1f}" y2="{mid}" '
            'stroke="#1b1f24" stroke-width="1.5"/>'
            f'<line x1="{label_w + plot_w * lo:.1f}" y1="{mid - 5}" x2="{label_w + plot_w * lo:.1f}" '
            f'y2="{mid + 5}" stroke="#1b1f24"/>'
            f'<line x1="{label_w + plot_w * hi:.1f}" y1="{mid - 5}" x2="{label_w + plot_w * hi:.1f}" '
            f'y2="{mid + 5}" stroke="#1b1f24"/>'
        )
    parts.append(
        f'<text x="{label_w + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="#57606a">'
        "pass rate (95% Wilson interval)</text></svg>"
    )
    return "".join(parts)


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


def report_templates():  # type: ignore[no-untyped-def]
    """The Jinja environment run reports (evaluation and red team) render with; both extend
    `_run_report_base.html`."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from assay.energy.text import footprint_line

    env = Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=select_autoescape(),
        bytecode_cache=_bytecode_cache(),
    )
    env.globals["footprint_line"] = footprint_line
    return env


def _bytecode_cache():  # type: ignore[no-untyped-def]
    """Compiled templates kept between processes (Jinja's per-user cache folder, keyed by the template's
    name and checked against its source's checksum, so an edited template is recompiled): compiling the
    report templates costs a short command such as a cached re-run ~16 ms. The cache only ever saves
    time: a folder that cannot be made safely (Jinja refuses one another user owns), a full or read-only
    disk, or a damaged entry means compiling as without it."""
    from jinja2 import FileSystemBytecodeCache

    class QuietCache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket):  # type: ignore[no-untyped-def]
            try:
                super().load_bytecode(bucket)
            except Exception:  # a damaged entry: compile the source instead
                bucket.reset()

        def dump_bytecode(self, bucket):  # type: ignore[no-untyped-def]
            with contextlib.suppress(OSError):  # not stored: the next process compiles again
                super().dump_bytecode(bucket)

    try:
        return QuietCache()
    except (OSError, RuntimeError):
        return None


def render_run_report(
    spec: RunSpec,
    suite: Suite,
    records: list[SampleRecord],
    summary: RunSummary,
    chain_head: ChainHead | None = None,
) -> str:
    """`chain_head`: the evidence chain as it stood when the report was built, printed so that a reader
    can later check that nothing recorded before it was removed (`assay evidence verify --head`)."""
    scorer = primary_scorer(suite)
    by_category = rates_by(records, scorer, "category")
    by_language = rates_by(records, scorer, "language")
    charts = []
    if by_category:
        charts.append(_chart(by_category, f"{suite.title or suite.id}: by category"))
    if len(by_language) > 1:
        charts.append(_chart(by_language, f"{suite.title or suite.id}: by language"))
    return (
        report_templates()
        .get_template("eval_report.html")
        .render(
            spec=spec,
            suite=suite,
            summary=summary,
            scorer=scorer,
            by_category=by_category,
            by_language=by_language,
            charts=charts,
            worst=worst_samples(records, scorer),
            primary=lambda r: _primary(r, scorer),
            chain_head=chain_head,
        )
    )
