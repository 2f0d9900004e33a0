"""What a bundle holds and what a replay reports, as pydantic models.

`BundleContents` is the signed contents list (`bundle.json`): every member's hash plus the facts a
replayer needs that are not files of their own (environment, target settings, model hashes, runs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.evals.runner import RunOptions

FORMAT = "assay-bundle"
FORMAT_VERSION = 1
CONTENTS = "bundle.json"
SIGNATURE = "bundle.sig"
PUBLIC_KEY = "public-key.pem"
MANIFEST_MEMBER = "manifest/assay.yaml"
EVIDENCE_RECORDS = "evidence/records.jsonl"
BLOB_PREFIX = "evidence/blobs/"
FILES_PREFIX = "files/"
RUNS_PREFIX = "runs/"
RUN_FILES = ("spec.json", "suite.json", "summary.json", "log.jsonl")
"""The files of a run folder a replay needs: what was asked, of what, and what came back."""

Status = Literal["exact", "within_ci", "differs"]


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class SystemRef(BaseModel):
    id: str
    name: str
    version: str


class SuiteFile(BaseModel):
    """A suite the manifest names: a built-in (its content is in each run's suite.json) or local files."""

    ref: str = Field(description="the name or path as the manifest writes it")
    source: Literal["builtin", "file"]
    members: list[str] = Field(default_factory=list, description="bundle paths of its files, if local")


class RunEntry(BaseModel):
    """One evaluation run in the bundle, with everything needed to repeat it."""

    run_id: str
    suite_id: str
    suite_digest: str
    target_id: str
    options: RunOptions = Field(description="limit, sample, seed, epochs, system prompt, generation")
    samples: int
    score: float | None = None
    target: dict[str, Any] = Field(default_factory=dict, description="the target's identity when it ran")


class ModelHash(BaseModel):
    what: str = Field(description="a component id, or the target that used the bundled model")
    path: str | None = None
    sha256: str | None = None
    note: str = ""


class Environment(BaseModel):
    python: str
    platform: str
    machine: str
    packages: dict[str, str | None] = Field(description="distribution → version (None: not installed)")


class BundleContents(BaseModel):
    """`bundle.json`: signed as bytes by `bundle.sig`; lists every other member but the signature."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["assay-bundle"] = FORMAT
    format_version: int = FORMAT_VERSION
    created_at: dt.datetime
    assay_version: str
    system: SystemRef
    manifest: str = MANIFEST_MEMBER
    key_id: str
    chain_head: str = Field("", description="SYSTEM:LENGTH:SHA256 of the evidence chain when bundled")
    environment: Environment
    targets: list[dict[str, Any]] = Field(description="target settings, secrets left out")
    models: list[ModelHash] = Field(default_factory=list)
    suites: list[SuiteFile] = Field(default_factory=list)
    target_code: list[str] = Field(
        default_factory=list, description="bundle paths of python targets' modules found beside the manifest"
    )
    runs: list[RunEntry]
    skipped_runs: list[str] = Field(
        default_factory=list, description="evaluation runs of the system not bundled, and why"
    )
    evidence: int = Field(0, description="evidence records in evidence/records.jsonl")
    members: list[Member]


class BundleInfo(BaseModel):
    """What `assay bundle` reports after writing."""

    path: str
    sha256: str
    size: int
    system: str
    key_id: str
    runs: int
    evidence: int
    members: int
    skipped_runs: list[str] = Field(default_factory=list)


class MetricComparison(BaseModel):
    run_id: str
    suite_id: str
    target_id: str
    metric: str = Field(description="'score' (the primary scorer) or a scorer's pass rate")
    original: float | None
    original_ci: tuple[float, float] | None = None
    original_n: int | None = None
    replayed: float | None
    replayed_n: int | None = None
    status: Status


class RunComparison(BaseModel):
    run_id: str
    replay_run_id: str
    suite_id: str
    target_id: str
    samples: int
    identical_answers: int = Field(description="samples whose answer text is byte for byte the same")
    metrics: list[MetricComparison]
    notes: list[str] = Field(default_factory=list, description="why a run differs beyond its metrics")
    status: Status


class ReplayReport(BaseModel):
    bundle: str
    bundle_sha256: str
    system: str
    key_id: str
    workspace: str
    runs: list[RunComparison]
    environment_notes: list[str] = Field(default_factory=list, description="package versions that differ")
    status: Literal["reproduced", "differs"]

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"


class NotABundle(ValueError):
    """The file is not an Assay bundle at all (exit 2): not an archive, no contents list, other format."""


class BundleInvalid(Exception):
    """The bundle fails its integrity check (exit 1); `problems` names every member or record at fault."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: {len(problems)} integrity problem(s)")
        self.path = path
        self.problems = problems


class SecretInBundle(ValueError):
    """A secret's value would end up in the bundle; the bundle is not written."""
