"""Who may do what over HTTP.

Reads are open on the loopback server: whoever can reach 127.0.0.1 is already on the machine that holds
the `.assay/` folder. Every write needs an `Authorization: Bearer <token>` header naming a token whose
role is high enough: editor for registry changes, admin for creating, replacing or deleting a system.
A server bound to another address is built with `open_reads=False`, and then reads need a viewer token.

Incidents are not open reads: a triager (or editor, or admin) token works them, and an authority token
reads those of the systems it supervises and writes nothing (`incident_reader`, `triager`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assay.api.deps import workspace
from assay.api.errors import ErrorMessage
from assay.tokens import ApiToken, Role, authenticate
from assay.workspace import Workspace

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AssayToken",
    description="A token made with `assay token create NAME --role viewer|triager|editor|admin|authority`.",
)

AUTH_FAILURES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "No token, or an unknown or revoked one"},
    403: {"model": ErrorMessage, "description": "The token's role is too low for this"},
}


def check_token(ws: Workspace, secret: str | None, needed: Role) -> ApiToken:
    """The token for `secret` if it has at least the `needed` role; 401 or 403 otherwise."""
    if not secret:
        raise HTTPException(
            status_code=401,
            detail="this needs a token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = authenticate(ws, secret)
    if token is None:
        raise HTTPException(
            status_code=401,
            detail="the token is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if not token.role.allows(needed):
        if token.role is Role.authority:
            raise HTTPException(
                status_code=403,
                detail=f"token '{token.name}' is an authority's: it reads incidents and changes nothing",
            )
        raise HTTPException(
            status_code=403,
            detail=f"this needs the {needed.value} role; token '{token.name}' has {token.role.value}",
        )
    return token


def require(needed: Role) -> Callable[..., ApiToken]:
    """A dependency that admits only a valid token with at least the `needed` role."""

    def dependency(
        ws: Workspace = Depends(workspace),
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> ApiToken:
        return check_token(ws, credentials.credentials if credentials else None, needed)

    return dependency


def read_access(request: Request, ws: Workspace = Depends(workspace)) -> None:
    """Lets reads through on an open server; otherwise asks for a viewer token.

    It reads the header itself rather than through `bearer`, so the OpenAPI document does not claim
    that reads need a token when, on the default loopback server, they do not.
    """
    if request.app.state.open_reads:
        return
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    check_token(ws, secret.strip() if scheme.lower() == "bearer" else None, Role.viewer)


def incident_reader(
    ws: Workspace = Depends(workspace),
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),
) -> ApiToken:
    """Reading incidents: a triager's token or better, or an authority's (the route then keeps to the
    systems `token.supervises`)."""
    secret = credentials.credentials if credentials else None
    token = authenticate(ws, secret) if secret else None
    if token is not None and token.role is Role.authority:
        return token
    return check_token(ws, secret, Role.triager)


editor = require(Role.editor)
triager = require(Role.triager)
admin = require(Role.admin)
viewer = require(Role.viewer)
