"""The `assay` command. Each group lives in its own module and imports heavy code only when run."""

from __future__ import annotations

import typer

from assay import __version__
from assay.cli import (
    catalog,
    data,
    evals,
    evidence,
    manifest_cmds,
    provenance,
    redteam,
    registry,
    server,
    tokens,
)
from assay.cli.common import AssayGroup

app = typer.Typer(
    name="assay",
    help="Singapore's Model AI Governance Framework for Generative AI, as running software.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    cls=AssayGroup,
)

manifest_cmds.register(app)
app.add_typer(registry.app, name="registry", help="Parties, components, control points and the RACI matrix.")
app.add_typer(catalog.app, name="catalog", help="The framework's controls and their crosswalks.")
app.add_typer(evals.app, name="eval", help="Run suites against targets; resume, re-score, list runs.")
app.add_typer(redteam.app, name="redteam", help="Red-team a target: seeds × attacks, ASR heatmap, evidence.")
app.add_typer(data.app, name="data", help="Scan datasets: personal data, licences, duplicates; data cards.")
app.add_typer(evidence.app, name="evidence", help="Signed, content-addressed evidence.")
app.add_typer(tokens.app, name="token", help="API tokens for `assay serve`.")
app.add_typer(manifest_cmds.manifest_app, name="manifest", help="The assay.yaml schema.")
server.register(app)
provenance.register(app)


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
    app()


if __name__ == "__main__":
    main()
