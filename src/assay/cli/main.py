"""The `assay` command. Each group lives in its own module and imports heavy code only when run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import typer
import typer.main

from assay import __version__
from assay.cli import bom, conformance, manifest_cmds, monitor, provenance, replay, server
from assay.cli.common import WHOLE_PROCESS, AssayGroup, LazyCommands

if TYPE_CHECKING:
    import click

GROUPS: tuple[tuple[str, str, str], ...] = (
    ("registry", "registry:app", "Parties, components, control points and the RACI matrix."),
    ("catalog", "catalog:app", "The framework's controls and their crosswalks."),
    ("eval", "evals:app", "Run suites against targets; resume, re-score, list runs."),
    ("redteam", "redteam:app", "Red-team a target: seeds × attacks, ASR heatmap, evidence."),
    ("scan", "scan:app", "Scan model artifacts: pickles, safetensors, GGUF."),
    ("data", "data:app", "Scan datasets: personal data, licences, duplicates; data cards."),
    ("evidence", "evidence:app", "Signed, content-addressed evidence."),
    ("label", "label:app", "The food label: build, verify, diff and its JSON Schema."),
    ("policy", "policy:app", "Policy packs: an authority's thresholds; check a label."),
    ("incidents", "incidents:app", "Incident and vulnerability reports: triage, deadlines, audit."),
    ("token", "tokens:app", "API tokens for `assay serve`."),
    ("gateway", "gateway:app", "A guardrail proxy (OpenAI API) in front of a target."),
    ("notify", "notify:app", "Deliver notifications (webhooks, e-mail) from the outbox."),
    ("oscal", "oscal:app", "The catalog and a system's assessment as OSCAL JSON."),
    ("manifest", "manifest_cmds:manifest_app", "The assay.yaml schema."),
)
"""The command groups (name, `module:attribute` of its Typer app in `assay.cli`, help), in the order
`assay --help` lists them (after the top-level commands). A group's module is imported when it is named."""


class RootGroup(AssayGroup):
    """The root: every command and group under it is turned into a click command only when named (or all
    of them for `--help`), since Typer's conversion inspects every command's signature and a run needs
    only its own. Listed as Typer lists them: the top-level commands, then the groups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pending: dict[str, Callable[[], click.Command]] = {}
        for info in _top.registered_commands:
            assert info.callback is not None
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            pending[name] = partial(_converted, commands=[info])
        for name, where, text in GROUPS:
            pending[name] = partial(_group_command, where, name, text)
        for group in _top.registered_groups:  # groups a module registers (`keys`) follow, as when added
            assert group.name is not None
            pending[group.name] = partial(_converted, groups=[group])
        self.commands = LazyCommands(self.commands, pending)


def _converted(commands: Sequence[Any] = (), groups: Sequence[Any] = ()) -> click.Command:
    """The click command Typer makes for one command or group registered on the root, exactly as it
    makes it when the root holds it (the root's display settings included)."""
    holder = typer.Typer(
        rich_markup_mode=app.rich_markup_mode,
        pretty_exceptions_short=app.pretty_exceptions_short,
        suggest_commands=app.suggest_commands,
    )
    holder.registered_commands.extend(commands)
    holder.registered_groups.extend(groups)
    (command,) = typer.main.get_group(holder).commands.values()
    return command


def _group_command(where: str, name: str, help_text: str) -> click.Command:
    """One command group, imported from its module (`module:attribute` in `assay.cli`) and registered as
    `app.add_typer(sub, name=…, help=…)` registers it."""
    import importlib

    module, attribute = where.split(":")
    staging = typer.Typer()
    staging.add_typer(
        getattr(importlib.import_module(f"assay.cli.{module}"), attribute), name=name, help=help_text
    )
    return _converted(groups=staging.registered_groups)


app = typer.Typer(
    name="assay",
    help="Singapore's Model AI Governance Framework for Generative AI, as running software.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    cls=RootGroup,
)
_top = typer.Typer()
"""Where the modules register the root's own commands, so that the root converts them only when named."""

manifest_cmds.register(_top)
conformance.register(_top)
monitor.register(_top)
server.register(_top)
provenance.register(_top)
bom.register(_top)
replay.register(_top)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Assess a generative AI system against the framework and publish signed evidence."""


def main() -> None:
    """The `assay` console command. It ends the process (Typer exits when the command returns)."""
    WHOLE_PROCESS["cli"] = True
    try:
        app()
    finally:
        _quick_exit()


def _quick_exit() -> None:
    """Let the interpreter shut down without walking every object it holds: collect what is garbage now
    (so finalizers of dropped objects still run), then freeze the rest out of the collector's sight.
    Python's shutdown would otherwise run full collections over the ~50,000 container objects the
    imports made (pydantic schemas, typing objects), ~90 ms of a cached `assay eval run`. Atexit
    handlers and the flushing of stdout and stderr still happen as usual."""
    import gc

    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    main()
