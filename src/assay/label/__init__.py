"""The food label: one standard disclosure of a generative-AI system, graded against the thresholds
of an authority's policy pack, signed, and traceable to the evidence it was built from."""

from assay.label.models import LABEL_FORMAT, Disclosure

__all__ = ["LABEL_FORMAT", "Disclosure"]
