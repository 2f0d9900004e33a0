"""The public HTML page of a label (`GET /label/{system}`).

A minimal, escaped page until the nutrition-panel renderer (`assay.label.render`) takes over: the
server route calls only `render_label_page`, so swapping the renderer changes nothing else.
"""

from __future__ import annotations

import html

from assay.label.models import Disclosure

LANGUAGES = ("en", "zh", "ms", "ta")


def render_label_page(disclosure: Disclosure, lang: str = "en") -> str:
    """One page: identity, completeness, grades and the status of every area (English for now)."""
    e = html.escape
    d = disclosure
    grades = "".join(
        f"<tr><td>{e(g.title)}</td><td>{e(g.status)}</td><td>{e(g.reason)}</td></tr>" for g in d.grades
    )
    areas = "".join(
        f"<tr><td>{e(name)}</td><td>{e('Disclosed' if a.status == 'disclosed' else 'Not disclosed')}</td>"
        f"<td>{e(a.source)}</td></tr>"
        for name, a in (
            (n, getattr(d, n))
            for n in (
                "identity",
                "accountability",
                "data",
                "infrastructure",
                "evaluation",
                "mitigations",
                "risks",
                "intended_use",
                "user_data",
                "provenance",
                "reporting",
            )
        )
    )
    pack = f"{d.policy.pack_id} {d.policy.pack_version}" if d.policy else "none"
    return (
        f"<!doctype html><html lang='{e(lang if lang in LANGUAGES else 'en')}'><head><meta charset='utf-8'>"
        f"<title>{e(d.identity.name)}: AI food label</title></head><body><main>"
        f"<h1>{e(d.identity.name)} <small>v{e(d.identity.version)}</small></h1>"
        f"<p>{e(d.intended_use.intended_use)}</p>"
        f"<p>Completeness {100 * d.completeness.score:.0f}% · policy pack {e(pack)} · "
        f"built {e(d.generated_at)}</p>"
        f"<h2>Grades</h2><table>{grades}</table>"
        f"<h2>Disclosure</h2><table>{areas}</table>"
        f"<p><a href='{e(d.identity.system_id)}.json'>label.json</a></p></main></body></html>"
    )
