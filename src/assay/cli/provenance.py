"""`assay verify`, `assay mark` and `assay keys …`: content provenance from the terminal.

Only typer (and the small shared helpers) load at import time; the checks load when a command runs.
Exit codes of `verify`: 0 AI provenance established (a mark in the file: a watermark or a trusted manifest),
1 not established or cannot tell, 2 bad input, 3 no mark but it looks like an output in the ledger.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from assay.cli.common import HOME_OPTION, console, open_workspace, stderr

keys_app = typer.Typer(no_args_is_help=True)

VERDICT_STYLE = {
    "established": "bold green",
    "ledger_match": "bold yellow",
    "not_established": "bold yellow",
    "cannot_tell": "bold magenta",
}
EXIT_CODES = {"established": 0, "not_established": 1, "cannot_tell": 1, "ledger_match": 3}


def _read_input(source: str, limit: int) -> tuple[bytes, str | None]:
    """The bytes of FILE or stdin ('-'), refusing more than `limit` bytes without reading them all."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = None
    else:
        path = Path(source)
        if path.is_dir():
            raise ValueError(
                f"{source} is a directory; `assay verify` checks one file (or '-' for stdin) at a time"
            )
        if not path.is_file():
            raise ValueError(f"{source}: no such file")
        if path.stat().st_size > limit:
            raise ValueError(f"{source} is {path.stat().st_size:,} bytes; the limit is {limit:,}")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        name = path.name
    if len(data) > limit:
        raise ValueError(f"the input is larger than the {limit:,}-byte limit")
    return data, name


def verify(
    source: str = typer.Argument(
        ..., help="One text file or image (PNG, JPEG, WebP), or '-' for stdin; not a directory."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verification as JSON."),
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        help="A C2PA manifest store kept beside the text (what `assay mark` writes for text); "
        "FILE's own `.c2pa` sidecar is used when this is not given.",
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the content and the result as evidence."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Check content for AI provenance: manifest, watermark and ledger, combined into one verdict.

    Exit codes: 0 mark found (established), 1 not established or cannot tell, 2 bad input, 3 ledger_match.
    """
    from assay.provenance.verify import MAX_VERIFY_BYTES, verify_content

    try:
        data, name = _read_input(source, MAX_VERIFY_BYTES)
        from assay.provenance.mark import sidecar_path

        own = sidecar_path(Path(source))
        if manifest is None and source != "-" and own != Path(source) and own.is_file():
            manifest = own
            stderr.print(f"using the sidecar manifest {manifest}", highlight=False, markup=False)
        sidecar = manifest.read_bytes()[: 1 << 20] if manifest is not None else None
    except (OSError, ValueError) as exc:
        stderr.print(f"[red]cannot read the input[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    v = verify_content(open_workspace(home), data, filename=name, sidecar_manifest=sidecar, keep=keep)
    if as_json:
        typer.echo(v.model_dump_json(indent=2))
    else:
        console.print(f"[{VERDICT_STYLE[v.verdict]}]{v.headline}[/]", highlight=False)
        what = f"{v.content_type} ({v.media_type}, {v.size:,} bytes)"
        console.print(f"{name or 'stdin'}: {what}, sha256 {v.sha256[:16]}…", highlight=False, markup=False)
        for s in v.sentences:
            console.print(f"  • {s}", highlight=False, markup=False)
        console.print(f"Confidence: {v.confidence}", highlight=False, markup=False)
        for n in v.notes:
            console.print(f"Note: {n}", style="dim", highlight=False, markup=False)
        if v.kept_as:
            console.print(f"Kept as evidence {v.kept_as}", highlight=False, markup=False)
    if v.bad_input and v.verdict != "established":
        raise typer.Exit(2)
    raise typer.Exit(EXIT_CODES[v.verdict])


def mark(
    source: Path | None = typer.Argument(None, help="A text file or image to mark; writes FILE.marked.ext."),
    generate: str | None = typer.Option(
        None, "--generate", help="Generate an answer to this prompt with the bundled model and watermark it."
    ),
    system: str | None = typer.Option(None, "--system", help="The system that produced it (manifest id)."),
    system_version: str = typer.Option("", "--system-version"),
    model: str | None = typer.Option(
        None,
        "--model",
        help="The model that produced it (signed into the manifest). Required, except when re-marking a "
        "signed image, whose manifest names it.",
    ),
    sidecar: bool = typer.Option(
        True,
        "--sidecar/--embed",
        help="Text: write the C2PA manifest beside the file as FILE.marked.c2pa (the default; standard "
        "C2PA readers accept it), or embed it as invisible characters (Assay-verifiable only: the "
        "reference C2PA SDK cannot read it).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    seed: int | None = typer.Option(
        None, "--seed", min=0, help="With --generate: the sampling seed (random if not given; recorded)."
    ),
    max_tokens: int = typer.Option(120, "--max-tokens", min=1, max=1024),
    image_watermark: str = typer.Option(
        "syncTile",
        "--image-watermark",
        help="Image: the watermark method: syncTile (survives crops, rotation, resizing, JPEG q50), "
        "dwtDctSvd (the pre-issue-9 default) or dwtDctSvd-rescale (survives uniform resizing).",
    ),
    out: Path | None = typer.Option(None, "--out", help="With --generate: write the text here."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Mark generated content: watermark, sign and record it in the ledger.

    Exit codes: 0 marked, 2 bad input (no such file, unsupported content, no model named, an output
    already there without --force)."""
    from assay.provenance.mark import MarkError, generate_marked_text, mark_file

    ws = open_workspace(home)
    try:
        if generate is not None:
            if out is not None and out.exists() and not force:
                raise MarkError(f"{out} already exists; pass --force to overwrite it")
            results = generate_marked_text(
                ws,
                [generate],
                system=system,
                system_version=system_version,
                max_new_tokens=max_tokens,
                seed=seed,
            )
            text = results[0].text or ""
            if out is not None:
                from assay.store.blobs import atomic_write

                atomic_write(out, text.encode("utf-8"))
            else:
                typer.echo(text)
            stderr.print(
                f"watermarked with key {results[0].key_id} (seed {results[0].seed}); "
                f"ledger entry #{results[0].ledger_id}",
                highlight=False,
                markup=False,
            )
            return
        if source is None:
            stderr.print("[red]give a FILE to mark, or --generate PROMPT[/red]")
            raise typer.Exit(2)
        if not source.is_file():
            what = "is a directory, not a file" if source.is_dir() else "no such file"
            stderr.print(f"[red]{escape(str(source))}: {what}[/red]", highlight=False)
            raise typer.Exit(2)
        result = mark_file(
            ws,
            source,
            system=system,
            system_version=system_version,
            model=model,
            sidecar=sidecar,
            force=force,
            image_watermark=image_watermark,
        )
    except (MarkError, LookupError, ValueError, OSError) as exc:
        stderr.print(f"[red]cannot mark[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    wrote = result.output_path + (f" and {result.sidecar_path}" if result.sidecar_path else "")
    console.print(
        f"wrote {wrote} ({result.method}); ledger entry #{result.ledger_id}",
        highlight=False,
        markup=False,
    )
    for n in result.notes:
        console.print(f"Note: {n}", style="dim", highlight=False, markup=False)


@keys_app.command("init")
def keys_init(
    org: str = typer.Option("Assay local test CA", "--org", help="Organisation named in the test CA."),
    home: Path | None = HOME_OPTION,
) -> None:
    """Create a text watermark key and the local C2PA test chain (CA, intermediate, ES256 signer)."""
    from assay.provenance.c2pa_keys import init_c2pa_chain
    from assay.provenance.keys import create_text_key, list_keys

    ws = open_workspace(home)
    existing = list_keys(ws)
    key_id = existing[-1].key_id if existing else create_text_key(ws).key_id
    chain = init_c2pa_chain(ws, org)
    console.print(
        f"text watermark key {key_id} ({'kept' if existing else 'created'})", highlight=False, markup=False
    )
    console.print(
        f"C2PA signer {chain.subject} ({'created' if chain.created else 'kept'}), valid until "
        f"{chain.not_after:%Y-%m-%d}; trust anchors in {chain.trust_anchors}",
        highlight=False,
        markup=False,
    )
    console.print(
        "This chain is for testing: its manifests are trusted only where its root is on the trust list.",
        style="dim",
        highlight=False,
    )


@keys_app.command("list")
def keys_list(home: Path | None = HOME_OPTION, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the text watermark keys and the C2PA signer (never a secret)."""
    import json

    from assay.provenance.c2pa_keys import SIGNER_CHAIN, c2pa_folder, load_signer
    from assay.provenance.keys import list_keys

    ws = open_workspace(home)
    keys = list_keys(ws)
    signer = None
    if (c2pa_folder(ws) / SIGNER_CHAIN).exists():
        try:
            s = load_signer(ws)
            signer = {
                "subject": s.subject,
                "issuer": s.issuer,
                "not_after": s.not_after.isoformat(),
                "fingerprint_sha256": s.fingerprint_sha256,
            }
        except Exception as exc:  # a broken chain is reported, not raised
            signer = {"problem": str(exc)}
    if as_json:
        typer.echo(json.dumps({"text_keys": [k.model_dump() for k in keys], "c2pa_signer": signer}, indent=2))
        return
    if not keys and signer is None:
        console.print("no keys yet: run `assay keys init`")
        return
    for k in keys:
        cal = "calibrated" if k.calibrated else "not calibrated"
        console.print(f"text watermark key {k.key_id}  created {k.created}  {cal}", highlight=False)
    if signer:
        console.print(f"C2PA signer: {json.dumps(signer)}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add `verify`, `mark` and the `keys` group to the root command."""
    app.command("verify")(verify)
    app.command("mark")(mark)
    app.add_typer(keys_app, name="keys", help="Text watermark keys and the C2PA signing chain.")
