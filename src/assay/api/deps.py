"""Dependencies shared by every router: the workspace the app was built for."""

from __future__ import annotations

from fastapi import Request

from assay.workspace import Workspace


def workspace(request: Request) -> Workspace:
    """The one workspace this app serves; set by `create_app`, so routers never open their own."""
    return request.app.state.workspace
