"""The assessment's `index.html`: one page that links every output with its hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assay import __version__
from assay.manifest import Manifest

if TYPE_CHECKING:
    from assay.assurance.assessment import AssessmentFinding, AssessmentOutput
    from assay.assurance.chain import ChainHead
    from assay.assurance.coverage import CoverageReport


def render_index(
    manifest: Manifest,
    outputs: Sequence[AssessmentOutput],
    findings: Sequence[AssessmentFinding],
    key_id: str,
    coverage: CoverageReport | None = None,
    chain_head: ChainHead | None = None,
) -> str:
    """`chain_head`: the evidence chain as it stood when the index was built (docs/evidence.md)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("assay.web", "templates"), autoescape=select_autoescape())
    return env.get_template("assessment_index.html").render(
        manifest=manifest,
        outputs=[{**o.model_dump(), "href": o.name} for o in outputs],
        findings=findings,
        errors=sum(f.severity == "error" for f in findings),
        warnings=sum(f.severity == "warning" for f in findings),
        key_id=key_id,
        coverage=coverage,
        chain_head=chain_head,
        version=__version__,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
