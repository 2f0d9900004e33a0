"""The cheapest proxy Python can be: a TCP relay that copies bytes between each caller and its own
connection to the target, with no HTTP parsing, no checks and no log (uvloop's event loop when
installed). bench/gateway.py runs it beside `assay gateway` as the floor any proxy in front of the
mock starts from on the same cores.

    python bench/tcp_relay.py TARGET_HOST TARGET_PORT   # prints the port it listens on, then serves
"""

from __future__ import annotations

import asyncio
import sys


class _ToCaller(asyncio.Protocol):
    """The target's side: what the target sends goes to the caller."""

    def __init__(self, caller: asyncio.Transport) -> None:
        self.caller = caller

    def data_received(self, data: bytes) -> None:
        self.caller.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.caller.close()


class _FromCaller(asyncio.Protocol):
    """The caller's side: opens its own connection to the target and copies bytes both ways."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.target: asyncio.Transport | None = None
        self.early: list[bytes] = []  # what the caller sent before the target's connection was up

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.caller = transport
        asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        target, _ = await loop.create_connection(lambda: _ToCaller(self.caller), self.host, self.port)  # type: ignore[arg-type]
        self.target = target  # type: ignore[assignment]
        for data in self.early:
            target.write(data)
        self.early.clear()

    def data_received(self, data: bytes) -> None:
        if self.target is None:
            self.early.append(data)
        else:
            self.target.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.target is not None:
            self.target.close()


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _FromCaller(host, port), "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
    await server.serve_forever()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(host, port))
    else:
        uvloop.run(_serve(host, port))


if __name__ == "__main__":
    main()
