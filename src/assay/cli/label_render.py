"""`assay label render`: the renderings of an existing label.json (HTML in each language, badge, PNG,
PDF). Kept apart from `cli/label.py` so the two can be written separately; register it there with
`app.command("render")(render_command)`.

Exit codes: 0 written; 1 printing failed (no Chromium, or Chromium failed: `--no-print` still writes
the HTML and the badge); 2 bad input (an unreadable or invalid label, an unknown language).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assay.cli.common import console, stderr

if TYPE_CHECKING:
    from assay.label.models import Disclosure


def _read(path: Path) -> Disclosure:
    """The label, or exit 2 naming the file and its first problem (imports stay inside: fast --help)."""
    from pydantic import ValidationError

    from assay.label.models import Disclosure

    try:
        content = path.read_bytes()
    except OSError as exc:
        stderr.print(f"{path}: cannot read it ({exc.strerror or exc})", markup=False, highlight=False)
        raise typer.Exit(2) from None
    try:
        return Disclosure.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        stderr.print(
            f"{path}: not a label ({exc.error_count()} problem(s); first: {where}: {first['msg']})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None


def render_command(
    label: Path = typer.Argument(..., help="The label.json to render.", show_default=False),
    lang: list[str] = typer.Option(  # noqa: B006 - typer reads the default
        [], "--lang", "-l", help="A language to render (en, zh, ms, ta); repeat it. Default: all four."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder to write to (default: the label's)."),
    no_print: bool = typer.Option(
        False, "--no-print", help="Only the HTML and the badge: no PNG or PDF, no Chromium needed."
    ),
) -> None:
    """Write label.html (label.LANG.html for each other language), badge.svg, label.png and label.pdf
    (one page per language) beside the label, or into --out."""
    from assay.label.render import RenderError, write_renderings
    from assay.web.i18n import LANGUAGES

    langs = tuple(dict.fromkeys(lang)) or LANGUAGES
    unknown = [code for code in langs if code not in LANGUAGES]
    if unknown:
        stderr.print(
            f"--lang: unknown language {unknown[0]!r}: expected one of {', '.join(LANGUAGES)}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(2)
    disclosure = _read(label)
    folder = out if out is not None else label.resolve().parent
    try:
        written = write_renderings(folder, disclosure, langs=langs, printed=not no_print)
    except RenderError as exc:
        stderr.print(f"cannot print the label: {exc}", markup=False, highlight=False, soft_wrap=True)
        stderr.print("(--no-print writes the HTML and the badge without a browser)", markup=False)
        raise typer.Exit(1) from None
    for name, content, media in written:
        console.print(
            f"wrote {folder / name}  ({len(content):,} bytes, {media})", markup=False, highlight=False
        )
