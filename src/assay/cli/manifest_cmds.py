"""`assay init`, `assay validate`, `assay assess` and `assay manifest schema`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from assay.cli.common import HOME_OPTION, console, fail_on_invalid_manifest, open_workspace, stderr

manifest_app = typer.Typer(no_args_is_help=True)


def _interactive() -> bool:
    """Ask questions only when a person is at a terminal; CI gets an error naming the missing flags."""
    return sys.stdin.isatty()


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("assess")(assess)


def init(
    path: Path = typer.Argument(Path("assay.yaml"), help="Where to write the manifest."),
    name: str | None = typer.Option(None, help="System name."),
    intended_use: str | None = typer.Option(None, "--intended-use", help="What the system is for."),
    sector: str | None = typer.Option(None, help="Sector, e.g. finance, healthcare, retail."),
    model_type: str | None = typer.Option(None, "--model-type", help="closed, open-weights or open-source."),
    developer: str | None = typer.Option(None, help="Organisation that developed the model."),
    deployer: str | None = typer.Option(None, help="Organisation that deploys the application."),
    model_name: str | None = typer.Option(None, "--model-name", help="The foundation model's name."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter manifest (asks for what flags leave out when run in a terminal)."""
    from pydantic import ValidationError

    from assay.manifest.starter import StarterAnswers, render_starter
    from assay.store.blobs import atomic_write

    if path.exists() and not force:
        stderr.print(f"[red]{path} exists already[/red]; use --force to overwrite it.")
        raise typer.Exit(2)
    given = {
        "name": name,
        "intended_use": intended_use,
        "sector": sector,
        "model_type": model_type,
        "developer": developer,
        "deployer": deployer,
        "model_name": model_name,
    }
    questions = {
        "name": ("System name", None),
        "intended_use": ("What is it for (intended use)", None),
        "sector": ("Sector", "general"),
        "model_type": ("Model type (closed, open-weights, open-source)", "closed"),
        "developer": ("Model developer (organisation)", None),
        "deployer": ("Deploying organisation", None),
        "model_name": ("Foundation model name", None),
    }
    interactive = _interactive()
    for key, value in given.items():
        if value is None and interactive:
            prompt, default = questions[key]
            given[key] = typer.prompt(prompt, default=default)
    missing = [k for k, v in given.items() if v is None and k not in ("sector", "model_type")]
    if missing:
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        stderr.print(f"[red]Not run in a terminal, so these are needed as flags:[/red] {flags}")
        raise typer.Exit(2)
    answers = {k: v for k, v in given.items() if v is not None}
    try:
        text = render_starter(StarterAnswers.model_validate(answers))
    except ValidationError as exc:
        for err in exc.errors():
            stderr.print(f"[red]--{str(err['loc'][0]).replace('_', '-')}[/red]: {err['msg']}")
        raise typer.Exit(2) from None
    atomic_write(path, text.encode())
    console.print(f"Wrote [bold]{path}[/bold]. Next: [cyan]assay validate {path}[/cyan]")


def validate(
    path: Path = typer.Argument(Path("assay.yaml"), help="The manifest to check."),
    as_json: bool = typer.Option(False, "--json", help="Print problems as JSON."),
) -> None:
    """Check a manifest and report every problem at once, with line, column and field. Exit 2 if invalid."""
    import json

    from assay.manifest import ManifestInvalid, load_manifest

    try:
        m = load_manifest(path, runnable=True)  # every suite and attack assess would load, loaded
    except ManifestInvalid as exc:
        if as_json:
            typer.echo(json.dumps([p.model_dump() for p in exc.problems], indent=2))
            raise typer.Exit(2) from None
        fail_on_invalid_manifest(exc)
    if as_json:
        typer.echo(json.dumps({"valid": True, "system": m.system.id}))
        return
    console.print(
        f"[green]valid[/green]: {path} — {m.system.name} v{m.system.version}, "
        f"{len(m.parties)} parties, {len(m.components)} components, {len(m.control_points)} control points"
    )


def assess(
    path: Path = typer.Argument(
        Path("assay.yaml"),
        help="The manifest to assess, or `list` to show recorded assessments.",
    ),
    where: Path | None = typer.Argument(
        None, help="With `list`: the manifest (or its folder) whose workspace to read.", show_default=False
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: out/ beside the manifest)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, only the summary."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Exit 1 when any error-severity flag is raised, any grade on the label is red or a required "
        "area of the label is not disclosed (for CI gates).",
    ),
    fresh: bool = typer.Option(
        False,
        "--fresh",
        help="Start anew instead of resuming an unfinished assessment of this manifest.",
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Run everything the manifest names and write signed outputs, with an index.html.

    An assessment is recorded as it runs; if one of the same manifest was killed or failed, the next
    run resumes it and reuses the steps whose outputs are intact. `assay assess list` shows them all."""
    if str(path) == "list" and not path.exists():
        _list_assessments(where, home, as_json)
        return
    from assay.assess import assess as run_assessment
    from assay.cli.common import run_errors_exit
    from assay.cli.progress import LineProgress
    from assay.evals.suites import SuiteInvalid
    from assay.manifest import ManifestInvalid
    from assay.redteam.library import AttackInvalid

    problem_errors = {SuiteInvalid: "invalid suite", AttackInvalid: "invalid attacks"}
    try:
        with run_errors_exit(problem_errors):
            if quiet or as_json or not stderr.is_terminal:
                lines = None if (quiet or as_json) else LineProgress(stderr)
                result = run_assessment(
                    path,
                    out,
                    progress=lines.step if lines else None,
                    sample_progress=lines.samples if lines else None,
                    resume=not fresh,
                )
            else:
                result = _assess_with_bars(path, out, resume=not fresh)
    except ManifestInvalid as exc:
        fail_on_invalid_manifest(exc)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        if result.resumed_steps:
            console.print(
                f"Resumed an unfinished assessment: reused {len(result.resumed_steps)} finished step(s) "
                f"({', '.join(result.resumed_steps)})",
                highlight=False,
                markup=False,
            )
        console.print(
            f"\n[bold]{escape(result.system_name)}[/bold]: {len(result.outputs)} outputs, "
            f"{result.errors} errors, {result.warnings} warnings (store: {result.database})"
        )
        for f in result.findings:
            colour = "red" if f.severity == "error" else "yellow"
            console.print(f"  [{colour}]{f.severity}[/{colour}] {escape(f.message)}", highlight=False)
        if not quiet:
            for o in result.outputs:
                console.print(f"  {escape(o.path)}  [dim]{o.kind}[/dim]", highlight=False)
        console.print(
            f"\nOutputs are in [bold]{escape(result.out_dir)}[/bold]; "
            f"open [cyan]{escape(result.index)}[/cyan]"
        )
        console.print(
            "Check the signed evidence: "
            f"[cyan]assay evidence verify --home {escape(result.workspace)}[/cyan]",
            soft_wrap=True,
        )
        if result.chain_head:
            console.print(
                f"Evidence chain head {result.chain_head}: keep it, and `assay evidence verify --head` "
                "with it shows later that nothing recorded up to now was removed",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
    if strict:
        _strict_exit(result)


STRICT_LINES = 15  # the why of a failed --strict fits on one screen


def _strict_exit(result) -> None:  # type: ignore[no-untyped-def]
    """`--strict`: exit 1 when a flag is an error, a grade on the label is red or a required area of the
    label is not disclosed, saying why in one screen (everything has been written by then)."""
    from assay.label.service import strict_problems
    from assay.label.verify import LabelUnreadable, read_label

    why = [f"error: {f.message}" for f in result.findings if f.severity == "error"]
    label = next((o for o in result.outputs if o.kind == "label.disclosure"), None)
    if label is not None:
        try:
            why += strict_problems(read_label(Path(label.path))[1])
        except LabelUnreadable as exc:
            why.append(f"the label could not be read back: {exc}")
    if not why:
        return
    stderr.print(f"\n[red]--strict: failed[/red] ({len(why)} reason(s))", highlight=False)
    for line in why[:STRICT_LINES]:
        stderr.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if len(why) > STRICT_LINES:
        stderr.print(f"  … and {len(why) - STRICT_LINES} more (see the index)", markup=False, highlight=False)
    raise typer.Exit(1)


def _assess_with_bars(path: Path, out: Path | None, *, resume: bool):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from assay.assess import assess as run_assessment

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=stderr,
    ) as bar:
        task = bar.add_task("Assess", total=1)
        samples = bar.add_task("  samples", total=None, visible=False)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        def sample_progress(done: int, total: int) -> None:
            bar.update(samples, completed=done, total=total, visible=done < total)

        return run_assessment(path, out, progress=progress, sample_progress=sample_progress, resume=resume)


def _list_assessments(target: Path | None, home: Path | None, as_json: bool) -> None:
    """`assay assess list [MANIFEST]`: every recorded assessment with its status and steps done."""
    import json

    from rich.table import Table

    from assay.assess import STEPS, list_assessments
    from assay.workspace import Workspace

    if home is not None:
        ws = open_workspace(home)
    elif target is not None:
        ws = Workspace.for_manifest(target if not target.is_dir() else target / "assay.yaml")
    else:
        ws = Workspace.at()
    try:
        records = list_assessments(ws)
    finally:
        ws.close()
    if as_json:
        rows = [{**r.model_dump(mode="json"), "status": r.effective_status()} for r in records]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not records:
        console.print(f"No assessments recorded in {ws.home}.", markup=False, highlight=False)
        return
    table = Table(title=f"Assessments in {ws.home}")
    for col in ("id", "system", "started (UTC)", "status", "steps done", "resumed"):
        table.add_column(col, overflow="fold")
    for r in records:
        status = r.effective_status()
        colour = {"completed": "green", "running": "cyan"}.get(status, "red")
        table.add_row(
            r.id[:8],
            r.system,
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            f"[{colour}]{status}[/{colour}]",
            f"{len(r.steps)}/{len(STEPS)}",
            str(r.resumed),
        )
    console.print(table)
    unfinished = [r for r in records if r.effective_status() in ("interrupted", "failed")]
    for r in unfinished:
        console.print(
            f"{r.id[:8]} is {r.effective_status()}"
            + (f" ({r.error})" if r.error else "")
            + ": run `assay assess` on the same manifest to resume it, or add --fresh to start over.",
            markup=False,
            highlight=False,
        )


@manifest_app.command("schema")
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file instead of stdout."),
) -> None:
    """Print the manifest's JSON Schema, for editor completion."""
    import json

    from assay.manifest.schema import Manifest
    from assay.store.blobs import atomic_write

    doc = Manifest.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "Assay manifest (assay.yaml)"
    text = json.dumps(doc, indent=2) + "\n"
    if output:
        atomic_write(output, text.encode())
        console.print(f"Wrote {output}")
    else:
        typer.echo(text, nl=False)
