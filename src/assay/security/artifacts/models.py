"""What a scan of model artifacts reports: per file a verdict, findings with places, and the imports seen."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low"]
Verdict = Literal["clean", "findings", "unreadable"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class Finding(BaseModel):
    """One problem at one place: a byte offset inside the file (or inside a zip member)."""

    model_config = ConfigDict(populate_by_name=True)

    kind: str
    severity: Severity
    message: str
    file: str = ""
    member: str | None = None
    offset: int | None = None
    opcode: str | None = None
    import_: str | None = Field(None, alias="import", serialization_alias="import")
    field: str | None = None
    expected: str | None = None
    found: str | None = None
    owasp: list[str] = []
    atlas: list[str] = []


class ImportSeen(BaseModel):
    """A global a pickle would import, allowed or not; kept so a reviewer sees everything a file needs."""

    module: str
    name: str
    opcode: str
    offset: int
    member: str | None = None
    allowed: bool


class FileReport(BaseModel):
    file: str
    format: str
    size: int = 0
    sha256: str | None = None
    declared_sha256: str | None = None
    component: str | None = None
    verdict: Verdict = "clean"
    error: str = ""
    findings: list[Finding] = []
    imports: list[ImportSeen] = []
    notes: list[str] = []

    def settle(self) -> FileReport:
        """Set the verdict from what was found: findings outrank an unreadable tail."""
        if self.findings:
            self.verdict = "findings"
        elif self.error:
            self.verdict = "unreadable"
        else:
            self.verdict = "clean"
        return self


class ScanReport(BaseModel):
    root: str
    files: list[FileReport]

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.files for f in r.findings]

    @property
    def exit_code(self) -> int:
        """0 nothing found, 1 findings in any file, 2 when a file is unreadable or nothing was a model."""
        if any(r.findings for r in self.files):
            return 1
        if not self.files or any(r.error for r in self.files):
            return 2
        return 0


class ScanRefused(ValueError):
    """The input cannot be scanned at all (not a file, not a model format, over a limit)."""
