"""`assay policy`: list, show, validate policy packs, and check a label against one.

Exit codes: 0 fine; 1 `check` found a red grade or a missing required area; 2 bad input (a pack or
label that cannot be read or is invalid — every problem is listed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assay.cli.common import console, fail_with_problems

if TYPE_CHECKING:
    from assay.policy.models import PolicyPack

app = typer.Typer(
    no_args_is_help=True, help="Policy packs: an authority's thresholds, tiers and required areas."
)

PACK_HELP = "A built-in pack id (see `assay policy list`) or the path of a pack YAML file."


def _pack(ref: str) -> PolicyPack:
    from assay.policy.loader import PackInvalid, resolve_pack

    try:
        return resolve_pack(ref)
    except PackInvalid as exc:
        fail_with_problems("invalid policy pack", exc.problems)


@app.command("list")
def list_packs(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """The built-in packs: id, version, publisher, whether illustrative, what each extends."""
    from assay.policy.loader import PackInvalid, list_builtin_packs
    from assay.policy.render import pack_summary, packs_table

    try:
        packs = list_builtin_packs()
    except PackInvalid as exc:
        fail_with_problems("invalid built-in policy pack", exc.problems)
    if as_json:
        typer.echo(json.dumps([pack_summary(p) for p in packs], indent=2, ensure_ascii=False))
    else:
        console.print(packs_table(packs))


@app.command("show")
def show(
    pack: str = typer.Argument(..., help=PACK_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the merged pack as JSON."),
) -> None:
    """A pack's rules, risk tiers, required areas and freshness, overlays merged onto their base."""
    from assay.policy.render import pack_view

    loaded = _pack(pack)
    if as_json:
        typer.echo(loaded.model_dump_json(indent=2))
    else:
        console.print(pack_view(loaded))


@app.command("validate")
def validate(path: Path = typer.Argument(..., help="A pack YAML file.")) -> None:
    """Check a pack file (and the base it extends); exit 2 listing every problem."""
    from assay.policy.loader import check_pack, load_pack

    problems = check_pack(path)
    if problems:
        fail_with_problems("invalid policy pack", problems)
    pack = load_pack(path)
    console.print(
        f"ok: {pack.id} {pack.version} ({' → '.join(pack.lineage)}), {len(pack.thresholds)} rules, "
        f"{len(pack.risk_tiers)} risk tiers, {len(pack.required_areas)} required areas",
        markup=False,
        highlight=False,
    )


@app.command("check")
def check(
    pack: str = typer.Argument(..., help=PACK_HELP),
    label: Path = typer.Option(..., "--label", "-l", help="A label.json built by `assay label build`."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Grade a label under PACK: each grade names its rule and why; exit 1 when any grade is red or a
    required area is not disclosed."""
    from assay.policy.labelread import LabelUnreadable, read_disclosure
    from assay.policy.render import verdict_view
    from assay.policy.verdict import judge_label

    loaded = _pack(pack)
    try:
        disclosure = read_disclosure(label)
    except LabelUnreadable as exc:
        fail_with_problems("unreadable label", exc.problems)
    verdict = judge_label(loaded, disclosure)
    if as_json:
        typer.echo(verdict.model_dump_json(indent=2))
    else:
        console.print(verdict_view(verdict))
    if verdict.failed:
        raise typer.Exit(1)
