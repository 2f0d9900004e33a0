"""Energy, carbon and compute accounting for Assay's own runs and for what a developer declares
(the framework's public-good dimension)."""

from assay.energy.models import Footprint

__all__ = ["Footprint"]
