"""Dependencies shared by every router: the workspace the app was built for."""

from __future__ import annotations

from fastapi import Request

from assay.workspace import Workspace


async def workspace(request: Request) -> Workspace:
    """The one workspace this app serves; set by `create_app`, so routers never open their own.
    (`async` only so FastAPI calls it in place instead of hopping to a worker thread for a lookup.)"""
    return request.app.state.workspace
