"""How suite-loading problems reach a person or a program: every one with its file, line and field.

A malformed row is not a reason to throw away a whole benchmark, so by default it is skipped and
recorded here; `strict=True` turns the same records into a `SuiteInvalid` raised at the end, listing
all of them at once rather than the first.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from assay.manifest.problems import Problem

__all__ = ["LoadReport", "Problem", "SuiteInvalid"]


class SuiteInvalid(ValueError):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class LoadReport(BaseModel):
    """What a load read, kept and dropped, and why."""

    source: str = ""
    format: str = ""
    rows_read: int = 0
    samples_loaded: int = 0
    skipped: list[Problem] = Field(default_factory=list, description="rows dropped, with the reason")
    warnings: list[Problem] = Field(default_factory=list, description="things kept but worth knowing")

    @property
    def problems(self) -> list[Problem]:
        return [*self.skipped, *self.warnings]

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.warnings

    def merge(self, other: LoadReport) -> None:
        """Fold a sub-load (one dataset of a recipe, one file of a folder) into this report."""
        self.rows_read += other.rows_read
        self.samples_loaded += other.samples_loaded
        self.skipped.extend(other.skipped)
        self.warnings.extend(other.warnings)

    def render(self) -> str:
        head = f"{self.source}: {self.samples_loaded} sample(s) from {self.rows_read} row(s)"
        if self.skipped:
            head += f", {len(self.skipped)} skipped"
        return "\n".join([head, *("  " + p.render() for p in self.problems)])
