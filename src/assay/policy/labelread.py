"""Read a `label.json` to judge it under a pack: every schema problem named by file and field."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from assay.manifest.loader import format_path
from assay.manifest.problems import Problem

if TYPE_CHECKING:
    from assay.label.models import Disclosure

MAX_LABEL_BYTES = 20 * 1024 * 1024


class LabelUnreadable(Exception):
    """A label file that cannot be read or does not match the disclosure schema."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def read_disclosure(path: str | Path) -> Disclosure:
    """The Disclosure in `path`; LabelUnreadable names the file and each field that is wrong."""
    from assay.label.models import Disclosure

    p = Path(path)
    file = str(p)

    def fail(message: str, field: str = "(document)", expected: str = "") -> LabelUnreadable:
        return LabelUnreadable([Problem(file=file, field=field, message=message, expected=expected)])

    try:
        if p.stat().st_size > MAX_LABEL_BYTES:
            raise fail("file is larger than 20 MiB")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise fail("file not found", expected="a label.json from `assay label build`") from None
    except IsADirectoryError:
        raise fail("is a folder", expected="a label.json file") from None
    except OSError as exc:
        raise fail(f"cannot be read ({exc.strerror})") from None
    try:
        return Disclosure.model_validate_json(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = err["msg"]
            if err["type"] == "json_invalid":
                message = f"not valid JSON: {(err.get('ctx') or {}).get('error', message)}"
            elif err["type"] == "extra_forbidden":
                message = f"unknown field '{err['loc'][-1]}'"
            problems.append(Problem(file=file, field=format_path(err["loc"]), message=message))
        raise LabelUnreadable(problems) from None
