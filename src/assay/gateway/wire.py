"""A lean HTTP/1.1 client for a gateway's plain-HTTP target (a model served on the same machine or
network: vLLM, llama.cpp, Ollama, the project's mock).

Every request through the gateway is also a request to its target, so the client's own CPU is part of
what the gateway adds to each call; aiohttp's client spent ~0.1 ms of it per request, a third of the
gateway's. This one writes a request head built once, parses the answer with llhttp (httptools, as
uvicorn does) and keeps connections alive in a pool, at a small fraction of that. It does only what a
gateway needs: POST with a body, answers framed by length, chunks or the connection's end, gzip or
deflate bodies, and a reused connection that the target had already closed retried once on a new one.
HTTPS targets keep aiohttp's client (remote endpoints, where the network dwarfs the client's CPU).
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httptools

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_PAUSE_AT = 64  # streamed pieces waiting for the gateway before reading from the target pauses
_RESUME_AT = 8


class WireError(Exception):
    """The exchange failed: the target could not be reached, hung up, or answered with something
    that is not HTTP. `connect` says whether it failed before a connection was open."""

    def __init__(self, message: str, *, connect: bool = False) -> None:
        super().__init__(message)
        self.connect = connect


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""


def request_head(method: str, host: str, path: str, headers: dict[str, str]) -> bytes:
    """The request line and headers, up to the Content-Length value. Refuses a header that would
    break the head apart (a name that is not an HTTP token, a line break in a value)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(f"the header name {name[:60]!r} is not an HTTP token")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"the header {name} holds a line break or NUL")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")


@dataclass
class _Exchange:
    """What one answer has brought so far."""

    stream: bool
    head: asyncio.Future[Answer]
    done: asyncio.Future[None]
    pieces: list[bytes] = field(default_factory=list)
    queue: asyncio.Queue[bytes | None] | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    got_bytes: bool = False
    complete: bool = False
    keep_alive: bool = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection to the target; one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.paused = False
        self.x: _Exchange | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self._name = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        x = self.x
        if x is None or self.parser is None:  # bytes nobody asked for: the connection is not reusable
            self.close()
            return
        x.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(WireError(f"the target's answer is not valid HTTP: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        x = self.x
        if x is None or x.complete:
            return
        framed = "content-length" in x.headers or "chunked" in x.headers.get("transfer-encoding", "")
        if x.head.done() and not framed:  # an answer that ends with the connection: now complete
            self.on_message_complete()
            return
        why = "the target closed the connection before its answer was complete"
        self._fail(WireError(f"{why}: {exc}" if exc else why))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.x is not None
        self.x.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        x, parser = self.x, self.parser
        assert x is not None and parser is not None
        x.status = parser.get_status_code()
        if 100 <= x.status < 200:  # an interim answer (100 Continue): the real one follows
            x.headers = {}
            return
        if x.stream and x.status < 400:
            x.queue = asyncio.Queue()
        if not x.head.done():
            x.head.set_result(Answer(x.status, x.headers))

    def on_body(self, body: bytes) -> None:
        x = self.x
        assert x is not None
        if x.queue is not None:
            x.queue.put_nowait(body)
            if x.queue.qsize() >= _PAUSE_AT and self.transport is not None and not self.paused:
                self.transport.pause_reading()
                self.paused = True
        else:
            x.pieces.append(body)

    def on_message_complete(self) -> None:
        x, parser = self.x, self.parser
        assert x is not None and parser is not None
        if 100 <= x.status < 200:
            return
        x.complete = True
        x.keep_alive = parser.should_keep_alive() and not self.closed
        if x.queue is not None:
            x.queue.put_nowait(None)
        if not x.done.done():
            x.done.set_result(None)

    # the exchange
    def _fail(self, exc: WireError) -> None:
        x = self.x
        if x is None:
            return
        x.complete = True
        for fut in (x.head, x.done):
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # retrieved here: whichever the caller awaits raises it
        if x.queue is not None:
            x.queue.put_nowait(None)

    def start(self, data: bytes, stream: bool) -> _Exchange:
        loop = asyncio.get_running_loop()
        self.x = _Exchange(stream=stream, head=loop.create_future(), done=loop.create_future())
        self.parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(data)
        return self.x

    def resume(self) -> None:
        x = self.x
        if not self.paused or self.transport is None or x is None or x.queue is None:
            return
        if x.queue.qsize() <= _RESUME_AT:
            self.paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _decoder(headers: dict[str, str]) -> zlib._Decompress | None:  # type: ignore[name-defined]
    coding = headers.get("content-encoding", "identity").strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise WireError(f"the target's answer is encoded as {coding!r}, which the gateway cannot read")


class WirePool:
    """Keep-alive connections to one host and port."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as exc:
            raise WireError(f"cannot connect to {self.host}:{self.port}: {exc}", connect=True) from exc
        return conn

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _begin(self, data: bytes, stream: bool) -> tuple[_Connection, _Exchange]:
        """Send the request; a reused connection that turns out closed before any byte of an answer
        came back is dropped, and the request sent once more on a new connection."""
        conn = self._idle_connection()
        if conn is not None:
            x = conn.start(data, stream)
            try:
                await x.head
                return conn, x
            except WireError:
                conn.close()
                if x.got_bytes:
                    raise
            except BaseException:
                conn.close()
                raise
        conn = await self._connect()
        x = conn.start(data, stream)
        try:
            await x.head
        except BaseException:
            conn.close()
            raise
        return conn, x

    def _release(self, conn: _Connection, x: _Exchange) -> None:
        conn.x = None
        conn.parser = None
        if x.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()

    async def post(self, data: bytes) -> Answer:
        """Send a whole request (head and body) and read the whole answer."""
        conn, x = await self._begin(data, stream=False)
        try:
            await x.done
        except BaseException:
            conn.close()
            raise
        answer = x.head.result()
        body = b"".join(x.pieces)
        try:
            decoder = _decoder(answer.headers)
            if decoder is not None:
                body = decoder.decompress(body) + decoder.flush()
        except zlib.error as exc:
            conn.close()
            raise WireError(f"the target's answer does not decompress: {exc}") from exc
        except WireError:
            conn.close()
            raise
        answer.body = body
        self._release(conn, x)
        return answer

    async def stream(self, data: bytes) -> tuple[Answer, AsyncIterator[bytes]]:
        """Send a request; the answer's status and headers, and its body as it arrives. Stopping
        the iteration early (the caller hung up) closes the connection, so the target stops too."""
        conn, x = await self._begin(data, stream=True)
        answer = x.head.result()
        if x.queue is None:  # an error answer: read it whole
            try:
                await x.done
            except BaseException:
                conn.close()
                raise
            answer.body = b"".join(x.pieces)
            self._release(conn, x)

            async def nothing() -> AsyncIterator[bytes]:
                return
                yield b""  # pragma: no cover

            return answer, nothing()
        try:
            decoder = _decoder(answer.headers)
        except WireError:
            conn.close()
            raise
        queue = x.queue

        async def pieces() -> AsyncIterator[bytes]:
            try:
                while True:
                    piece = await queue.get()
                    conn.resume()
                    if piece is None:
                        break
                    yield decoder.decompress(piece) if decoder is not None else piece
                if x.done.done() and x.done.exception() is not None:
                    raise x.done.exception()  # type: ignore[misc]
                if decoder is not None:
                    yield decoder.flush()
            except zlib.error as exc:
                raise WireError(f"the target's answer does not decompress: {exc}") from exc
            finally:  # an answer cut off (the caller hung up) leaves a connection that is closed
                self._release(conn, x)

        return answer, pieces()

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
