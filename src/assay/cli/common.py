"""Small pieces every command group shares: consoles and how failures are printed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from assay.manifest import ManifestInvalid
    from assay.workspace import Workspace

console = Console()
stderr = Console(stderr=True)


def fail_on_invalid_manifest(exc: ManifestInvalid) -> NoReturn:
    """Print every problem, then exit 2 (the code for invalid input)."""
    n = len(exc.problems)
    stderr.print(f"[red]invalid manifest[/red]: {n} problem{'s' if n != 1 else ''}", highlight=False)
    for p in exc.problems:
        stderr.print("  " + p.render(), highlight=False, markup=False)
    raise typer.Exit(2)


def open_workspace(home: Path | None) -> Workspace:
    """`--home` names the `.assay` folder; otherwise ASSAY_HOME, then `.assay` in the current folder."""
    from assay.workspace import Workspace

    return Workspace(home.resolve()) if home else Workspace.at()


HOME_OPTION = typer.Option(
    None, "--home", help="The workspace's .assay folder (default: ./.assay or ASSAY_HOME)."
)
