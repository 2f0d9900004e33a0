"""`assay mark`: what standard C2PA readers make of the output, re-marks that keep the chain, the model
that is signed, outputs that are not overwritten and can be published, and the CLI's plain mistakes."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.provenance.c2pa_keys import init_c2pa_chain
from assay.provenance.keys import create_text_key
from assay.provenance.mark import MarkError, mark_image, mark_text
from assay.provenance.verify import verify_content
from assay.workspace import Workspace
from tests.provenance.test_ledger import ANSWER, photo, png

runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    yield w
    w.close()


def _anchors(ws: Workspace) -> str:
    return (ws.home / "keys/c2pa/trust-anchors.pem").read_text()


def sdk_read(ws: Workspace, media_type: str, data: bytes, manifest: bytes | None = None) -> dict:
    """What plain c2pa-python makes of the asset: its own Reader, this workspace's root as trust anchor."""
    import c2pa

    settings = {
        "verify": {"verify_trust": True, "ocsp_fetch": False, "remote_manifest_fetch": False},
        "trust": {"user_anchors": _anchors(ws)},
    }
    with c2pa.Context.from_dict(settings) as ctx:
        if manifest is None:
            reader = c2pa.Reader(media_type, io.BytesIO(data), context=ctx)
        else:
            reader = c2pa.Reader(media_type, io.BytesIO(data), manifest, ctx)
        with reader:
            return json.loads(reader.json())


def _failures(store: dict) -> list[str]:
    active = (store.get("validation_results") or {}).get("activeManifest") or {}
    return [f["code"] for f in active.get("failure") or []]


def _home(ws: Workspace) -> list[str]:
    return ["--home", str(ws.home)]


# -- text credentials that standard readers accept ----------------------------------------------------


def test_default_text_output_is_trusted_by_the_reference_c2pa_sdk(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    r = runner.invoke(app, ["mark", str(src), "--model", "remote-llm", *_home(ws)])
    assert r.exit_code == 0, r.output
    out, side = tmp_path / "reply.marked.txt", tmp_path / "reply.marked.c2pa"
    assert out.read_text() == ANSWER and side.is_file()
    assert "reply.marked.c2pa" in r.output
    store = sdk_read(ws, "text/plain", out.read_bytes(), side.read_bytes())
    assert store["validation_state"] == "Trusted" and _failures(store) == []
    active = store["manifests"][store["active_manifest"]]
    agents = [a.get("softwareAgent") for a in active["assertions"][0]["data"]["actions"]]
    assert {"name": "remote-llm"} in agents
    # The API's default is the same sidecar form.
    _, text, manifest = mark_text(ws, ANSWER, model="remote-llm")
    assert text == ANSWER and manifest is not None
    assert sdk_read(ws, "text/plain", text.encode(), manifest)["validation_state"] == "Trusted"


def test_embedded_text_is_labelled_assay_verifiable_only(ws: Workspace, tmp_path: Path) -> None:
    import c2pa

    from assay.provenance.text_manifest import extract

    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    r = runner.invoke(app, ["mark", str(src), "--embed", "--model", "remote-llm", *_home(ws)])
    assert r.exit_code == 0, r.output
    assert "Assay-verifiable only" in " ".join(r.output.split())
    assert not (tmp_path / "reply.marked.c2pa").exists()
    marked = (tmp_path / "reply.marked.txt").read_text()
    # Why the label: the SDK cannot open text at all, and with the manifest handed to it, it cannot
    # locate the embedded block, so it reports the data hash as broken.
    with pytest.raises(c2pa.C2paError):
        sdk_read(ws, "text/plain", marked.encode())
    manifest, _, _ = extract(marked)
    store = sdk_read(ws, "text/plain", marked.encode(), manifest)
    assert store["validation_state"] == "Invalid"
    # Assay itself still verifies it, and says that only Assay can.
    v = verify_content(ws, marked.encode(), filename="reply.marked.txt")
    assert v.verdict == "established" and any("only Assay can check" in s for s in v.sentences)
    v = verify_content(ws, ANSWER.encode(), sidecar_manifest=mark_text(ws, ANSWER, model="m")[2])
    assert v.verdict == "established" and not any("only Assay can check" in s for s in v.sentences)
    help_text = runner.invoke(app, ["mark", "--help"], env={"COLUMNS": "400"}).output
    assert "Assay-verifiable only" in help_text


# -- re-marking keeps the chain -----------------------------------------------------------------------


def test_remarking_a_signed_image_keeps_the_earlier_manifest_as_parent(ws: Workspace) -> None:
    first, signed = mark_image(ws, png(photo(3)), system="studio", model="diffuser", generator="Studio 1")
    second, again = mark_image(ws, signed, system="studio", filename="pic.marked.png")
    assert second.parent and "diffuser" in second.parent
    store = sdk_read(ws, "image/png", again)
    assert store["validation_state"] == "Trusted", _failures(store)
    active = store["manifests"][store["active_manifest"]]
    (parent,) = [i for i in active["ingredients"] if i["relationship"] == "parentOf"]
    earlier = store["manifests"][parent["active_manifest"]]
    assert [a["action"] for a in earlier["assertions"][0]["data"]["actions"]] == ["c2pa.created"]
    assert [a["action"] for a in active["assertions"][0]["data"]["actions"]][0] == "c2pa.opened"
    v = verify_content(ws, again, filename="pic.marked.marked.png")
    assert v.verdict == "established" and v.credentials is not None
    assert v.credentials.model == "diffuser"  # taken from the earlier manifest, not "unknown model"
    assert v.credentials.says_ai  # the creation is recorded in the parent
    (link,) = v.credentials.chain
    assert link.model == "diffuser" and link.ledger_id == first.ledger_id and link.generator == "Studio 1"
    assert link.failures == []
    assert any("Earlier version 1" in s and "diffuser" in s for s in v.sentences)
    # A third mark makes a chain of two.
    _, third = mark_image(ws, again, model="diffuser-2")
    v3 = verify_content(ws, third)
    assert [link.ledger_id for link in v3.credentials.chain] == [second.ledger_id, first.ledger_id]
    assert v3.credentials.model == "diffuser-2"


def test_cli_remark_needs_no_model_and_says_so(ws: Workspace, tmp_path: Path) -> None:
    img = tmp_path / "pic.png"
    img.write_bytes(png(photo(4)))
    assert runner.invoke(app, ["mark", str(img), "--model", "diffuser", *_home(ws)]).exit_code == 0
    r = runner.invoke(app, ["mark", str(tmp_path / "pic.marked.png"), *_home(ws)])
    assert r.exit_code == 0, r.output
    assert "parent ingredient" in r.output and "diffuser" in r.output
    r = runner.invoke(app, ["verify", str(tmp_path / "pic.marked.marked.png"), *_home(ws)])
    assert r.exit_code == 0 and "Earlier version 1" in r.output


def test_remarking_a_text_with_its_sidecar_keeps_the_earlier_manifest(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    assert runner.invoke(app, ["mark", str(src), "--model", "remote-llm", *_home(ws)]).exit_code == 0
    first = tmp_path / "reply.marked.txt"
    r = runner.invoke(app, ["mark", str(first), "--system", "helpdesk", *_home(ws)])  # no --model
    assert r.exit_code == 0, r.output
    assert "parent ingredient" in " ".join(r.output.split())
    out, side = tmp_path / "reply.marked.marked.txt", tmp_path / "reply.marked.marked.c2pa"
    store = sdk_read(ws, "text/plain", out.read_bytes(), side.read_bytes())
    assert store["validation_state"] == "Trusted", _failures(store)
    active = store["manifests"][store["active_manifest"]]
    (parent,) = [i for i in active["ingredients"] if i["relationship"] == "parentOf"]
    assert parent["active_manifest"] in store["manifests"]
    v = verify_content(ws, out.read_bytes(), filename=out.name, sidecar_manifest=side.read_bytes())
    assert v.verdict == "established" and v.credentials is not None
    assert v.credentials.model == "remote-llm" and v.credentials.says_ai
    (link,) = v.credentials.chain
    assert link.model == "remote-llm" and link.failures == [] and not link.content_checked
    assert any("Earlier version 1" in s and "remote-llm" in s for s in v.sentences)
    # An earlier manifest that no longer matches the (edited) text is not silently chained.
    first.write_text(ANSWER.replace("$49.90", "$4.99"))
    r = runner.invoke(app, ["mark", str(first), "--force", *_home(ws)])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "reply.marked.c2pa" in said and "edited after signing" in said
    # A sidecar beside the input that is not a manifest store is refused, naming the file.
    (tmp_path / "other.txt").write_text(ANSWER)
    (tmp_path / "other.c2pa").write_bytes(b"not a manifest")
    r = runner.invoke(app, ["mark", str(tmp_path / "other.txt"), "--model", "m", *_home(ws)])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "other.c2pa" in said and "not a readable C2PA manifest store" in said


# -- the model is never made up -----------------------------------------------------------------------


def test_the_model_must_be_named(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    r = runner.invoke(app, ["mark", str(src), *_home(ws)])
    assert r.exit_code == 2 and "--model" in r.output
    assert "cannot mark: " in r.output and "[red]" not in r.output  # markup rendered, not printed
    assert not (tmp_path / "reply.marked.txt").exists()
    img = tmp_path / "pic.png"
    img.write_bytes(png(photo(2)))
    r = runner.invoke(app, ["mark", str(img), *_home(ws)])
    assert r.exit_code == 2 and "--model" in r.output
    with pytest.raises(MarkError, match="model"):
        mark_text(ws, ANSWER, model="  ")
    with pytest.raises(MarkError, match="model"):
        mark_image(ws, png(photo(2)))


# -- outputs: not overwritten, publishable --------------------------------------------------------------


def test_existing_outputs_are_not_overwritten_without_force(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    args = ["mark", str(src), "--model", "m", *_home(ws)]
    assert runner.invoke(app, args).exit_code == 0
    out, side = tmp_path / "reply.marked.txt", tmp_path / "reply.marked.c2pa"
    before = side.read_bytes()
    r = runner.invoke(app, args)
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "already exist" in said and "--force" in said
    assert side.read_bytes() == before
    out.unlink()  # the sidecar alone is enough to refuse: it would be replaced
    r = runner.invoke(app, args)
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "reply.marked.c2pa already exists" in said and not out.exists()
    r = runner.invoke(app, [*args, "--force"])
    assert r.exit_code == 0 and out.exists() and side.read_bytes() != before
    r = runner.invoke(app, args)
    said = " ".join(r.output.split())
    assert "reply.marked.txt and " in said and "reply.marked.c2pa already exist;" in said
    # Embedding over a sidecar-marked output (with --force) removes the sidecar that no longer fits.
    r = runner.invoke(app, [*args, "--embed"])
    assert r.exit_code == 2
    assert runner.invoke(app, [*args, "--embed", "--force"]).exit_code == 0
    assert not side.exists() and "\ufe00" <= out.read_text()[-1] <= "\U000e01ef"
    img = tmp_path / "pic.png"
    img.write_bytes(png(photo(2)))
    assert runner.invoke(app, ["mark", str(img), "--model", "d", *_home(ws)]).exit_code == 0
    r = runner.invoke(app, ["mark", str(img), "--model", "d", *_home(ws)])
    assert r.exit_code == 2 and "pic.marked.png already exists" in " ".join(r.output.split())
    # --generate --out is refused before the model is even loaded.
    r = runner.invoke(app, ["mark", "--generate", "Hi", "--out", str(src), *_home(ws)])
    assert r.exit_code == 2 and "already exists" in " ".join(r.output.split())
    assert src.read_text() == ANSWER


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_marked_outputs_are_publishable_and_keys_stay_private(
    ws: Workspace, tmp_path: Path, umask: None
) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    assert runner.invoke(app, ["mark", str(src), "--model", "m", *_home(ws)]).exit_code == 0
    assert _mode(tmp_path / "reply.marked.txt") == 0o644
    assert _mode(tmp_path / "reply.marked.c2pa") == 0o644
    img = tmp_path / "pic.png"
    img.write_bytes(png(photo(2)))
    assert runner.invoke(app, ["mark", str(img), "--model", "d", *_home(ws)]).exit_code == 0
    assert _mode(tmp_path / "pic.marked.png") == 0o644
    for key in [*(ws.home / "keys").rglob("*.key"), *(ws.home / "keys").rglob("*key.pem")]:
        assert _mode(key) == 0o600, key
    assert list((ws.home / "keys").rglob("*.key")) and list((ws.home / "keys").rglob("*key.pem"))
    os.umask(0o077)  # the umask is respected: a private umask gives private files
    assert runner.invoke(app, ["mark", str(src), "--model", "m", "--force", *_home(ws)]).exit_code == 0
    assert _mode(tmp_path / "reply.marked.txt") == 0o600


def test_atomic_write_default_mode_follows_the_umask(tmp_path: Path, umask: None) -> None:
    from assay.store.blobs import atomic_write

    atomic_write(tmp_path / "a", b"x")
    assert _mode(tmp_path / "a") == 0o644
    os.umask(0o027)
    atomic_write(tmp_path / "b", b"x")
    assert _mode(tmp_path / "b") == 0o640
    atomic_write(tmp_path / "c", b"x", mode=0o600)
    assert _mode(tmp_path / "c") == 0o600


# -- the CLI's plain mistakes -----------------------------------------------------------------------------


def test_verify_on_a_directory_says_so(ws: Workspace, tmp_path: Path) -> None:
    r = runner.invoke(app, ["verify", str(tmp_path), *_home(ws)])
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert "is a directory" in said and "no such file" not in said
    r = runner.invoke(app, ["mark", str(tmp_path), "--model", "m", *_home(ws)])
    assert r.exit_code == 2 and "is a directory" in " ".join(r.output.split())


def test_an_undecodable_image_is_explained_once(ws: Workspace) -> None:
    broken = png(photo(2))[:300]
    v = verify_content(ws, broken, filename="broken.png")
    assert v.bad_input
    assert sum("could not be decoded" in s for s in v.sentences) == 1, v.sentences
    assert len(v.sentences) == len(set(v.sentences))


def test_one_token_is_singular(ws: Workspace) -> None:
    v = verify_content(ws, b"Hello there", filename="x.txt")
    (wm,) = [p for p in v.parts if p.name == "watermark"]
    assert v.watermark is not None and v.watermark.tokens_scored == 1
    # worded so that no count reads ungrammatically ("1 tokens"), in every language
    assert "tokens scored 1," in wm.summary and "1 tokens" not in wm.summary
    (wm,) = [p for p in verify_content(ws, b"Hello", filename="x.txt").parts if p.name == "watermark"]
    assert "tokens scored 0," in wm.summary


# -- --generate: a seed that is not always 0 ------------------------------------------------------------


@pytest.mark.slow
def test_generate_draws_a_seed_records_it_and_reproduces_with_it(ws: Workspace) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from assay.evals.bundled.engine import BundledModel, ModelUnavailable, find_gguf
    from assay.provenance.ledger import get_entry
    from assay.provenance.mark import generate_marked_text

    try:
        find_gguf()
    except ModelUnavailable as exc:
        pytest.skip(f"bundled model not installed: {exc}")
    model = BundledModel.load()
    prompt = ["Name a colour."]
    drawn = [generate_marked_text(ws, prompt, max_new_tokens=6, model=model)[0] for _ in range(3)]
    seeds = [r.seed for r in drawn]
    assert all(isinstance(s, int) for s in seeds) and len(set(seeds)) > 1  # not always the same seed
    for r in drawn:
        entry = get_entry(ws, r.ledger_id)
        assert entry is not None and entry.meta["seed"] == r.seed
    again = generate_marked_text(ws, prompt, max_new_tokens=6, model=model, seed=drawn[0].seed)[0]
    assert again.text == drawn[0].text and again.seed == drawn[0].seed
    r = runner.invoke(
        app, ["mark", "--generate", prompt[0], "--seed", str(drawn[0].seed), "--max-tokens", "6", *_home(ws)]
    )
    assert r.exit_code == 0, r.output
    assert drawn[0].text in r.stdout and f"seed {drawn[0].seed}" in r.output


@pytest.mark.slow
def test_generate_retries_an_answer_whose_mark_is_too_faint_and_records_the_attempt(ws: Workspace) -> None:
    """A published answer should carry a findable mark: a faint one is generated again with seed + k."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from assay.evals.bundled.engine import BundledModel, ModelUnavailable, find_gguf
    from assay.provenance.ledger import get_entry
    from assay.provenance.mark import generate_marked_text
    from assay.provenance.text_watermark import WatermarkParams

    try:
        find_gguf()
    except ModelUnavailable as exc:
        pytest.skip(f"bundled model not installed: {exc}")
    model = BundledModel.load()
    prompt = ["Name a colour."]
    # With no bias at all the mark can never be found, so every attempt is used and the last one kept.
    (faint,) = generate_marked_text(
        ws, prompt, params=WatermarkParams(delta=0.0), max_new_tokens=8, model=model, seed=40, attempts=3
    )
    entry = get_entry(ws, faint.ledger_id)
    assert entry is not None and entry.meta["attempt"] == 3 and entry.meta["seed"] == 42 == faint.seed
    # A strong bias is found, at once or after a retry (an answer that stops early is too short to
    # tell); the seed recorded is the one that produced the kept answer.
    from assay.provenance.keys import load_text_key
    from assay.provenance.text_watermark import detect_text, load_bundled_tokenizer

    params = WatermarkParams(delta=8.0)
    (strong,) = generate_marked_text(
        ws,
        ["Describe the sea in a few sentences."],
        params=params,
        max_new_tokens=60,
        model=model,
        seed=40,
        attempts=6,
    )
    entry = get_entry(ws, strong.ledger_id)
    assert entry is not None and entry.meta["seed"] == 40 + entry.meta["attempt"] - 1 == strong.seed
    assert detect_text(strong.text or "", load_bundled_tokenizer(), load_text_key(ws), params).watermarked
