"""The mock's listening socket: connections it accepts must not sit behind Nagle's algorithm.

A response written as headers then body on a Nagle socket waits for the peer's delayed ACK
(~40 ms on Linux), which once capped every benchmark at ~23 requests/s per connection.
"""

from __future__ import annotations

import asyncio
import socket

from assay.evals.mockserver import listen_socket


def test_accepted_connections_have_nodelay() -> None:
    with listen_socket() as server, socket.create_connection(server.getsockname()) as _client:
        conn, _ = server.accept()
        with conn:
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert conn.proto == socket.IPPROTO_TCP


def test_asyncio_transports_on_it_keep_nodelay() -> None:
    """asyncio only sets TCP_NODELAY itself when proto is IPPROTO_TCP; check what its transport sees."""
    seen: list[int] = []

    async def main() -> None:
        sock = listen_socket()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _r, w = await asyncio.open_connection(*sock.getsockname())
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            w.close()

    asyncio.run(main())
    assert seen == [1]
