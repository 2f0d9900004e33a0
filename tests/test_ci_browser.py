"""In CI a web-page test may not skip for want of a browser: the skip becomes a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, need_chromium

SKIPS = """
import pytest

@pytest.mark.skipif(True, reason="/usr/bin/chromium is not installed")
def test_page_by_skipif():
    pass

def test_page_by_fixture_helper():
    from pathlib import Path
    from tests.conftest import need_chromium
    need_chromium(Path("/nowhere/chromium"))

def test_other_skips_stay_skips():
    pytest.skip("no PostgreSQL here")
"""


def test_need_chromium_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "chromium"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        need_chromium(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        need_chromium(missing)
    missing.write_text("#!/bin/sh\n")
    assert need_chromium(missing) == missing


def _run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_pages.py"
    test.write_text(SKIPS)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(tmp_path), str(test)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_a_browser_skip_fails_the_run_in_ci(tmp_path: Path) -> None:
    local = _run(tmp_path, ci=False)
    assert local.returncode == 0 and "3 skipped" in local.stdout, local.stdout + local.stderr
    ci = _run(tmp_path, ci=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    # a skipif skip happens at setup, so it fails the run as an error; a skip in the test as a failure
    assert "1 failed, 1 skipped, 1 error" in ci.stdout, ci.stdout
    assert "CI must run the browser tests" in ci.stdout and "CI must run this browser test" in ci.stdout
