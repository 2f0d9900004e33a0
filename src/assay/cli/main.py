"""The `assay` command. Each group lives in its own module and imports heavy code only when run."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import typer
import typer.main

from assay import __version__
from assay.cli import bom, conformance, manifest_cmds, monitor, provenance, server
from assay.cli.common import AssayGroup, LazyCommands

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
    ("manifest", "manifest_cmds:manifest_app", "The assay.yaml schema."),
)
"""The command groups (name, `module:attribute` of its Typer app in `assay.cli`, help), in the order
`assay --help` lists them (after the top-level commands). A group's module is imported when it is named."""


class RootGroup(AssayGroup):
    """The root: its command groups are turned into click commands only when named (or all of them for
    `--help`), since Typer's conversion inspects every command's signature and a command needs only its
    own group's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pending = {name: partial(_group_command, sub, name, text) for name, sub, text in GROUPS}
        # Typer lists a group's own commands first, then its sub-groups in the order they were added;
        # these come before the ones `register()` adds (e.g. `keys`), as when they were added eagerly.
        self.commands = LazyCommands(self.commands, pending, position=len(app.registered_commands))


def _group_command(where: str, name: str, help_text: str) -> click.Command:
    """The click group for one sub-app, made exactly as `app.add_typer(sub, name=…, help=…)` makes it."""
    import importlib

    module, attribute = where.split(":")
    sub = getattr(importlib.import_module(f"assay.cli.{module}"), attribute)
    holder = typer.Typer(
        rich_markup_mode=app.rich_markup_mode,
        pretty_exceptions_short=app.pretty_exceptions_short,
        suggest_commands=app.suggest_commands,
    )
    holder.add_typer(sub, name=name, help=help_text)
    return typer.main.get_group(holder).commands[name]


app = typer.Typer(
    name="assay",
    help="Singapore's Model AI Governance Framework for Generative AI, as running software.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    cls=RootGroup,
)

manifest_cmds.register(app)
conformance.register(app)
monitor.register(app)
server.register(app)
provenance.register(app)
bom.register(app)


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
    try:
        app()
    finally:
        _quick_exit()


def _quick_exit() -> None:
    """Let the interpreter shut down without walking every object it holds: collect what is garbage now
    (so finalizers of dropped objects still run), then freeze the rest out of the collector's sight.
    Python's shutdown would otherwise run full collections over the hundreds of thousands of objects
    the imports made (pydantic schemas, typing objects), ~90 ms of a cached `assay eval run`. Atexit
    handlers and the flushing of stdout and stderr still happen as usual."""
    import gc

    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    main()
