"""The coverage-per-dimension chart of the conformance report, as inline SVG drawn here on the server.

No script and no chart library: the report must open from a file, print to PDF and pass an
accessibility check. Each dimension is one horizontal bar split by status; the numbers are written
beside the bar and repeated in the table under the chart, so colour is never the only carrier.
"""

from __future__ import annotations

from html import escape

from assay.assurance.views import DimensionCoverage

# Fill colours, each at least 3:1 against white (WCAG 1.4.11, graphical objects).
FILLS: dict[str, str] = {
    "met": "#1a7f37",
    "partly_met": "#9a6700",
    "stale": "#8250df",
    "not_met": "#cf222e",
    "not_applicable": "#6e7781",
}
LEGEND = {"met": "met", "partly_met": "partly met", "stale": "stale", "not_met": "not met",
          "not_applicable": "not applicable"}  # fmt: skip
LABEL_W, BAR_W, NUM_W, ROW_H, BAR_H, TOP = 350, 400, 140, 26, 16, 30


def coverage_svg(rows: list[DimensionCoverage]) -> str:
    """One bar per dimension (met, partly met, stale, not met, not applicable, left to right)."""
    width = LABEL_W + BAR_W + NUM_W
    height = TOP + ROW_H * len(rows) + 8
    summary = "; ".join(
        f"{r.title}: {r.counts.get('met', 0)} of {r.applicable} met, {r.counts.get('partly_met', 0)} partly"
        for r in rows
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="cov-title cov-desc" class="coverage-chart">',
        '<title id="cov-title">Controls by status in each of the nine dimensions</title>',
        f'<desc id="cov-desc">{escape(summary)}</desc>',
    ]
    x = LABEL_W
    for status, text in LEGEND.items():
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{FILLS[status]}"/>')
        out.append(f'<text x="{x + 16}" y="16" font-size="12" fill="#1b1f24">{escape(text)}</text>')
        x += 28 + 7 * len(text)
    for i, r in enumerate(rows):
        y = TOP + i * ROW_H
        total = sum(r.counts.values()) or 1
        out.append(
            f'<text x="{LABEL_W - 8}" y="{y + 13}" font-size="13" text-anchor="end" fill="#1b1f24">'
            f"{r.number}. {escape(r.title)}</text>"
        )
        out.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="{BAR_H}" fill="none" stroke="#57606a"/>'
        )
        x = float(LABEL_W)
        for status in LEGEND:
            n = r.counts.get(status, 0)
            if not n:
                continue
            w = BAR_W * n / total
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{FILLS[status]}">'
                f"<title>{escape(r.title)}: {n} {escape(LEGEND[status])}</title></rect>"
            )
            x += w
        out.append(
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 13}" font-size="13" fill="#1b1f24">'
            f"{r.counts.get('met', 0)}/{r.applicable} met · {round(r.score * 100)}%</text>"
        )
    out.append("</svg>")
    return "".join(out)
