"""An assessment as a recorded unit: when it started, which steps are done with their outputs and
findings, and whether it completed. A run killed half-way is then visible (not silently missing an
index) and the next run of the same manifest picks it up where it stopped."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Literal

from pydantic import BaseModel, Field

AssessmentStatus = Literal["running", "completed", "interrupted", "failed"]


class AssessmentOutput(BaseModel):
    """One file an assessment wrote, and the evidence record that signs it."""

    name: str
    path: str
    kind: str
    title: str
    sha256: str
    evidence_id: str


class AssessmentFinding(BaseModel):
    """An error or warning a step raised, with the words the index shows for it."""

    severity: Literal["error", "warning"]
    step: str
    message: str


class AssessmentStep(BaseModel):
    name: str
    outputs: list[AssessmentOutput] = Field(default_factory=list)
    findings: list[AssessmentFinding] = Field(default_factory=list)
    finished_at: dt.datetime | None = None


class AssessmentRecord(BaseModel):
    id: str
    system: str
    manifest_sha256: str
    out_dir: str
    status: AssessmentStatus
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None = None
    host: str = ""
    pid: int = 0
    steps: list[AssessmentStep] = Field(default_factory=list, description="steps finished, in order")
    resumed: int = Field(0, description="how many times a later run picked this assessment up")
    error: str = ""
    index_evidence_id: str | None = None

    def effective_status(self, stale_after: dt.timedelta = dt.timedelta(hours=6)) -> AssessmentStatus:
        """A record still saying "running" whose process is gone was interrupted (kill -9, power loss)."""
        if self.status != "running":
            return self.status
        if self.host == socket.gethostname():
            return "running" if _alive(self.pid) else "interrupted"
        updated = self.updated_at if self.updated_at.tzinfo else self.updated_at.replace(tzinfo=dt.UTC)
        return "interrupted" if dt.datetime.now(dt.UTC) - updated > stale_after else "running"

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
