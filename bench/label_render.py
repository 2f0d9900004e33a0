"""What the label's renderings cost: the HTML in four languages (pure Python) and the four-language PDF
printed by headless Chromium, one language after another (the baseline) against in parallel.

    .venv/bin/python bench/label_render.py [--rounds 3]

Both PDF variants print the same label (the complete fixture of tests/label_render) in the same
process, interleaved round by round; the ratio is parallel ÷ sequential (median round).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from tests.label_render.conftest import complete_data

    from assay.label.models import Disclosure
    from assay.label.render import print_pdf, render_html
    from assay.web.i18n import LANGUAGES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    d = Disclosure.model_validate(complete_data())

    render_html(d)  # templates and catalogue loaded once, as in a long-running server
    n = 50
    start = time.perf_counter()
    for _ in range(n):
        pages = {lang: render_html(d, lang) for lang in LANGUAGES}
    html_ms = (time.perf_counter() - start) / n * 1000
    print(f"render_html, four languages: {html_ms:.1f} ms ({len(pages['en']):,} bytes in English)")

    seq, par = [], []
    workers = max(1, min(4, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "label.pdf"
        for r in range(args.rounds):
            for label, runs, w in (("sequential", seq, 1), ("parallel", par, workers)):
                t = time.perf_counter()
                print_pdf(pages, out, workers=w)
                runs.append(time.perf_counter() - t)
                print(f"  round {r + 1} {label:10} {runs[-1]:.2f} s", flush=True)
    s, p = statistics.median(seq), statistics.median(par)
    print(f"print_pdf, four languages: sequential {s:.2f} s, parallel ({workers} workers) {p:.2f} s, "
          f"ratio {p / s:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
