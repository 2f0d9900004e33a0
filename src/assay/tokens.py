"""API tokens with roles. A token is shown once when created; the store keeps only its hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from enum import StrEnum

from pydantic import BaseModel, Field

from assay.store import tokens as store
from assay.workspace import Workspace

TOKEN_PREFIX = "assay_"


class Role(StrEnum):
    """viewer reads; editor also writes the registry; admin also manages systems and tokens."""

    viewer = "viewer"
    editor = "editor"
    admin = "admin"

    def allows(self, needed: Role) -> bool:
        order = [Role.viewer, Role.editor, Role.admin]
        return order.index(self) >= order.index(needed)


class ApiToken(BaseModel):
    name: str
    role: Role
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked: bool = False


class IssuedToken(BaseModel):
    token: ApiToken
    secret: str = Field(description="shown once; only its hash is stored")


class TokenError(ValueError):
    pass


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(ws: Workspace, name: str, role: Role) -> IssuedToken:
    if not name or len(name) > 100:
        raise TokenError("a token name needs 1 to 100 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.db.session() as s:
        if store.token_name_taken(s, name):
            raise TokenError(f"a token named '{name}' exists already")
        row = store.add_token_row(s, name, role.value, secret[:12], hash_token(secret))
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
