"""Policy packs: the thresholds, required disclosures and risk tiers an authority sets (not the
vendor), and the grading of measured results against them."""

from assay.policy.grading import grade_all, grade_one
from assay.policy.models import Grade, GradeStatus, Measurement, MetricThreshold, PolicyPack

__all__ = ["Grade", "GradeStatus", "Measurement", "MetricThreshold", "PolicyPack", "grade_all", "grade_one"]
