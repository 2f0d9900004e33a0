"""The public pages' catalogue (`web/i18n/dashboard.json`): every string in all four languages with the
same placeholders, every string shown by some page, and a missing one fails the page."""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from jinja2 import UndefinedError

import assay.api.routers.dashboard as pages
from assay.manifest import load_manifest
from assay.registry.service import register_system
from assay.web.i18n import LANGUAGES, load_catalogue
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.conftest import EXAMPLE
from tests.dashboard.conftest import SYSTEM, Dash


class Recording(Mapping[str, str]):
    """One language's strings, noting every id a page reads."""

    def __init__(self, strings: Mapping[str, str], seen: set[str]) -> None:
        self._strings, self._seen = strings, seen

    def __getitem__(self, key: str) -> str:
        self._seen.add(key)
        return self._strings[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._strings)

    def __len__(self) -> int:
        return len(self._strings)


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


def test_every_string_is_in_every_language_with_the_same_placeholders() -> None:
    cat = load_catalogue("dashboard")
    assert set(cat.languages) == set(LANGUAGES)
    for sid, texts in cat.strings.items():
        assert set(texts) == set(LANGUAGES), sid
        assert all(t.strip() for t in texts.values()), sid
        assert len({tuple(_fields(t)) for t in texts.values()}) == 1, sid


@pytest.mark.parametrize("populated", ["sqlite"], indirect=True)  # strings do not depend on the backend
def test_every_string_is_used_and_each_language_is_served(
    dash: Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two public pages, full (label, runs of both kinds, an interrupted one) and empty (no
    system; a system with no label and no run), read every string of the catalogue."""
    seen: set[str] = set()
    real = pages.page_strings
    monkeypatch.setattr(pages, "page_strings", lambda lang: Recording(real(lang), seen))
    cat = load_catalogue("dashboard")
    for lang in LANGUAGES:
        for path in ("/dashboard", f"/dashboard/{SYSTEM}"):
            r = dash.client.get(path, params={"lang": lang})
            assert r.status_code == 200
            assert f'<html lang="{lang}">' in r.text
            assert cat.strings["title"][lang] in r.text
    workspace = Workspace(tmp_path / ".assay")
    try:
        with LiveServer(workspace) as empty, httpx.Client(base_url=empty.url) as c:
            assert cat.strings["no_systems"]["ms"] in c.get("/dashboard?lang=ms").text
            register_system(workspace, load_manifest(EXAMPLE))
            bare = c.get(f"/dashboard/{SYSTEM}", headers={"Accept-Language": "ta-IN,ta;q=0.9"})
            assert '<html lang="ta">' in bare.text
            assert cat.strings["no_label"]["ta"] in bare.text and cat.strings["no_runs"]["ta"] in bare.text
    finally:
        workspace.close()
    unused = set(cat.strings) - seen
    assert not unused, f"strings in dashboard.json that no page shows: {sorted(unused)}"


def test_a_missing_string_fails_the_page() -> None:
    strings = dict(pages.page_strings("zh"))
    del strings["systems"]
    with pytest.raises(UndefinedError, match="systems"):
        pages.templates().get_template("dashboard_index.html").render(
            version="x", lang="zh", languages={}, t=strings, cards=[]
        )
