"""Small pieces every command group shares: consoles and how failures are printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

if TYPE_CHECKING:
    import click  # typer carries its own copy; the package is only for annotations here

    from assay.manifest import ManifestInvalid
    from assay.workspace import Workspace

console = Console()
stderr = Console(stderr=True)


class AssayGroup(TyperGroup):
    """The root command group: a database that cannot be opened ends any command with one line, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from assay.store.db import DatabaseUrlError

        try:
            return super().invoke(ctx)
        except DatabaseUrlError as exc:
            fail_on_database(exc)


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands where some are made on first use: `pending` maps a name to what builds it.
    Iteration lists the pending names at `position` among the built ones, so help keeps its order."""

    def __init__(
        self,
        built: Mapping[str, click.Command],
        pending: Mapping[str, Callable[[], click.Command]],
        position: int | None = None,
    ) -> None:
        self._built = dict(built)
        self._pending = {n: f for n, f in pending.items() if n not in self._built}
        names = list(self._built)
        at = len(names) if position is None else position
        self._order = [*names[:at], *self._pending, *names[at:]]

    def __getitem__(self, name: str) -> click.Command:
        if name in self._pending:
            self._built[name] = self._pending.pop(name)()
        return self._built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._pending.pop(name, None)
        if name not in self._built:
            self._order.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._built and name not in self._pending:
            raise KeyError(name)
        self._built.pop(name, None)
        self._pending.pop(name, None)
        self._order.remove(name)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._pending

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)


WHOLE_PROCESS = {"cli": False}
"""Set by the console entry point (`assay.cli.main.main`): the command owns the process, which ends with
it. Commands invoked in-process (tests, `CliRunner`) leave the garbage collector alone."""


def settle_heap() -> None:
    """Take what exists now (imported modules, pydantic schemas, the manifest) out of the garbage
    collector's sight: it lives until the process ends anyway, and each full collection would otherwise
    walk all of it again (~20 ms apiece in a cached `assay eval run`). Call it once a command has done its
    imports; objects made later are collected as usual. Only when the command owns the process."""
    if WHOLE_PROCESS["cli"]:
        import gc

        gc.freeze()


def fail_on_database(exc: Exception) -> NoReturn:
    """One unwrapped line naming the variable and the reason, then exit 2 (bad input)."""
    stderr.print(f"[red]database[/red]: {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def fail_on_invalid_manifest(exc: ManifestInvalid) -> NoReturn:
    """Print every problem, then exit 2 (the code for invalid input)."""
    n = len(exc.problems)
    stderr.print(f"[red]invalid manifest[/red]: {n} problem{'s' if n != 1 else ''}", highlight=False)
    for p in exc.problems:
        stderr.print("  " + p.render(), highlight=False, markup=False, soft_wrap=True)  # one line each
    raise typer.Exit(2)


def open_workspace(home: Path | None) -> Workspace:
    """`--home` names the `.assay` folder; otherwise ASSAY_HOME, then `.assay` in the current folder."""
    from assay.workspace import Workspace

    return Workspace(home.resolve()) if home else Workspace.at()


HOME_OPTION = typer.Option(
    None, "--home", help="The workspace's .assay folder (default: ./.assay or ASSAY_HOME)."
)


def fail_with_problems(title: str, problems: Sequence[object]) -> NoReturn:
    """Print a headline and one line per problem (a Problem's `render()`, or its text), then exit 2."""
    stderr.print(f"[red]{title}[/red]: {len(problems)} problem(s)", highlight=False)
    for p in problems:
        text = p.render() if hasattr(p, "render") else str(p)
        stderr.print("  " + text, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def run_errors_exit(
    problem_errors: Mapping[type[Exception], str] | None = None, interrupted_hint: str = ""
) -> Iterator[None]:
    """How a run's failures end a command: invalid input (each exception type with `.problems` in
    `problem_errors`, by default an invalid suite), unreachable targets and bad values exit 2 with one
    clear message; Ctrl-C exits 130 after saying that the log keeps every finished sample."""
    from assay.evals.suites import SuiteInvalid
    from assay.evals.targets.base import TargetUnavailable
    from assay.store.db import DatabaseUrlError

    labels = dict(problem_errors or {SuiteInvalid: "invalid suite"})
    try:
        yield
    except tuple(labels) as exc:
        label = next(text for kind, text in labels.items() if isinstance(exc, kind))
        fail_with_problems(label, exc.problems)  # type: ignore[attr-defined]
    except TargetUnavailable as exc:
        stderr.print(f"[red]target unavailable[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    except DatabaseUrlError as exc:
        fail_on_database(exc)
    except KeyboardInterrupt:
        stderr.print(f"[yellow]interrupted[/yellow]: the log keeps every finished sample{interrupted_hint}")
        raise typer.Exit(130) from None
    except (FileNotFoundError, ValueError) as exc:
        stderr.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
