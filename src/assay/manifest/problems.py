"""What a manifest problem looks like when it reaches a person or a program."""

from __future__ import annotations

from pydantic import BaseModel


class Problem(BaseModel):
    file: str
    line: int | None = None
    column: int | None = None
    field: str
    message: str
    expected: str = ""
    suggestion: str | None = None

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.field}: {self.message}"
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class ManifestInvalid(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))
