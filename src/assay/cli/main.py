"""The `assay` command. Each group lives in its own module and imports heavy code only when run."""

from __future__ import annotations

import typer

from assay import __version__
from assay.cli import (
    bom,
    catalog,
    conformance,
    data,
    evals,
    evidence,
    gateway,
    incidents,
    label,
    manifest_cmds,
    monitor,
    notify,
    oscal,
    provenance,
    redteam,
    registry,
    replay,
    scan,
    server,
    tokens,
)
from assay.cli import policy as policy_cli
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
conformance.register(app)
monitor.register(app)
app.add_typer(registry.app, name="registry", help="Parties, components, control points and the RACI matrix.")
app.add_typer(catalog.app, name="catalog", help="The framework's controls and their crosswalks.")
app.add_typer(evals.app, name="eval", help="Run suites against targets; resume, re-score, list runs.")
app.add_typer(redteam.app, name="redteam", help="Red-team a target: seeds × attacks, ASR heatmap, evidence.")
app.add_typer(scan.app, name="scan", help="Scan model artifacts: pickles, safetensors, GGUF.")
app.add_typer(data.app, name="data", help="Scan datasets: personal data, licences, duplicates; data cards.")
app.add_typer(evidence.app, name="evidence", help="Signed, content-addressed evidence.")
app.add_typer(label.app, name="label", help="The food label: build, verify, diff and its JSON Schema.")
app.add_typer(policy_cli.app, name="policy", help="Policy packs: an authority's thresholds; check a label.")
app.add_typer(
    incidents.app, name="incidents", help="Incident and vulnerability reports: triage, deadlines, audit."
)
app.add_typer(tokens.app, name="token", help="API tokens for `assay serve`.")
app.add_typer(gateway.app, name="gateway", help="A guardrail proxy (OpenAI API) in front of a target.")
app.add_typer(notify.app, name="notify", help="Deliver notifications (webhooks, e-mail) from the outbox.")
app.add_typer(oscal.app, name="oscal", help="The catalog and a system's assessment as OSCAL JSON.")
app.add_typer(manifest_cmds.manifest_app, name="manifest", help="The assay.yaml schema.")
server.register(app)
provenance.register(app)
bom.register(app)
replay.register(app)


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
