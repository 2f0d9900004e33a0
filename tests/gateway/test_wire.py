"""The gateway's lean HTTP client against servers on 127.0.0.1 that answer with exact bytes: every
way an HTTP/1.1 answer can be framed, connections reused and dropped, and answers that are broken."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable

import pytest

from assay.gateway.wire import Answer, WireError, WirePool, request_head

Script = Callable[[int, bytes], list[bytes | float | None]]  # (request number, request) -> what to do


class ScriptedServer:
    """Reads one request at a time and answers as `script` says: bytes are written, a float sleeps,
    None closes the connection."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.hung_up = 0  # connections the client closed
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                for step in self.script(len(self.requests), request):
                    if step is None:
                        writer.close()
                        return
                    if isinstance(step, float):
                        await asyncio.sleep(step)
                    else:
                        writer.write(step)
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.hung_up += 1
            writer.close()


def _request(body: bytes = b'{"q": 1}') -> bytes:
    head = request_head("POST", "example", "/v1/chat/completions", {"Content-Type": "application/json"})
    return head + b"%d\r\n\r\n" % len(body) + body


def _ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), b"".join(extra)) + body


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def _post_once(steps: list[bytes | float | None]) -> Answer:
    """One request to a fresh server that answers it with `steps`: the answer, or the WireError."""

    async def go() -> Answer:
        async with ScriptedServer(lambda n, r: steps) as server:
            pool = WirePool("127.0.0.1", server.port)
            try:
                return await pool.post(_request())
            finally:
                pool.close()

    return run(go())  # type: ignore[no-any-return]


def test_an_answer_framed_by_its_length() -> None:
    async def go() -> None:
        async with ScriptedServer(lambda n, r: [_ok(b'{"a": 1}', b"X-Extra: yes\r\n")]) as server:
            pool = WirePool("127.0.0.1", server.port)
            first = await pool.post(_request(b'{"q": "hello"}'))
            assert (first.status, first.body) == (200, b'{"a": 1}')
            assert first.headers["content-length"] == "8" and first.headers["x-extra"] == "yes"
            assert server.requests[0].endswith(b'Content-Length: 14\r\n\r\n{"q": "hello"}')
            pool.close()

    run(go())


def test_a_chunked_answer_and_one_that_ends_with_the_connection() -> None:
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n'

    def script(n: int, _req: bytes) -> list[bytes | float | None]:
        if n == 1:
            return [chunked, 0.02, b"4\r\n: 2}\r\n0\r\n\r\n"]
        return [b'HTTP/1.1 200 OK\r\n\r\n{"a": ', 0.02, b"3}", None]  # no length: ends at close

    async def go() -> None:
        async with ScriptedServer(script) as server:
            pool = WirePool("127.0.0.1", server.port)
            assert (await pool.post(_request())).body == b'{"a": 2}'
            assert (await pool.post(_request())).body == b'{"a": 3}'
            assert server.connections == 1  # the chunked answer left the connection reusable
            pool.close()

    run(go())


def test_connections_are_reused_and_a_stale_one_is_replaced_once() -> None:
    def script(n: int, _req: bytes) -> list[bytes | float | None]:
        if n == 3:
            return [None]  # the target drops the kept-alive connection without answering
        return [_ok(b"{}")]

    async def go() -> None:
        async with ScriptedServer(script) as server:
            pool = WirePool("127.0.0.1", server.port)
            for _ in range(2):
                assert (await pool.post(_request())).status == 200
            assert server.connections == 1
            # the third request reaches the old connection, which closes unanswered: sent again
            assert (await pool.post(_request())).status == 200
            assert server.connections == 2 and len(server.requests) == 4
            pool.close()

    run(go())


def test_a_new_connection_that_closes_unanswered_is_an_error_not_a_retry() -> None:
    async def go() -> None:
        async with ScriptedServer(lambda n, r: [None]) as server:
            pool = WirePool("127.0.0.1", server.port)
            with pytest.raises(WireError, match="closed the connection"):
                await pool.post(_request())
            assert len(server.requests) == 1

    run(go())


def test_an_answer_cut_short_is_an_error() -> None:
    cut = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"a"'
    with pytest.raises(WireError, match="before its answer was complete"):
        _post_once([cut, None])


def test_what_is_not_http_is_an_error() -> None:
    with pytest.raises(WireError, match="not valid HTTP"):
        _post_once([b"SSH-2.0-OpenSSH\r\n\r\n"])


def test_an_interim_100_continue_is_skipped() -> None:
    got = _post_once([b"HTTP/1.1 100 Continue\r\n\r\n", _ok(b'{"ok": true}')])
    assert (got.status, got.body) == (200, b'{"ok": true}')


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_answers_are_read(coding: str) -> None:
    body = b'{"text": "' + b"word " * 200 + b'"}'
    packed = gzip.compress(body) if coding == "gzip" else zlib.compress(body)
    assert _post_once([_ok(packed, f"Content-Encoding: {coding}\r\n".encode())]).body == body


def test_an_unknown_encoding_is_refused() -> None:
    async def go() -> None:
        answer = [_ok(b"xx", b"Content-Encoding: br\r\n")]
        async with ScriptedServer(lambda n, r: answer) as server:
            pool = WirePool("127.0.0.1", server.port)
            with pytest.raises(WireError, match="'br'"):
                await pool.post(_request())
            assert pool._idle == [] and server.connections == 1
            with pytest.raises(WireError, match="'br'"):
                await pool.stream(_request())
            await asyncio.sleep(0.05)
            assert server.hung_up == 2  # each refused answer's connection was closed, not left open

    run(go())


def test_an_unreachable_target_is_a_connect_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> None:
        with pytest.raises(WireError) as e:
            await WirePool("127.0.0.1", port).post(_request())
        assert e.value.connect and "cannot connect" in str(e.value)

    run(go())


def test_a_stream_arrives_piece_by_piece_and_stopping_early_closes_the_connection() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"

    def script(n: int, _req: bytes) -> list[bytes | float | None]:
        steps: list[bytes | float | None] = [head]
        for i in range(50):
            piece = b"data: %d\n\n" % i
            steps += [b"%x\r\n" % len(piece) + piece + b"\r\n", 0.01]
        return [*steps, b"0\r\n\r\n"]

    async def go() -> None:
        async with ScriptedServer(script) as server:
            pool = WirePool("127.0.0.1", server.port)
            answer, pieces = await pool.stream(_request())
            assert answer.status == 200
            got = []
            async for piece in pieces:
                got.append(piece)
                if len(got) == 3:
                    break
            await pieces.aclose()  # type: ignore[attr-defined]
            assert b"".join(got) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
            assert pool._idle == []  # not put back: the target's answer was cut off
            answer, pieces = await pool.stream(_request())  # a whole one, on a new connection
            text = b"".join([p async for p in pieces])
            assert text.count(b"data: ") == 50 and server.connections == 2
            assert len(pool._idle) == 1  # a finished stream leaves its connection reusable
            pool.close()

    run(go())


def test_a_stream_that_is_refused_is_read_whole() -> None:
    async def go() -> None:
        refusal = b'{"error": "rate limited"}'
        answer = [b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: %d\r\n\r\n" % len(refusal) + refusal]
        async with ScriptedServer(lambda n, r: answer) as server:
            pool = WirePool("127.0.0.1", server.port)
            got, pieces = await pool.stream(_request())
            assert (got.status, got.body) == (429, refusal)
            assert [p async for p in pieces] == []

    run(go())


def test_the_request_head_refuses_headers_that_would_break_it() -> None:
    assert request_head("POST", "h:1", "/v1/x?y=1", {"X-A": "b"}).startswith(
        b"POST /v1/x?y=1 HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nContent-Length: "
    )
    with pytest.raises(ValueError, match="line break"):
        request_head("POST", "h", "/", {"X-A": "b\r\nEvil: 1"})
    with pytest.raises(ValueError, match="not an HTTP token"):
        request_head("POST", "h", "/", {"Bad Name": "b"})


def _sse_answer(words: list[str], *, hang_after_done: bool = False) -> list[bytes | float | None]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    steps: list[bytes | float | None] = [head]
    events = [b'data: {"choices": [{"delta": {"content": "%s "}}]}\n\n' % w.encode() for w in words]
    for event in [*events, b"data: [DONE]\n\n"]:
        steps.append(b"%x\r\n" % len(event) + event + b"\r\n")
    if hang_after_done:
        return [*steps, 2.0, b"0\r\n\r\n"]  # the stream's end comes only after a long pause
    return [*steps, 0.02, b"0\r\n\r\n"]  # the end comes a moment after [DONE]


def _upstream(port: int):  # type: ignore[no-untyped-def]
    from assay.gateway.upstream import Upstream
    from assay.manifest.schema import Target

    spec = Target(id="t", kind="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=10)
    return Upstream(spec)


def test_a_streamed_answer_read_to_its_end_leaves_the_connection_reusable() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}

    async def go() -> None:
        async with ScriptedServer(lambda n, r: _sse_answer(["one", "two"])) as server:
            up = _upstream(server.port)
            for _ in range(3):
                assert "".join([d async for d in up.stream(body)]) == "one two "
            assert server.connections == 1 and up.open_streams == 0
            assert b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" in server.requests[0]
            await up.aclose()

    run(go())


def test_a_target_that_keeps_the_stream_open_after_done_loses_only_its_connection() -> None:
    import time

    body = {"messages": [{"role": "user", "content": "hi"}]}

    async def go() -> None:
        async with ScriptedServer(lambda n, r: _sse_answer(["one"], hang_after_done=True)) as server:
            up = _upstream(server.port)
            t0 = time.monotonic()
            assert "".join([d async for d in up.stream(body)]) == "one "
            assert time.monotonic() - t0 < 1.5  # not held until the late end
            assert "".join([d async for d in up.stream(body)]) == "one "
            assert server.connections == 2
            await up.aclose()

    run(go())


def test_which_targets_get_the_lean_client() -> None:
    from assay.gateway.upstream import Upstream
    from assay.manifest.schema import Target

    def lean(base_url: str, kind: str = "openai") -> bool:
        return Upstream(Target(id="t", kind=kind, base_url=base_url, model="m"))._wire is not None

    assert lean("http://127.0.0.1:8000/v1") and lean("http://[::1]:8000/v1") and lean("http://models/v1")
    assert not lean("https://api.example.com/v1")  # TLS: aiohttp's client
    assert not lean("http://user:secret@127.0.0.1:8000/v1")  # credentials in the URL: aiohttp's client
    assert not lean("http://127.0.0.1:8000/v1", kind="http")  # not an OpenAI-compatible target
    v6 = Upstream(Target(id="t", kind="openai", base_url="http://[::1]:8000/v1/", model="m"))
    assert v6._request(b"{}").startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: [::1]:8000\r\n")
    assert v6._request(b"{}").endswith(b"Content-Length: 2\r\n\r\n{}")
    default_port = Upstream(Target(id="t", kind="openai", base_url="http://models/v1", model="m"))
    assert b"\r\nHost: models\r\n" in default_port._request(b"{}")


def test_a_manifest_header_that_would_break_the_request_is_a_clear_502() -> None:
    from assay.gateway.upstream import Upstream, UpstreamError
    from assay.manifest.schema import Target

    spec = Target(
        id="t", kind="openai", base_url="http://127.0.0.1:9/v1", model="m", headers={"X-A": "b\r\nEvil: 1"}
    )

    async def go() -> None:
        with pytest.raises(UpstreamError, match="headers in the manifest cannot be sent.*X-A") as e:
            await Upstream(spec).complete({"messages": [{"role": "user", "content": "hi"}]})
        assert e.value.status == 502

    run(go())
