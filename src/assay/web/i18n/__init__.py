"""Page strings as data, in English, 中文, Bahasa Melayu and தமிழ் (the framework's four languages).

Each file maps a string id to its text in every language. It is validated when loaded: a string
missing in one language fails at start-up, not as an English word on a Tamil page.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, model_validator

LANGUAGES = ("en", "zh", "ms", "ta")
DEFAULT_LANGUAGE = "en"


class Catalogue(BaseModel):
    """The strings of one page: `strings[id][lang]`."""

    languages: dict[str, str]
    strings: dict[str, dict[str, str]]

    @model_validator(mode="after")
    def _complete(self) -> Catalogue:
        if set(self.languages) != set(LANGUAGES):
            raise ValueError(f"languages must be exactly {LANGUAGES}, got {sorted(self.languages)}")
        problems = [
            f"'{sid}' has no {lang} text"
            for sid, texts in self.strings.items()
            for lang in LANGUAGES
            if not (texts.get(lang) or "").strip()
        ]
        problems += [
            f"'{sid}' has an unknown language {lang!r}"
            for sid, texts in self.strings.items()
            for lang in texts
            if lang not in LANGUAGES
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def for_language(self, lang: str) -> dict[str, str]:
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        return {sid: texts[lang] for sid, texts in self.strings.items()}


def pick_language(requested: str | None, accept_language: str | None = None) -> str:
    """The `lang` asked for, else the first supported one the browser names, else English."""
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=8)
def load_catalogue(name: str) -> Catalogue:
    """Read and validate `i18n/<name>.json` from the package."""
    text = resources.files("assay.web.i18n").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return Catalogue.model_validate(json.loads(text))


def say(name: str, key: str, args: dict[str, str | int | float], lang: str = DEFAULT_LANGUAGE) -> str:
    """One string of catalogue `name` in `lang`, its `{placeholders}` filled from `args`."""
    texts = load_catalogue(name).strings[key]
    return texts.get(lang, texts[DEFAULT_LANGUAGE]).format(**args)
