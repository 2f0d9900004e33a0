"""verify_content and the CLI: one verdict from manifest, watermark and ledger; exit codes; fuzzing."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assay.cli.main import app
from assay.provenance import text_manifest
from assay.provenance.c2pa_keys import C2paSigner, init_c2pa_chain, load_signer, make_chain
from assay.provenance.keys import create_text_key
from assay.provenance.mark import mark_image, mark_text
from assay.provenance.verify import Verification, sniff, verify_content
from assay.workspace import Workspace
from tests.provenance.test_ledger import ANSWER, photo, png

runner = CliRunner()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / '.assay' / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    yield w
    w.close()


def foreign_signer(**validity: dt.datetime) -> C2paSigner:
    """A signer from a CA this workspace has never heard of (optionally with an expired certificate)."""
    pems = make_chain("Unknown Labs", **validity)  # type: ignore[arg-type]
    return load_signer(None, pems.signer_chain, pems.signer_key.get_secret_value())


def test_a_marked_text_is_established_and_once_stripped_only_resembles_its_entry(ws: Workspace) -> None:
    result, marked, _ = mark_text(
        ws, ANSWER, system="helpdesk", system_version="0.1.0", model="remote-llm", sidecar=False
    )
    assert "Assay-verifiable only" in result.notes[0] and "no hard binding" in result.notes[1]
    v = verify_content(ws, marked.encode(), filename="answer.txt")
    assert v.verdict == "established" and v.headline == "AI provenance established"
    assert v.credentials and v.credentials.trusted and v.credentials.model == "remote-llm"
    assert v.credentials.ledger_id == result.ledger_id  # the manifest names its ledger entry
    assert v.credentials.says_ai and "no hard binding" in v.credentials.note
    assert any(h.match == "exact" for h in v.ledger)
    assert v.confidence.startswith("Certain")
    # Strip the invisible manifest and edit a word: the ledger still finds it, fuzzily, but with the
    # mark gone that is a resemblance (the source text looks the same), not established provenance.
    stripped = text_manifest.extract(marked)[1].replace("free router", "free modem")
    v2 = verify_content(ws, stripped.encode())
    assert v2.verdict == "ledger_match" and not v2.mark_found
    assert v2.credentials is not None and v2.credentials.verdict == "no_manifest"
    assert v2.ledger[0].match == "similar" and "% similar" in v2.ledger[0].sentence
    assert json.loads(v2.model_dump_json())["verdict"] == "ledger_match"


def test_text_signed_by_an_unknown_ca_or_expired_cert_is_not_trusted(ws: Workspace) -> None:
    signed = text_manifest.sign_text(ANSWER, foreign_signer(), generator="X", model="y")
    v = verify_content(ws, signed.text.encode())
    assert v.credentials is not None and v.credentials.verdict == "valid_untrusted"
    assert not v.credentials.trusted and v.verdict == "cannot_tell"
    # c2pa-rs will not sign with an expired certificate, so sign with one that expires in 2 s.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    short = foreign_signer(
        signer_not_before=now - dt.timedelta(days=1), signer_not_after=now + dt.timedelta(seconds=2)
    )
    signed = text_manifest.sign_text(ANSWER, short, generator="X", model="y")
    time.sleep(max(0.0, (short.not_after - dt.datetime.now(dt.UTC)).total_seconds()) + 1.2)
    v = verify_content(ws, signed.text.encode())
    assert v.credentials is not None and v.credentials.verdict == "invalid"
    assert any("expired" in p for p in v.credentials.problems), v.credentials.problems
    assert v.verdict == "cannot_tell"


def test_text_manifest_is_a_c2pa_manifest_store(ws: Workspace) -> None:
    """The embedded bytes are C2PA JUMBF (checked by c2pa-text's validator), bound by a data hash
    whose exclusion is exactly the invisible wrapper."""
    from c2pa_text import find_wrapper_info, validate_manifest

    signed = text_manifest.sign_text(ANSWER, load_signer(ws), generator="helpdesk", model="m", ledger_id=3)
    assert signed.text.startswith(ANSWER) and signed.embedded
    assert validate_manifest(signed.manifest).valid
    assert signed.manifest[4:8] == b"jumb"
    res = text_manifest.verify_manifest(signed.text, (ws.home / "keys/c2pa/trust-anchors.pem").read_text())
    assert res.verdict == "trusted" and res.hash_matches is True and res.ledger_id == 3
    codes = {c.code for c in res.codes if c.kind == "success"}
    assert {
        "claimSignature.validated",
        "assertion.dataHash.match",
        "assay.textWrapper.location.match",
    } <= codes
    _, start, length = find_wrapper_info(signed.text)
    assert start == len(ANSWER.encode()) and start + length == len(signed.text.encode())
    assert res.clean_text == ANSWER


def test_text_edited_after_signing_is_flagged(ws: Workspace) -> None:
    signed = text_manifest.sign_text(ANSWER, load_signer(ws), generator="g", model="m")
    for tampered in (
        signed.text.replace("$49.90", "$9.90"),  # an edit before the wrapper
        signed.text + " (edited)",  # text added after it
    ):
        res = text_manifest.verify_manifest(tampered, "")
        assert res.verdict == "invalid" and res.hash_matches is False
        assert res.problems[0].startswith("the visible text is not the text that was signed")


def test_a_manifest_moved_to_other_text_is_invalid(ws: Workspace) -> None:
    """The wrapper carried over to a different text: signature fine, binding broken."""
    signed = text_manifest.sign_text(ANSWER, load_signer(ws), generator="g", model="m")
    manifest, _, _ = text_manifest.extract(signed.text)
    from c2pa_text import embed_manifest

    moved = embed_manifest("A different answer entirely.", manifest)
    res = text_manifest.verify_manifest(moved, "")
    assert res.verdict == "invalid" and res.hash_matches is False


def test_text_already_carrying_a_manifest_is_not_signed_twice(ws: Workspace) -> None:
    from assay.provenance.mark import MarkError

    _, marked, _ = mark_text(ws, ANSWER, model="remote", sidecar=False)
    with pytest.raises(MarkError, match="already carries"):
        mark_text(ws, marked, model="remote", sidecar=False)


def test_sidecar_manifest(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "reply.txt"
    src.write_text(ANSWER)
    r = runner.invoke(app, ["mark", str(src), "--sidecar", "--model", "remote", "--home", str(ws.home)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "reply.marked.txt"
    assert out.read_text() == ANSWER
    manifest = tmp_path / "reply.marked.c2pa"  # C2PA's sidecar name: the asset's name, .c2pa
    res = text_manifest.verify_manifest(
        ANSWER, (ws.home / "keys/c2pa/trust-anchors.pem").read_text(), manifest.read_bytes()
    )
    assert res.verdict == "trusted" and res.where == "sidecar"
    # `assay verify` picks the sidecar up by name, and flags the text once it changes.
    r = runner.invoke(app, ["verify", str(out), "--json", "--home", str(ws.home)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout[r.stdout.index("{") :])["credentials"]["verdict"] == "trusted"
    out.write_text(ANSWER.replace("$49.90", "$4.99"))
    r = runner.invoke(app, ["verify", str(out), "--json", "--home", str(ws.home)])
    assert json.loads(r.stdout[r.stdout.index("{") :])["credentials"]["verdict"] == "invalid"


def test_a_marked_image_is_established_after_jpeg_and_with_metadata_stripped(ws: Workspace) -> None:
    result, signed = mark_image(ws, png(photo(3)), system="studio", system_version="1", model="diffuser")
    v = verify_content(ws, signed, filename="art.png")
    assert v.verdict == "established" and v.credentials and v.credentials.verdict == "trusted"
    assert v.watermark and v.watermark.detected and v.watermark.payload_id == result.ledger_id
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(signed)).convert("RGB").save(buf, format="JPEG", quality=75)
    v2 = verify_content(ws, buf.getvalue(), filename="art.jpg")
    assert v2.verdict == "established"
    assert v2.credentials and v2.credentials.verdict == "no_manifest"
    assert v2.watermark and v2.watermark.detected


def test_an_image_signed_by_an_unknown_ca_or_expired_cert(ws: Workspace) -> None:
    from assay.provenance.image_c2pa import sign_image

    data = png(photo(5))
    untrusted = sign_image(data, "image/png", signer=foreign_signer(), generator_name="X", model_name="y")
    v = verify_content(ws, untrusted)
    assert v.credentials and v.credentials.verdict == "valid_untrusted" and v.verdict == "cannot_tell"
    now = dt.datetime.now(dt.UTC)
    expired = foreign_signer(
        signer_not_before=now - dt.timedelta(days=60), signer_not_after=now - dt.timedelta(days=1)
    )
    try:
        signed = sign_image(data, "image/png", signer=expired, generator_name="X", model_name="y")
    except Exception as exc:  # c2pa may refuse to sign with an expired certificate: also a clear answer
        assert "expire" in str(exc).lower() or "valid" in str(exc).lower()
        return
    v = verify_content(ws, signed)
    assert v.credentials and v.credentials.verdict in ("invalid", "valid_untrusted")
    assert v.verdict == "cannot_tell"


def test_unmarked_content_is_not_established(ws: Workspace) -> None:
    v = verify_content(ws, png(photo(11)))
    assert v.verdict == "not_established"
    assert "does not mean a person made it" in v.notes[0]


def test_sniffing_ignores_the_name(ws: Workspace) -> None:
    data = png(photo(4))
    v = verify_content(ws, data, filename="notes.txt")
    assert v.content_type == "image" and v.type_note and "image/png" in v.type_note
    v = verify_content(ws, ANSWER.encode(), filename="photo.png", declared_type="image/png")
    assert v.content_type == "text" and v.type_note and "text" in v.type_note
    assert sniff(b"BMW and MZ are just words").kind == "text"
    assert sniff(b"%PDF-1.7\n\xff\xfe\x00binary").reason == "this is a PDF document"


def test_nothing_is_written_unless_asked(tmp_path: Path) -> None:
    home = tmp_path / "nowhere" / ".assay"
    v = verify_content(Workspace(home), ANSWER.encode())
    assert v.verdict == "cannot_tell" and not home.exists()


def test_keep_records_provenance_verify_evidence(ws: Workspace) -> None:
    from assay.assurance.evidence import list_evidence

    v = verify_content(ws, ANSWER.encode(), keep=True)
    assert v.kept_as
    kinds = [e.kind for e in list_evidence(ws)]
    assert "provenance.verify" in kinds


def test_cli_verify_exit_codes_and_json(ws: Workspace, tmp_path: Path) -> None:
    result, marked, _ = mark_text(ws, ANSWER, system="helpdesk", model="m", sidecar=False)
    f = tmp_path / "a.txt"
    f.write_text(marked)
    home = ["--home", str(ws.home)]
    r = runner.invoke(app, ["verify", str(f), *home])
    assert r.exit_code == 0 and "AI provenance established" in r.output
    r = runner.invoke(app, ["verify", "-", "--json", *home], input="A short note I wrote myself.")
    assert r.exit_code == 1
    assert Verification.model_validate_json(r.stdout).verdict in ("cannot_tell", "not_established")
    r = runner.invoke(app, ["verify", str(tmp_path / "missing.txt"), *home])
    assert r.exit_code == 2
    bad = tmp_path / "broken.png"
    bad.write_bytes(png(photo(2))[:300])
    r = runner.invoke(app, ["verify", str(bad), *home])
    assert r.exit_code == 2
    r = runner.invoke(app, ["verify", "-", *home], input="\u200b\u200c\ufe0f \n")
    assert r.exit_code == 2 and "No visible text" in r.output


def test_cli_mark_and_keys(tmp_path: Path) -> None:
    home = ["--home", str(tmp_path / ".assay")]
    r = runner.invoke(app, ["keys", "init", *home])
    assert r.exit_code == 0 and "text watermark key wm-" in r.output and "C2PA signer" in r.output
    r = runner.invoke(app, ["keys", "list", "--json", *home])
    listed = json.loads(r.stdout)
    assert listed["text_keys"] and listed["c2pa_signer"]["subject"]
    assert "secret" not in r.stdout
    img = tmp_path / "pic.png"
    img.write_bytes(png(photo(8)))
    r = runner.invoke(app, ["mark", str(img), "--model", "diffuser", *home])
    assert r.exit_code == 0, r.output
    marked = tmp_path / "pic.marked.png"
    r = runner.invoke(app, ["verify", str(marked), *home])
    assert r.exit_code == 0
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02\xff" * 10)
    assert runner.invoke(app, ["mark", str(junk), *home]).exit_code == 2


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.one_of(
        st.binary(max_size=2048), st.text(max_size=512).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_fuzz_verify_never_raises(fuzz_ws: Workspace, data: bytes) -> None:
    v = verify_content(fuzz_ws, data, filename="x.txt")
    assert isinstance(v, Verification)


_PNG_HEAD = b"\x89PNG\r\n\x1a\n"


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(tail=st.binary(max_size=4096), cut=st.integers(min_value=0, max_value=4000))
def test_fuzz_image_paths_never_raise(fuzz_ws: Workspace, fuzz_png: bytes, tail: bytes, cut: int) -> None:
    for data in (_PNG_HEAD + tail, fuzz_png[:cut] + tail, b"\xff\xd8\xff" + tail):
        assert isinstance(verify_content(fuzz_ws, data), Verification)


@pytest.fixture(scope="module")
def fuzz_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    home = tmp_path_factory.mktemp("fuzz") / ".assay"
    w = Workspace(home, f"sqlite:///{home.parent / 'assay.db'}")
    init_c2pa_chain(w)
    create_text_key(w)
    mark_text(w, ANSWER, model="m")
    yield w
    w.close()


@pytest.fixture(scope="module")
def fuzz_png() -> bytes:
    return png(photo(6, 128))


@pytest.fixture(scope="module")
def fuzz_manifest(fuzz_ws: Workspace) -> bytes:
    return text_manifest.sign_text(ANSWER, load_signer(fuzz_ws), generator="g", model="m").manifest


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=8),
    cut=st.integers(min_value=0, max_value=8000),
)
def test_fuzz_damaged_text_manifests_never_raise_or_pass(
    fuzz_ws: Workspace, fuzz_manifest: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    """Bytes flipped or cut inside an embedded C2PA manifest reach c2pa-rs's parser: a verdict every
    time, never an exception or a crash of the process."""
    from c2pa_text import embed_manifest

    damaged = bytearray(fuzz_manifest)
    for at, x in flips:
        damaged[at % len(damaged)] ^= x
    for manifest in (bytes(damaged), fuzz_manifest[: cut % len(fuzz_manifest)]):
        v = verify_content(fuzz_ws, embed_manifest(ANSWER, manifest).encode())
        assert isinstance(v, Verification) and v.credentials is not None
        assert v.credentials.verdict in ("trusted", "valid_untrusted", "invalid", "no_manifest", "error")
        if v.credentials.verdict == "trusted":
            res = text_manifest.verify_manifest(embed_manifest(ANSWER, manifest), "")
            assert res.hash_matches


def test_a_damaged_manifest_with_a_list_where_a_mapping_belongs_gets_a_verdict(
    fuzz_ws: Workspace, fuzz_manifest: bytes
) -> None:
    """Found by the fuzz above: one flipped byte turned an assertion's data into a list, and reading the
    claims raised instead of reporting the manifest."""
    from c2pa_text import embed_manifest

    damaged = bytearray(fuzz_manifest)
    damaged[503 % len(damaged)] ^= 37
    v = verify_content(fuzz_ws, embed_manifest(ANSWER, bytes(damaged)).encode())
    assert v.credentials is not None and v.verdict != "cannot_tell", v.sentences
    assert v.credentials.verdict in ("trusted", "valid_untrusted", "invalid", "no_manifest", "error")


def test_signing_text_with_an_expired_certificate_is_a_clear_error() -> None:
    from assay.provenance.c2pa_manifest import C2paError

    now = dt.datetime.now(dt.UTC)
    expired = foreign_signer(
        signer_not_before=now - dt.timedelta(days=60), signer_not_after=now - dt.timedelta(days=1)
    )
    with pytest.raises(C2paError, match="not valid at time of signing"):
        text_manifest.sign_text(ANSWER, expired, generator="g", model="m")
