"""Keeping secrets out of a bundle: target settings without their secret values, and a last scan of
every member for the value of any secret environment variable before the archive is written."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from assay.manifest.schema import Target

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE", re.I)
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MIN_SECRET_LEN = 8
"""Shorter values (a '1', 'true') would match by accident anywhere; real keys are far longer."""
REDACTED = "(redacted)"


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if SECRET_NAME.search(k) else v) for k, v in params.items()}


def target_settings(spec: Target) -> dict[str, Any]:
    """A target's settings as a replayer needs them: env-var names and `${VAR}` references stay (the
    replayer sets their own), values that could be secrets do not."""
    data = spec.model_dump(mode="json", exclude_none=True)
    if spec.base_url:
        data["base_url"] = _strip_userinfo(spec.base_url)
    if spec.headers:
        data["headers"] = {
            name: (value if ENV_REF.fullmatch(value.strip()) else REDACTED)
            for name, value in spec.headers.items()
        }
    if spec.params:
        data["params"] = _clean_params(spec.params)
    return data


def literal_secrets(targets: Iterable[Target]) -> list[str]:
    """Where the manifest itself holds what looks like a secret: a header or param named like one
    (Authorization, X-Api-Key, token …) with a literal value rather than a `${VAR}` reference. The
    manifest is bundled byte for byte, so such a value would travel with it."""
    found = []
    for t in targets:
        for name, value in (t.headers or {}).items():
            if (SECRET_NAME.search(name) or name.lower() == "authorization") and not ENV_REF.fullmatch(
                value.strip()
            ):
                found.append(f"target {t.id}: header {name}")
        for name, value in (t.params or {}).items():
            if SECRET_NAME.search(name) and isinstance(value, str) and value and not ENV_REF.fullmatch(value):
                found.append(f"target {t.id}: params.{name}")
    return found


def referenced_env(targets: Iterable[Target]) -> set[str]:
    """Environment variables the manifest's targets read: their api_key_env and `${VAR}` references."""
    names: set[str] = set()
    for t in targets:
        if t.api_key_env:
            names.add(t.api_key_env)
        for text in [*(t.headers or {}).values(), t.base_url or ""]:
            names.update(ENV_REF.findall(text))
    return names


def secret_values(targets: Iterable[Target], environ: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Variable name → value bytes, for every variable the targets read and every one whose name says
    it holds a secret (KEY, TOKEN, SECRET, PASSWORD …), long enough not to match by accident."""
    env = os.environ if environ is None else environ
    names = referenced_env(targets) | {n for n in env if SECRET_NAME.search(n)}
    found = {n: env[n].encode() for n in sorted(names) if len(env.get(n, "")) >= MIN_SECRET_LEN}
    for name, value in env.items():  # a database URL's password, whatever the variable is called
        if "://" in value and "@" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                continue
            if password and len(password) >= MIN_SECRET_LEN:
                found.setdefault(f"{name} (its password)", password.encode())
    return found


def find_secret(content: bytes, secrets: Mapping[str, bytes]) -> str | None:
    """The name of the first variable whose value occurs in `content` (never the value itself)."""
    return next((name for name, value in secrets.items() if value in content), None)
