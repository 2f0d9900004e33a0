"""The label's catalogue: every string in all four languages, every string used, none missing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from jinja2 import UndefinedError

import assay.label.render as render
from assay.label.models import Disclosure
from assay.web.i18n import LANGUAGES, Catalogue, load_catalogue
from tests.label_render.conftest import complete_data, sparse_data


class Recording(Mapping[str, str]):
    """The strings of one language, noting every id the templates and the badge read."""

    def __init__(self, strings: Mapping[str, str], seen: set[str]) -> None:
        self._strings, self._seen = strings, seen

    def __getitem__(self, key: str) -> str:
        self._seen.add(key)
        return self._strings[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._strings)

    def __len__(self) -> int:
        return len(self._strings)


def _labels() -> list[Disclosure]:
    ungraded = sparse_data()
    ungraded["policy"] = None
    ungraded["grades"] = []
    ungraded["identity"]["status"] = "not_disclosed"  # and a measured (not estimated) footprint
    ungraded["infrastructure"] = {**complete_data()["infrastructure"], "status": "disclosed"}
    ungraded["infrastructure"]["assessment_footprint"]["measured"] = True
    return [Disclosure.model_validate(d) for d in (complete_data(), sparse_data(), ungraded)]


def test_no_string_is_missing_in_any_language() -> None:
    cat = load_catalogue("label")
    assert set(cat.languages) == set(LANGUAGES) == {"en", "zh", "ms", "ta"}
    for sid, texts in cat.strings.items():
        assert set(texts) == set(LANGUAGES), sid
        assert all(t.strip() for t in texts.values()), sid
        # the same placeholders in every language, so no translation drops or invents a value
        fields = {lang: sorted(_fields(text)) for lang, text in texts.items()}
        assert len({tuple(f) for f in fields.values()}) == 1, (sid, fields)
    broken = {"languages": cat.languages, "strings": {"x": {"en": "a", "zh": "b", "ms": "c", "ta": " "}}}
    with pytest.raises(ValueError, match="'x' has no ta text"):
        Catalogue.model_validate(broken)


def _fields(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_no_string_is_unused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering the three kinds of label and their badges reads every string the catalogue has."""
    seen: set[str] = set()
    real = render.label_strings
    monkeypatch.setattr(render, "label_strings", lambda lang: Recording(real(lang), seen))
    for d in _labels():
        render.render_html(d, "en")
        render.render_badge_svg(d, "en")
    unused = set(load_catalogue("label").strings) - seen
    assert not unused, f"strings in label.json that nothing renders: {sorted(unused)}"


def test_a_string_missing_from_the_catalogue_fails_the_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """StrictUndefined: a missing id is an error, never a blank on the label."""
    real = render.label_strings

    def without_title(lang: str) -> dict[str, str]:
        strings = dict(real(lang))
        del strings["declared_training"]
        return strings

    monkeypatch.setattr(render, "label_strings", without_title)
    with pytest.raises(UndefinedError, match="declared_training"):
        render.render_html(_labels()[0], "ta")
