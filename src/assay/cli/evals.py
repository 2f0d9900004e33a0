"""`assay eval …`: run a suite against a target, resume, re-score, list and show runs."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, run_errors_exit, settle_heap, stderr

app = typer.Typer(no_args_is_help=True)

MANIFEST_OPT = typer.Option(
    None,
    "--manifest",
    "-m",
    help="assay.yaml whose targets (and workspace) to use; default ./assay.yaml if present.",
)


def _context(manifest_path: Path | None, home: Path | None):  # type: ignore[no-untyped-def]
    """(workspace, manifest or None, base folder); exits 2 on an invalid manifest."""
    from assay.cli.common import fail_on_invalid_manifest
    from assay.manifest import ManifestInvalid, load_manifest
    from assay.workspace import Workspace

    if manifest_path is None and Path("assay.yaml").exists():
        manifest_path = Path("assay.yaml")
    manifest = None
    base = Path.cwd()
    if manifest_path is not None:
        try:
            manifest = load_manifest(manifest_path)
        except ManifestInvalid as exc:
            fail_on_invalid_manifest(exc)
        base = (manifest_path if manifest_path.is_dir() else manifest_path.parent).resolve()
    if home is not None:
        ws = Workspace(home.resolve())
    elif manifest_path is not None:
        ws = Workspace.for_manifest(
            manifest_path if not manifest_path.is_dir() else manifest_path / "assay.yaml"
        )
    else:
        ws = Workspace.at()
    return ws, manifest, base


def _print_summary(outcome) -> None:  # type: ignore[no-untyped-def]
    s = outcome.summary
    score = f"{100 * s.score:.1f}%" if s.score is not None else "–"
    console.print(
        f"[bold]{s.suite_id}[/bold] on [bold]{s.target_id}[/bold]: score {score}, grade {s.grade or '–'}, "
        f"{s.records}/{s.samples} samples, {s.target_errors} target errors, {s.cache_hits} cached, "
        f"{s.samples_per_s}/s, {s.cpu_ms_per_sample} ms CPU per sample ({s.status})"
    )
    metrics = s.metrics or {}
    primary = metrics.get("primary_scorer")
    rows = [
        r
        for r in metrics.get("rows", [])
        if r["scorer"] == primary and r["group"] in ("category", "language")
    ]
    if rows:
        from rich.table import Table

        table = Table("by", "group", "passed", "judged", "rate", "95% interval", title=f"{primary} pass rate")
        for row in rows:
            interval = ""
            if row.get("ci_low") is not None:
                interval = f"{100 * row['ci_low']:.1f}–{100 * row['ci_high']:.1f}%"
            rate = f"{100 * row['rate']:.1f}%" if row.get("rate") is not None else "–"
            table.add_row(row["group"], row["key"], str(row["k"]), str(row["n"]), rate, interval)
        console.print(table)
    if s.footprint is not None:
        from assay.energy.text import footprint_line

        console.print(footprint_line(s.footprint), markup=False, highlight=False, soft_wrap=True)
    console.print(f"Report: [cyan]{outcome.report}[/cyan]", soft_wrap=True)
    if s.status != "complete":
        console.print(
            f"Interrupted: continue with [cyan]assay eval run … --resume {s.run_id}[/cyan]", soft_wrap=True
        )


def _scorer_specs(names: list[str], args: list[str]) -> list[dict[str, object]] | None:
    """`--scorers refusal,exact` and `--scorer-arg regex.pattern=^yes` into scorer specs (exit 2 if bad)."""
    from assay.yamlio import safe_load

    specs: dict[str, dict[str, object]] = {}
    for item in names:
        for name in item.split(","):
            if name.strip():
                specs.setdefault(name.strip(), {})
    for arg in args:
        key, sep, raw = arg.partition("=")
        scorer, dot, param = key.partition(".")
        if not sep or not dot or not scorer or not param:
            stderr.print(
                f"--scorer-arg '{arg}': expected SCORER.PARAM=VALUE, e.g. --scorer-arg regex.pattern=^yes",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(2)
        if scorer not in specs:
            stderr.print(
                f"--scorer-arg '{arg}': scorer '{scorer}' is not among --scorers "
                f"({', '.join(specs) or 'none given'})",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(2)
        value = safe_load(raw) if raw.strip() else ""
        specs[scorer][param] = value if isinstance(value, str | int | float | bool) else raw
    return [{"name": n, "params": p} for n, p in specs.items()] or None


@app.command("run")
def run(
    suite: str = typer.Argument(
        ...,
        help="A built-in suite name or a file or folder: suite YAML, JSONL/CSV/JSON/Parquet samples (a JSON "
        "list of strings is a list of prompts), a Moonshot dataset, recipe, cookbook or data folder "
        "(each of its suites runs), or a Hugging Face dataset folder.",
    ),
    target: str = typer.Option(
        "bundled", "--target", "-t", help="Target id from the manifest (default: bundled)."
    ),
    manifest: Path | None = MANIFEST_OPT,
    scorers: list[str] = typer.Option(
        [], "--scorers", help="Scorers for a sample file, comma-separated (e.g. refusal or exact,pii)."
    ),
    scorer_arg: list[str] = typer.Option(
        [], "--scorer-arg", help="A scorer parameter, SCORER.PARAM=VALUE (repeatable)."
    ),
    input_column: str | None = typer.Option(None, "--input-column", help="The column holding the prompt."),
    target_column: str | None = typer.Option(
        None, "--target-column", help="The column holding the expected answer ('-' for none)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples."),
    sample: int | None = typer.Option(None, "--sample", min=1, help="A random N samples (see --seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Ask each sample this many times."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Longest answer, in tokens."),
    resume: str | None = typer.Option(None, "--resume", help="Continue an interrupted run by its id."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the response cache."),
    ray: str | None = typer.Option(None, "--ray", help="Spread samples over a Ray cluster at this address."),
    strict: bool = typer.Option(False, "--strict", help="Malformed suite rows are fatal, not skipped."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Run a suite (or each suite of a cookbook) against a target; every sample goes to an append-only log,
    each run becomes evidence."""
    import asyncio

    from assay.cli.progress import run_progress
    from assay.evals.runner import RunOptions
    from assay.evals.service import combine_outcomes, evaluate, resolve_suites
    from assay.evals.targets.base import GenerationParams

    ws, m, base = _context(manifest, home)
    settle_heap()
    params = GenerationParams(max_tokens=max_tokens) if max_tokens else GenerationParams()
    options = RunOptions(
        limit=limit, sample=sample, seed=seed, epochs=epochs, use_cache=not no_cache, params=params
    )
    load_options: dict[str, object] = {}
    specs = _scorer_specs(scorers, scorer_arg)
    if specs:
        load_options["scorers"] = specs
    if input_column:
        load_options["input_field"] = input_column
    if target_column:
        load_options["target_field"] = target_column
    if ray:
        from assay.evals.distributed import evaluate_on_ray

        runner_fn = evaluate_on_ray
        extra = {"address": ray}
    else:
        runner_fn = evaluate
        extra = {}
    outcomes = []
    try:
        with run_errors_exit(interrupted_hint="; resume with --resume"):
            suites, report = resolve_suites(suite, base, strict, **load_options)
            # said before the run, not after: a mapping or scorer chosen for the user changes what is scored
            for p in report.problems:
                stderr.print("suite: " + p.render(), highlight=False, markup=False)
            if resume and len(suites) > 1:
                stderr.print(
                    f"--resume continues one run, and {suite} holds {len(suites)} suites; resume each run "
                    "by the suite it ran (see `assay eval list`)",
                    markup=False,
                    highlight=False,
                )
                raise typer.Exit(2)
            for one in suites:
                label = one.id if len(suites) == 1 else f"{one.id} ({len(outcomes) + 1}/{len(suites)})"
                with run_progress(f"{label} → {target}", stderr, quiet=as_json) as progress:
                    outcomes.append(
                        asyncio.run(
                            runner_fn(
                                ws,
                                one,
                                target,
                                manifest=m,
                                base_dir=base,
                                options=options,
                                resume_run=resume,
                                progress=progress,
                                strict=strict,
                                **extra,
                            )
                        )
                    )
    finally:
        ws.close()
    if len(outcomes) == 1:
        if as_json:
            typer.echo(outcomes[0].model_dump_json(indent=2))
        else:
            _print_summary(outcomes[0])
        return
    combined = combine_outcomes(suite, outcomes)
    if as_json:
        typer.echo(combined.model_dump_json(indent=2))
        return
    for outcome in outcomes:
        _print_summary(outcome)
    _print_combined(combined)


def _print_combined(combined) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "suite", "score", "grade", "samples", "target errors", "status", title=escape(combined.source)
    )
    for s in combined.summaries:
        score = f"{100 * s.score:.1f}%" if s.score is not None else "–"
        table.add_row(
            escape(s.suite_id),
            score,
            s.grade or "–",
            f"{s.records}/{s.samples}",
            str(s.target_errors),
            s.status,
        )
    score = f"{100 * combined.score:.1f}%" if combined.score is not None else "–"
    table.add_row(
        "[bold]all suites[/bold]",
        score,
        "",
        f"{combined.records}/{combined.samples}",
        str(combined.target_errors),
        combined.status,
    )
    console.print(table)
    console.print(
        f"{len(combined.summaries)} suites, {combined.samples_per_s}/s, "
        f"{combined.cpu_ms_per_sample} ms CPU per sample; the combined score is the sample-weighted "
        "mean of the suites' scores.",
        markup=False,
        highlight=False,
    )
    if combined.footprint is not None:
        from assay.energy.text import footprint_line

        console.print(f"All suites: {footprint_line(combined.footprint)}", markup=False, highlight=False)


@app.command("rescore")
def rescore(
    run_id: str = typer.Argument(..., help="The run to score again (its folder name under .assay/runs)."),
    manifest: Path | None = MANIFEST_OPT,
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Score a finished run's answers again without calling the model; writes a new run beside it."""
    import asyncio

    from assay.evals.rescore import rescore_run
    from assay.evals.service import build_targets, record_run, runs_dir

    ws, m, base = _context(manifest, home)
    folder = runs_dir(ws) / run_id
    if not (folder / "spec.json").exists():
        stderr.print(f"[red]no run '{run_id}'[/red] in {runs_dir(ws)}", highlight=False)
        raise typer.Exit(2)
    summary = asyncio.run(rescore_run(folder, scorer_targets=build_targets(m, base)))
    outcome = record_run(ws, runs_dir(ws) / summary.run_id, system=m.system.id if m else None)
    ws.close()
    if as_json:
        typer.echo(outcome.model_dump_json(indent=2))
    else:
        _print_summary(outcome)


@app.command("list")
def list_(
    home: Path | None = HOME_OPTION,
    manifest: Path | None = MANIFEST_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """The runs in this workspace; an interrupted one is shown with the command that resumes it."""
    from rich.markup import escape
    from rich.table import Table

    from assay.evals.service import list_run_statuses

    ws, _m, _base = _context(manifest, home)
    runs = list_run_statuses(ws)
    if as_json:
        typer.echo("[" + ",".join(r.model_dump_json() for r in runs) + "]")
        return
    table = Table("run", "suite", "target", "status", "samples", "score", "grade")
    for r in runs:
        s = r.summary
        score = f"{100 * s.score:.1f}%" if s is not None and s.score is not None else "–"
        colour = {"complete": "green", "running": "cyan"}.get(r.status, "red")
        table.add_row(
            escape(r.run_id),
            escape(r.suite_id),
            escape(r.target_id),
            f"[{colour}]{r.status}[/{colour}]",
            f"{r.done}/{r.total}",
            score,
            (s.grade or "") if s is not None else "",
        )
    console.print(table)
    for r in runs:
        if r.resume_command:
            suffix = f" -m {manifest}" if manifest else ""
            console.print(f"{r.run_id} was interrupted; resume it: {r.resume_command}{suffix}", markup=False)
        elif r.problem:
            stderr.print(f"{r.run_id} cannot be read: {r.problem}", markup=False, highlight=False)
