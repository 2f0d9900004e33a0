"""Request bodies over 2 MiB are refused, announced or streamed, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

from assay.api.limits import MAX_BODY_BYTES
from assay.tokens import Role
from tests.api.conftest import Api


def test_a_large_content_length_is_refused(api: Api) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    r = api.client.post(
        "/api/v1/systems", content=body, headers={**api.auth(Role.admin), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert "2 MiB" in r.json()["detail"]
    assert api.client.get("/healthz").status_code == 200


def test_a_large_stream_is_refused(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"padding": "'
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all, with no Content-Length
        yield b'"}'

    r = api.client.post(
        "/api/v1/systems",
        content=chunks(),
        headers={**api.auth(Role.admin), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert api.client.get("/healthz").status_code == 200


def test_a_body_just_under_the_cap_is_read(api: Api) -> None:
    body = b'{"padding": "' + b"x" * (MAX_BODY_BYTES - 100) + b'"}'
    r = api.client.post(
        "/api/v1/systems", content=body, headers={**api.auth(Role.admin), "Content-Type": "application/json"}
    )
    assert r.status_code == 422  # read and judged, not refused for its size
