"""The RACI matrix and safety net as one self-contained HTML page, for people who do not use a terminal."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from jinja2 import Environment, PackageLoader

from assay import __version__
from assay.manifest.schema import Manifest
from assay.registry.models import RaciMatrix
from assay.registry.render import sorted_flags
from assay.registry.risk_areas import risk_area_catalog
from assay.registry.safety_net import SafetyNetReport


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """Autoescape is always on: party names and notes come from a manifest anyone may have written."""
    return Environment(
        loader=PackageLoader("assay.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_raci_html(matrix: RaciMatrix, safety_net: SafetyNetReport | None, manifest: Manifest) -> str:
    """The page: matrix with colour-coded cells, overrides and their reasons, flags, and the safety net."""
    catalog = risk_area_catalog()
    template = _environment().get_template("raci.html")
    flags = sorted_flags([*matrix.flags, *(safety_net.flags if safety_net else [])])
    return template.render(
        matrix=matrix,
        safety_net=safety_net,
        manifest=manifest,
        flags=flags,
        party_names={p.id: p.name for p in matrix.parties},
        descriptions={a.id: a.description for a in catalog.risk_areas},
        generated_on=safety_net.today if safety_net else dt.date.today(),
        version=__version__,
    )
