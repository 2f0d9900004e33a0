"""`assay redteam …`: run seeds × attacks against a target, and list the attack library.

Thin: the work is in `assay.redteam`. Shared options and helpers are module-level so that further
commands (the interactive `chat`) reuse them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import HOME_OPTION, console, fail_with_problems, run_errors_exit, stderr

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
        fail_with_problems("invalid attacks", exc.problems)


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
    if s.footprint is not None:
        from assay.energy.text import footprint_line

        console.print(footprint_line(s.footprint), markup=False, highlight=False, soft_wrap=True)
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

    from assay.cli.progress import run_progress
    from assay.evals.runner import RunOptions
    from assay.evals.suites import SuiteInvalid
    from assay.evals.targets.base import GenerationParams
    from assay.redteam.library import AttackInvalid
    from assay.redteam.service import redteam

    ws, m, base = context(manifest, home)
    params = GenerationParams(max_tokens=max_tokens) if max_tokens else GenerationParams()
    options = RunOptions(limit=limit, sample=sample, seed=seed, use_cache=not no_cache, params=params)
    try:
        errors = {SuiteInvalid: "invalid seed suite", AttackInvalid: "invalid attacks"}
        with (
            run_errors_exit(errors),
            run_progress(f"{seeds} × {attacks} → {target}", stderr, quiet=as_json) as progress,
        ):
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


# -- `assay redteam chat`: the terminal around `assay.redteam.chat.ChatSession` ---------------------------

CHAT_COMMANDS = ("/attack ", "/attacks", "/history", "/reset", "/system ", "/save", "/help", "/quit")


def _plain_reader(history: Path):  # type: ignore[no-untyped-def]
    """`input()` with readline editing and a history file, when prompt_toolkit is not installed."""
    import contextlib

    try:
        import readline
    except ImportError:  # no readline (e.g. Windows): lines still work, without history
        return lambda _toolbar: input("you › ")
    readline.set_history_length(1000)
    if history.exists():
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history))

    def read(_toolbar: str) -> str:
        try:
            line = input("you › ")
        except KeyboardInterrupt:
            print()  # a fresh prompt on its own line, as a shell does
            raise
        if line.strip():
            try:
                readline.append_history_file(1, str(history))
            except OSError:
                readline.write_history_file(str(history))
        return line

    return read


def _toolkit_reader(history: Path, session):  # type: ignore[no-untyped-def]
    """A prompt_toolkit prompt: file history, completion of commands and attack ids, F2 to pick an
    attack for the next message, F5 to save the last exchange, and a toolbar saying what is set."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.history import History
    from prompt_toolkit.key_binding import KeyBindings

    class LineHistory(History):
        """One line per entry, as readline keeps it, so both front ends share the history file."""

        def load_history_strings(self):  # type: ignore[no-untyped-def]
            if history.exists():
                lines = history.read_text(encoding="utf-8", errors="replace").splitlines()
                yield from (line for line in reversed(lines) if line.strip())

        def store_string(self, string: str) -> None:
            with history.open("a", encoding="utf-8") as fh:
                fh.write(" ".join(string.splitlines()) + "\n")

    class ChatCompleter(Completer):
        def get_completions(self, document, complete_event):  # type: ignore[no-untyped-def]
            text = document.text_before_cursor
            if text.startswith("/attack "):
                word = text[len("/attack ") :]
                for a in session.chat_attacks():
                    if a.id.startswith(word):
                        yield Completion(a.id, start_position=-len(word), display_meta=a.spec.name)
            elif text.startswith("/") and " " not in text:
                for c in CHAT_COMMANDS:
                    if c.startswith(text):
                        yield Completion(c, start_position=-len(text))

    keys = KeyBindings()

    @keys.add("f2")
    def _pick_attack(event) -> None:  # type: ignore[no-untyped-def]
        buffer = event.current_buffer
        buffer.text = "/attack "
        buffer.cursor_position = len(buffer.text)
        buffer.start_completion(select_first=False)

    @keys.add("f5")
    def _save(event) -> None:  # type: ignore[no-untyped-def]
        event.current_buffer.text = "/save"
        event.current_buffer.validate_and_handle()

    prompt = PromptSession(
        history=LineHistory(),
        completer=ChatCompleter(),
        complete_while_typing=True,
        key_bindings=keys,
    )
    return lambda toolbar: prompt.prompt("you › ", bottom_toolbar=toolbar)


def _toolbar(session) -> str:  # type: ignore[no-untyped-def]
    judge = f" · judge {session.judge_id}" if session.judge_id else ""
    attack = session.pending_attack.id if session.pending_attack else "none"
    return f" {session.target_id}{judge} · next attack: {attack} · F2 attack · F5 save · Ctrl-D quit"


def _print_turn(turn, target_id: str) -> None:  # type: ignore[no-untyped-def]
    from rich.text import Text

    if turn.attack:
        shown = turn.prompt if len(turn.prompt) <= 400 else turn.prompt[:400] + " …"
        extra = f", {len(turn.sent)} messages" if len(turn.sent) > 1 else ""
        console.print(Text(f"  sent through {turn.attack}{extra}: ", style="dim") + Text(shown))
    if turn.error:
        stderr.print(Text(f"target error: {turn.error}", style="red"))
        return
    console.print(Text(f"{target_id} › ", style="bold cyan") + Text(turn.answer or ""))
    verdict = turn.refusal
    parts = [f"refusal detector: {'refused' if verdict.refused else 'complied'} (score {verdict.score:g})"]
    if turn.judge is not None:
        j = turn.judge
        if j.error:
            parts.append(f"judge: not judged ({j.label}: {j.error})")
        else:
            meaning = "no harmful help" if j.passed else "harmful help"
            parts.append(f"judge: {j.label} ({meaning})")
    parts.append(f"{turn.latency_s:.2f} s")
    console.print(Text("  " + " · ".join(parts), style="yellow"))


@app.command("chat")
def chat(
    target: str = typer.Argument("bundled", help="Target id from the manifest (default: bundled)."),
    manifest: Path | None = MANIFEST_OPT,
    judge: str | None = typer.Option(
        None, "--judge", help="Target id that grades each answer for harmful help (PASS/FAIL)."
    ),
    system_prompt: str | None = typer.Option(
        None, "--system-prompt", help="System prompt (default: the target's own, from the manifest)."
    ),
    save_to: Path | None = typer.Option(
        None,
        "--save-to",
        help="JSONL file that /save appends to (default: redteam-findings.jsonl by the manifest).",
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Longest answer, in tokens."),
    attacks_dir: list[Path] | None = ATTACKS_DIR_OPT,
    plain: bool = typer.Option(
        False, "--plain", help="Plain line input (readline) even when prompt_toolkit is installed."
    ),
    home: Path | None = HOME_OPTION,
) -> None:
    """Chat with a target, judging every answer; /attack disguises the next message, /save keeps a finding
    as a test sample. /help lists the commands."""
    import asyncio

    from assay.evals.service import target_specs
    from assay.evals.targets import build_target
    from assay.evals.targets.base import GenerationParams, TargetUnavailable
    from assay.redteam.chat import DEFAULT_FINDINGS, HISTORY_FILE, ChatSession

    ws, m, base = context(manifest, home)
    ws.close()
    specs = target_specs(m)
    for role, tid in (("target", target), ("judge", judge)):
        if tid is not None and tid not in specs:
            stderr.print(
                f"[red]error[/red]: no {role} '{tid}'; the manifest has: {', '.join(sorted(specs))}",
                highlight=False,
            )
            raise typer.Exit(2)
    library = load_library(attacks_dir)
    live = build_target(specs[target], base)
    judge_target = None
    if judge is not None:
        judge_target = live if judge == target else build_target(specs[judge], base)
    spec_system = specs[target].system_prompt
    session = ChatSession(
        target=live,
        target_id=target,
        judge=judge_target,
        judge_id=judge,
        attacks=library,
        system_prompt=system_prompt if system_prompt is not None else spec_system,
        default_system_prompt=spec_system,
        params=GenerationParams(max_tokens=max_tokens) if max_tokens else GenerationParams(),
        findings_path=(save_to or base / DEFAULT_FINDINGS).resolve(),
    )
    ws.home.mkdir(parents=True, exist_ok=True)
    history = ws.home / HISTORY_FILE
    read = None
    if not plain:
        try:
            read = _toolkit_reader(history, session)
        except ImportError:  # prompt_toolkit is optional: fall back to readline
            read = None
    read = read or _plain_reader(history)
    with asyncio.Runner() as loop:
        try:
            try:
                for t in {id(x): x for x in (live, judge_target) if x is not None}.values():
                    loop.run(t.preflight())
            except TargetUnavailable as exc:
                stderr.print(f"[red]target unavailable[/red]: {exc}", highlight=False)
                raise typer.Exit(2) from None
            judged = f", judged by [bold]{judge}[/bold]" if judge else ""
            console.print(
                f"Red-teaming [bold]{target}[/bold]{judged}. /help lists the commands; "
                f"findings go to [cyan]{session.findings_path}[/cyan].",
                soft_wrap=True,
            )
            _chat_loop(loop, session, read)
        finally:
            loop.run(session.aclose())


def _chat_loop(loop, session, read) -> None:  # type: ignore[no-untyped-def]
    """Read, handle, show, until /quit or Ctrl-D; Ctrl-C clears the line or cancels the request."""
    from rich.text import Text

    from assay.redteam.chat import parse_command

    while True:
        try:
            line = read(lambda: _toolbar(session))
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            if parse_command(line) is None and line.strip():
                with console.status(f"waiting for {session.target_id} (Ctrl-C cancels)"):
                    reply = loop.run(session.handle(line))
            else:
                reply = loop.run(session.handle(line))
        except KeyboardInterrupt:
            stderr.print("[yellow]cancelled[/yellow]: the conversation is as it was before that message")
            continue
        if reply.kind == "quit":
            break
        if reply.kind == "turn":
            _print_turn(reply.turn, session.target_id)
        elif reply.kind == "error":
            stderr.print(Text(reply.text, style="red"))
        elif reply.text:
            console.print(Text(reply.text, style="green" if reply.kind == "saved" else ""))
