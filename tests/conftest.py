"""Shared fixtures. Store-backed tests run once per database backend: SQLite always, PostgreSQL when
ASSAY_TEST_POSTGRES_URL points at a reachable server (CI starts one; locally those runs skip)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLE = REPO / "examples" / "helpdesk" / "assay.yaml"
PG_ENV = "ASSAY_TEST_POSTGRES_URL"
# Printing the food label's PNG and PDF takes Chromium ~20 s per assessment; tests/label_render checks
# them directly, so the many assessments the suite runs leave them out (assess.LABEL_PRINT_ENV).
os.environ.setdefault("ASSAY_LABEL_PRINT", "0")
SUITES_START = "# The example's own suite"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's `chromium`; `.ci/run` installs it


def in_ci() -> bool:
    """CI machines set CI=true (and `.ci/run` does); there a missing browser is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def need_chromium(path: Path = CHROMIUM) -> Path:
    """The browser for web-page tests. Missing: skip on a developer's machine, fail in CI, so a fresh
    CI machine can never pass without opening the pages in a real browser."""
    if path.exists():
        return path
    why = f"{path} is not installed (Debian's chromium)"
    if in_ci():
        pytest.fail(f"{why}, and CI must run the browser tests: `.ci/run` installs it", pytrace=False)
    pytest.skip(why)


@pytest.fixture
def chromium() -> Path:
    return need_chromium()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:  # type: ignore[type-arg]
    """In CI, any skip because of a missing browser (a `skipif` too) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and "chromium" in str(report.longrepr).lower():
        why = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI must run this browser test, but it was skipped: {why}"


def example_text(with_suites: bool = False) -> str:
    """The example manifest; without its suites, red-team runs and provenance marks unless asked, so tests
    that need only the registry do not run the bundled model (tests of those steps copy the example)."""
    text = EXAMPLE.read_text()
    if with_suites:
        return text
    # its dataset file sits beside the example; a test writing this text elsewhere would not find it
    text = text.replace("    path: data/help-articles.jsonl\n", "")
    start = text.index(SUITES_START)
    end = text.index("\nsafety_net:", start) + 1
    text = text[:start] + text[end:]
    start = text.index("# Content provenance:")
    end = text.index("\npolicy_pack:", start) + 1
    return text[:start] + text[end:]


def _postgres_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _postgres_reachable(url: str) -> str | None:
    """None if the server answers, otherwise why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # any connection failure means: skip with the reason
        return f"PostgreSQL at {url} is not reachable: {exc}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = _postgres_admin_url()
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against (CI sets it)")
    why = _postgres_reachable(url)
    if why:
        pytest.skip(why)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assay.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = request.getfixturevalue("postgres_admin_url")
    name = f"assay_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        _drop_database(admin, name)


def _drop_database(admin: str, name: str) -> None:
    """Drop a test database; a background worker still attached is waited for, never an error."""
    import time

    import psycopg

    for attempt in range(10):
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:  # e.g. an autovacuum worker owned by postgres
            time.sleep(0.2 * (attempt + 1))
        except psycopg.errors.ObjectInUse:
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def workspace(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    from assay.workspace import Workspace

    ws = Workspace(tmp_path / ".assay", database_url)
    yield ws
    ws.close()


@pytest.fixture
def example_manifest_path() -> Path:
    return EXAMPLE


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    """Say how many store tests ran on each backend, so CI's log shows both."""
    counts: Counter[tuple[str, str]] = Counter()
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(rep, "nodeid", "")
            if getattr(rep, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and rep.when != "call":
                continue
            for backend in ("sqlite", "postgresql"):
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts[(backend, outcome)] += 1
    if counts:
        terminalreporter.write_sep("-", "database backends")
        for backend in ("sqlite", "postgresql"):
            parts = [f"{counts[(backend, o)]} {o}" for o in ("passed", "failed", "skipped", "error")]
            terminalreporter.write_line(f"{backend}: " + ", ".join(parts))
