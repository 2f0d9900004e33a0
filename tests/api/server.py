"""A real Uvicorn server in a background thread, for tests that talk HTTP over a socket."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import httpx
import uvicorn

from assay.api.app import create_app
from assay.api.limits import KeepQuota
from assay.evals.mockserver import listen_socket
from assay.workspace import Workspace


class LiveServer:
    """Serves `create_app(ws)` on 127.0.0.1 at a free port until stopped."""

    def __init__(
        self, ws: Workspace, *, open_reads: bool = True, keep_quota: KeepQuota | None = None
    ) -> None:
        self.ws = ws
        # bound here, so no other process can take the port meanwhile (and with Nagle off)
        self._sock = listen_socket()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(ws, open_reads=open_reads, keep_quota=keep_quota),
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 15.0) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if not self._thread.is_alive():
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the test server at {self.url} did not answer /healthz")

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._sock.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
