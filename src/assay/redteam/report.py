"""The HTML report of a red-team run: ASR headline, the attack × category heatmap, ASR per attack and
per category with Wilson intervals, and the prompts that worked (escaped by the template).

The heatmap is drawn by matplotlib as inline SVG, so the page is one self-contained file, like the
evaluation report.
"""

from __future__ import annotations

import io
import math

from assay.assurance.chain import ChainHead
from assay.evals.models import SampleRecord, Suite
from assay.evals.runner import RunSpec, RunSummary
from assay.redteam.metrics import RedteamMetrics
from assay.redteam.runner import AttackTrace


def heatmap_svg(metrics: RedteamMetrics, title: str = "Attack success rate") -> str:
    """Attacks down, categories across; each cell the ASR with its k/n (blank where nothing was judged)."""
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    attacks = [r.key for r in metrics.by_attack]
    categories = [r.key for r in metrics.by_category]
    if not attacks or not categories:
        return ""
    grid = np.full((len(attacks), len(categories)), np.nan)
    labels = [["" for _ in categories] for _ in attacks]
    ai = {a: i for i, a in enumerate(attacks)}
    ci = {c: j for j, c in enumerate(categories)}
    for cell in metrics.cells:
        i, j = ai[cell.attack], ci[cell.category]
        if cell.rate is not None:
            grid[i, j] = cell.rate
            labels[i][j] = f"{100 * cell.rate:.0f}%\n{cell.successes}/{cell.judged}"
    width = min(16.0, max(5.5, 2.6 + 1.1 * len(categories)))
    height = min(20.0, 1.4 + 0.48 * len(attacks))
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    ax = fig.subplots()
    cmap = matplotlib.colormaps["Reds"].with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(categories)), labels=categories, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(attacks)), labels=attacks, fontsize=8)
    for i in range(len(attacks)):
        for j in range(len(categories)):
            value = grid[i, j]
            if labels[i][j]:
                colour = "white" if not math.isnan(value) and value > 0.6 else "#1b1f24"
                ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.035, pad=0.02, label="ASR")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def render_redteam_report(
    spec: RunSpec,
    suite: Suite,
    records: list[SampleRecord],
    summary: RunSummary,
    metrics: RedteamMetrics,
    traces: list[AttackTrace] | None = None,
    chain_head: ChainHead | None = None,
) -> str:
    from assay.evals.report import report_templates

    seeds = len({s.metadata.get("seed_id") for s in suite.samples})
    queries = sum(t.target_queries for t in traces or [])
    return (
        report_templates()
        .get_template("redteam_report.html")
        .render(
            spec=spec,
            suite=suite,
            summary=summary,
            m=metrics,
            heatmap=heatmap_svg(metrics, f"{suite.title or suite.id} on {spec.target_id}"),
            seeds=seeds,
            traces=traces or [],
            interactive_queries=queries,
            pct=lambda v: "–" if v is None else f"{100 * v:.1f}%",
            chain_head=chain_head,
        )
    )
