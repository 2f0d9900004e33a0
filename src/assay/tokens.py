"""API tokens with roles. A token is shown once when created; the store keeps only its hash.

The roles: viewer reads; triager also works incidents (reads reports, moves, comments, attaches);
editor also writes the registry (and triages, as before triager existed); admin also manages systems.
authority stands apart from that ladder: read-only, and only over the incidents of the systems it
supervises (`systems`), for the regulator or sector body that receives severe-incident reports.
The public reporter has no token: the receipt of their report is their only key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from assay.store import tokens as store
from assay.workspace import Workspace

TOKEN_PREFIX = "assay_"


class Role(StrEnum):
    """viewer < triager < editor < admin, each allowed what the one below is; authority apart."""

    viewer = "viewer"
    triager = "triager"
    editor = "editor"
    admin = "admin"
    authority = "authority"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may. An authority token is allowed nothing of the
        ladder (not even the viewer's reads), so each route that admits it says so and scopes it."""
        if Role.authority in (self, needed):
            return self is needed
        order = [Role.viewer, Role.triager, Role.editor, Role.admin]
        return order.index(self) >= order.index(needed)


class ApiToken(BaseModel):
    name: str
    role: Role
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked: bool = False
    systems: list[str] = Field(default_factory=list, description="the systems an authority supervises")

    def supervises(self, system: str) -> bool:
        """Whether an authority token may read this system's incidents (other roles: not scoped)."""
        return self.role is not Role.authority or system in self.systems


class IssuedToken(BaseModel):
    token: ApiToken
    secret: str = Field(description="shown once; only its hash is stored")


class TokenError(ValueError):
    pass


class TokenScopeError(TokenError):
    """The systems given do not fit the role (bad input: the CLI exits 2)."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


SYSTEM_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _check_systems(role: Role, systems: Sequence[str]) -> list[str]:
    """An authority supervises one or more systems (slugs); no other role is scoped to systems."""
    chosen = list(dict.fromkeys(s.strip() for s in systems))
    if role is not Role.authority:
        if chosen:
            raise TokenScopeError(
                f"--system scopes authority tokens only; a {role.value} token is not scoped"
            )
        return []
    if not chosen:
        raise TokenScopeError(
            "an authority token needs the systems it supervises (--system SLUG, repeatable)"
        )
    bad = [s for s in chosen if not SYSTEM_SLUG.match(s)]
    if bad:
        raise TokenScopeError(f"'{bad[0]}' is not a system slug (lower-case letters, digits, . _ -)")
    return chosen


def create_token(ws: Workspace, name: str, role: Role, systems: Sequence[str] = ()) -> IssuedToken:
    """A new token; `systems` names what an authority token supervises (required for it, refused for
    the others). The systems need not be registered yet: an authority may be set up first."""
    if not name or len(name) > 100:
        raise TokenError("a token name needs 1 to 100 characters")
    scope = _check_systems(role, systems)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.db.session() as s:
        if store.token_name_taken(s, name):
            raise TokenError(f"a token named '{name}' exists already")
        row = store.add_token_row(s, name, role.value, secret[:12], hash_token(secret), scope)
    return IssuedToken(token=ApiToken.model_validate(row), secret=secret)


def authenticate(ws: Workspace, secret: str) -> ApiToken | None:
    """The token's record if the secret is known and not revoked; None otherwise."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    with ws.db.session() as s:
        row = store.find_token_by_hash(s, hash_token(secret))
    if row is None or row["revoked"]:
        return None
    return ApiToken.model_validate(row)


def list_tokens(ws: Workspace) -> list[ApiToken]:
    with ws.db.session() as s:
        return [ApiToken.model_validate(r) for r in store.list_token_rows(s)]


def revoke_token(ws: Workspace, name: str) -> None:
    with ws.db.session() as s:
        if not store.revoke_token_row(s, name):
            raise TokenError(f"no token named '{name}'")
