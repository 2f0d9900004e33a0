"""Hostile YAML and JSON (alias bombs, deep nesting) get a clear error naming the file and line, quickly
and within bounded memory, in every reader that takes files from someone else.

Each hostile input is read in a child process under an address-space limit (RLIMIT_AS) and a timeout, so a
regression fails the test instead of taking the machine down; the child reports how much its resident
memory grew while reading.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay import jsonio, yamlio
from assay.manifest import ManifestInvalid, parse_manifest_text
from assay.manifest.yamlpos import YamlSyntaxError, load_located

REPO = Path(__file__).resolve().parents[1]
ADDRESS_SPACE = 1024**3  # 1 GiB of address space: far below what an unbounded read reaches
TIMEOUT_S = 60
MAX_GROWTH_MB = 100


def alias_bomb(levels: int = 9, fan: int = 10) -> str:
    """The shape from issue #16: each level a list of `fan` aliases of the level before (~360 bytes)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["lol"] * fan) + "]"]
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * fan) + "]")
    return "\n".join(lines) + "\n"


def deep_yaml(depth: int = 900) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_bounded(body: str) -> dict[str, object]:
    """Run `body` (which sets `result`) in a child under the memory limit; return what it reports."""
    code = textwrap.dedent(
        """
        import json, resource, sys, time
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        result = {}
        try:
        {body}
        except BaseException as exc:
            result["exception"] = type(exc).__name__
            result["text"] = str(exc)
        result["seconds"] = time.perf_counter() - start
        result["growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(json.dumps(result))
        """
    ).replace("{body}", textwrap.indent(textwrap.dedent(body), "    "))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_child,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["growth_mb"] < MAX_GROWTH_MB, report
    return report


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [alias_bomb(), deep_yaml()], ids=["alias-bomb", "deep"])
def test_a_hostile_manifest_fails_validate_with_file_and_line(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, "assay.yaml", text)
    report = run_bounded(
        f"""
        from typer.testing import CliRunner
        from assay.cli.main import app
        out = CliRunner().invoke(app, ["validate", {str(path)!r}])
        result["exit"] = out.exit_code
        result["output"] = out.output
        """
    )
    assert report["exit"] == 2, report
    assert f"{path}:" in str(report["output"])
    assert "YAML limit" in str(report["output"])


def test_the_manifest_bomb_names_the_alias_line() -> None:
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest_text(alias_bomb(), "bomb.yaml")
    (problem,) = info.value.problems
    assert problem.file == "bomb.yaml"
    assert problem.line == 4  # level d: its aliases of c (1,111 nodes each) pass 10,000 in all
    assert "aliases expand to more than" in problem.message


def test_a_hostile_suite_yaml_fails_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "suite.yaml", "id: bomb\nscorers: [refusal]\n" + alias_bomb())
    report = run_bounded(
        f"""
        from assay.evals.suites import load_suite
        load_suite({str(path)!r})
        """
    )
    assert report["exception"] == "SuiteInvalid", report
    assert f"{path}:6" in str(report["text"])
    assert "aliases expand" in str(report["text"])


def test_a_deep_suite_json_fails_clearly(tmp_path: Path) -> None:
    path = _write(tmp_path, "samples.json", deep_json())
    report = run_bounded(
        f"""
        from assay.evals.suites import load_samples
        load_samples({str(path)!r})
        """
    )
    assert report["exception"] == "SuiteInvalid", report
    assert str(path) in str(report["text"]) and "nested deeper than 64 levels" in str(report["text"])


def test_a_deep_jsonl_line_is_skipped_with_its_line(tmp_path: Path) -> None:
    good = json.dumps({"input": "hello", "target": "hi"})
    path = _write(tmp_path, "samples.jsonl", f"{good}\n{deep_json(5000)}\n{good}\n")
    report = run_bounded(
        f"""
        from assay.evals.suites import load_samples
        samples, rep = load_samples({str(path)!r})
        result["kept"] = len(samples)
        result["skipped"] = [p.render() for p in rep.skipped]
        """
    )
    assert report["kept"] == 2, report
    (skipped,) = report["skipped"]  # type: ignore[misc]
    assert skipped.startswith(f"{path}:2") and "nested deeper" in skipped


def test_a_hostile_attack_file_is_a_problem_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "attacks"
    path = _write(folder, "bomb.yaml", alias_bomb())
    report = run_bounded(
        f"""
        from assay.redteam.library import load_attacks
        load_attacks([{str(folder)!r}], plugins=False)
        """
    )
    assert report["exception"] == "AttackInvalid", report
    assert f"{path}:4: aliases expand" in str(report["text"])


FRAGMENTS = [
    "&a ", "&b ", "*a", "*b", "<<: *a", "[", "]", "{", "}", ", ", ": ", "- ", "? ", "\n", "  ",
    "x", "1", "'q'", '"d"', "~", "!!str ", "---\n", "#c",
]  # fmt: skip
yaml_text = st.lists(st.sampled_from(FRAGMENTS), max_size=120).map("".join)
FUZZ = settings(max_examples=100, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


def _expanded_size(value: object) -> int:
    """Nodes a walker visits when it follows every alias (shared objects counted each time)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


@FUZZ
@given(yaml_text)
def test_fuzz_yaml_readers_fail_only_with_yaml_errors(text: str) -> None:
    """Any text: a value, or a YAML error (syntax or limit) — never a RecursionError or a crash."""
    import yaml

    for read in (yamlio.safe_load, yamlio.safe_load_all):
        with contextlib.suppress(yaml.YAMLError):
            read(text)
    with contextlib.suppress(YamlSyntaxError):
        load_located(text)
    try:
        parse_manifest_text(text, "fuzz.yaml")
    except ManifestInvalid as exc:
        assert all(p.file == "fuzz.yaml" for p in exc.problems)


SUITE_HEAD = "id: fuzz\nscorers: [refusal]\n"


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_text)
def test_fuzz_suite_and_attack_files_fail_only_with_their_problem_lists(text: str) -> None:
    """The file readers: a suite file raises only SuiteInvalid; an attack folder only lists problems."""
    from assay.evals.suites import SuiteInvalid, load_suite
    from assay.redteam.library import read_folder

    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.yaml"
        suite.write_text(SUITE_HEAD + text, encoding="utf-8")
        try:
            load_suite(suite)
        except SuiteInvalid as exc:
            assert all(p.file == str(suite) for p in exc.problems)
        (Path(tmp) / "attacks").mkdir()
        (Path(tmp) / "attacks" / "a.yaml").write_text(text, encoding="utf-8")
        problems: list[str] = []
        read_folder(Path(tmp) / "attacks", problems)
        assert all(str(Path(tmp)) in p for p in problems)


@FUZZ
@given(st.integers(2, 12), st.integers(1, 12), st.booleans())
def test_fuzz_alias_bombs_are_bounded(levels: int, fan: int, flow: bool) -> None:
    """Whatever the shape, a document either loads within the alias budget or is refused at a line."""
    text = alias_bomb(levels, fan)
    if not flow:
        text = text.replace(", ", "\n  - ").replace(": &", ": &").replace(" [", "\n  - ").replace("]", "")
    limits = yamlio.DEFAULT_LIMITS
    try:
        value = yamlio.safe_load(text, file="bomb.yaml")
    except yamlio.YamlLimitError as exc:
        assert exc.line is not None and str(exc).startswith(f"bomb.yaml:{exc.line}: ")
        return
    assert _expanded_size(value) <= limits.max_nodes + limits.max_alias_nodes


def test_json_limits_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "deep.json", deep_json(65))
    with pytest.raises(jsonio.JsonLimitError, match=r"deep\.json: nested deeper than 64 levels"):
        jsonio.read_json(path)
    assert jsonio.read_json(_write(tmp_path, "ok.json", deep_json(64))) == json.loads(deep_json(64))
    with pytest.raises(jsonio.JsonLimitError, match="larger than 1 MiB"):
        jsonio.read_json(path, jsonio.JsonLimits(max_bytes=100))
