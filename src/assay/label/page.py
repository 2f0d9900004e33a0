"""The public label page (`GET /label/{system}`): the nutrition-facts rendering of `render.py`."""

from __future__ import annotations

from assay.label.models import Disclosure


def render_label_page(disclosure: Disclosure, lang: str = "en") -> str:
    """The label as one self-contained page in `lang` (en, zh, ms, ta)."""
    from assay.label.render import render_html

    return render_html(disclosure, lang)
