"""Policy packs: the thresholds, required disclosures and risk tiers an authority sets (not the
vendor), and the grading of measured results against them."""

from assay.policy.grading import grade_all, grade_one
from assay.policy.loader import PackInvalid, builtin_pack_ids, check_pack, load_pack, resolve_pack
from assay.policy.models import Grade, GradeStatus, Measurement, MetricThreshold, PolicyPack
from assay.policy.verdict import PolicyVerdict, judge, judge_label

__all__ = [
    "Grade",
    "GradeStatus",
    "Measurement",
    "MetricThreshold",
    "PackInvalid",
    "PolicyPack",
    "PolicyVerdict",
    "builtin_pack_ids",
    "check_pack",
    "grade_all",
    "grade_one",
    "judge",
    "judge_label",
    "load_pack",
    "resolve_pack",
]
