"""`assay redteam …`: run seeds × attacks against a target, and list the attack library.

Thin: the work is in `assay.redteam`. Shared options and helpers are module-level so that further
commands (the interactive `chat`) reuse them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, stderr

app = typer.Typer(no_args_is_help=True)

MANIFEST_OPT = typer.Option(
    None,
    "--manifest",
    "-m",
    help="assay.yaml whose targets (and workspace) to use; default ./assay.yaml if present.",
)
ATTACKS_DIR_OPT = typer.Option(
    None,
    "--attacks-dir",
    help="A folder of your own attacks (YAML, plus .py transforms); repeatable. Also ASSAY_ATTACKS_PATH.",
)


def context(manifest_path: Path | None, home: Path | None):  # type: ignore[no-untyped-def]
    """(workspace, manifest or None, base folder), found as `assay eval` finds them."""
    from assay.cli.evals import _context

    return _context(manifest_path, home)


def load_library(attacks_dir: list[Path] | None):  # type: ignore[no-untyped-def]
    """The attack library, or exit 2 listing every problem with its file."""
    from assay.redteam.library import AttackInvalid, load_attacks

    try:
        return load_attacks(attacks_dir or None)
    except AttackInvalid as exc:
        stderr.print(f"[red]invalid attacks[/red]: {len(exc.problems)} problem(s)", highlight=False)
        for p in exc.problems:
            stderr.print("  " + p, highlight=False, markup=False)
        raise typer.Exit(2) from None


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def print_outcome(outcome) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    s, m = outcome.summary, outcome.asr
    interval = (
        f" ({_pct(m.overall.ci_low)}–{_pct(m.overall.ci_high)})" if m.overall.ci_low is not None else ""
    )
    console.print(
        f"[bold]{s.suite_id}[/bold] on [bold]{s.target_id}[/bold]: attack success rate "
        f"{_pct(m.overall.rate)}{interval}, {m.overall.successes}/{m.overall.judged} judged, "
        f"{m.overall.unjudged} not judged, {s.target_errors} target errors ({s.status})"
    )
    for title, rows in (("by attack", m.by_attack), ("by category", m.by_category)):
        table = Table(title.split()[1], "successes", "judged", "ASR", "95% interval", title=f"ASR {title}")
        for r in rows:
            ci = f"{_pct(r.ci_low)}–{_pct(r.ci_high)}" if r.ci_low is not None else ""
            table.add_row(r.key, str(r.successes), str(r.judged), _pct(r.rate), ci)
        console.print(table)
    console.print(f"Report: [cyan]{outcome.report}[/cyan]", soft_wrap=True)


@app.command("run")
def run(
    seeds: str = typer.Option(
        ..., "--seeds", "-s", help="Seed suite: a suite name or file, or 'redteam-starter'."
    ),
    attacks: str = typer.Option(
        "all", "--attacks", "-a", help="'all', or attack ids / families, comma-separated."
    ),
    target: str = typer.Option("bundled", "--target", "-t", help="Target id from the manifest."),
    attacker: str | None = typer.Option(None, "--attacker", help="Target id that writes prompts (PAIR)."),
    judge: str | None = typer.Option(
        None, "--judge", help="Target id that judges harmful compliance (default: the refusal detector)."
    ),
    budget: int = typer.Option(5, "--budget", min=1, help="Target queries per attacker-loop sample."),
    max_queries: int | None = typer.Option(
        None, "--max-queries", min=1, help="Cap on the run's target queries; the rest are logged as errors."
    ),
    manifest: Path | None = MANIFEST_OPT,
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N seeds."),
    sample: int | None = typer.Option(None, "--sample", min=1, help="A random N seeds (see --seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Longest answer, in tokens."),
    attacks_dir: list[Path] | None = ATTACKS_DIR_OPT,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the response cache."),
    home: Path | None = HOME_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Attack every seed with every chosen attack; log, report the attack success rate, record evidence."""
    import asyncio

    from assay.cli.evals import _progress_bar
    from assay.evals.runner import RunOptions
    from assay.evals.suites import SuiteInvalid
    from assay.evals.targets.base import GenerationParams, TargetUnavailable
    from assay.redteam.library import AttackInvalid
    from assay.redteam.service import redteam

    ws, m, base = context(manifest, home)
    params = GenerationParams(max_tokens=max_tokens) if max_tokens else GenerationParams()
    options = RunOptions(limit=limit, sample=sample, seed=seed, use_cache=not no_cache, params=params)
    try:
        with _progress_bar(as_json) as bar:
            task = bar.add_task(f"{seeds} × {attacks} → {target}", total=None, rate="")

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcome = asyncio.run(
                redteam(
                    ws,
                    seeds,
                    attacks,
                    target,
                    manifest=m,
                    base_dir=base,
                    attacker_id=attacker,
                    judge_id=judge,
                    budget=budget,
                    max_queries=max_queries,
                    attack_dirs=attacks_dir,
                    options=options,
                    progress=progress,
                )
            )
    except AttackInvalid as exc:
        stderr.print(f"[red]invalid attacks[/red]: {len(exc.problems)} problem(s)", highlight=False)
        for p in exc.problems:
            stderr.print("  " + p, highlight=False, markup=False)
        raise typer.Exit(2) from None
    except SuiteInvalid as exc:
        stderr.print(f"[red]invalid seed suite[/red]: {len(exc.problems)} problem(s)", highlight=False)
        for p in exc.problems:
            stderr.print("  " + p.render(), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except TargetUnavailable as exc:
        stderr.print(f"[red]target unavailable[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        stderr.print("[yellow]interrupted[/yellow]: the log keeps every finished sample")
        raise typer.Exit(130) from None
    except (FileNotFoundError, ValueError) as exc:
        stderr.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        ws.close()
    for note in outcome.notes:
        stderr.print(f"[yellow]note[/yellow] {note}", highlight=False)
    if as_json:
        typer.echo(outcome.model_dump_json(indent=2))
    else:
        print_outcome(outcome)


@app.command("attacks")
def attacks_(
    attacks_dir: list[Path] | None = ATTACKS_DIR_OPT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The attack library: built-in, your folders, and plugins."""
    from rich.table import Table

    library = load_library(attacks_dir)
    if as_json:
        import json

        typer.echo(json.dumps([a.spec.model_dump(mode="json") for a in library.values()], indent=2))
        return
    table = Table("id", "family", "mode", "ATLAS", "OWASP LLM", "name")
    for a in library.values():
        s = a.spec
        table.add_row(s.id, s.family, str(s.mode), ", ".join(s.atlas), ", ".join(s.owasp_llm), s.name)
    console.print(table)
