"""The notification outbox against real receivers on 127.0.0.1: a webhook server and an SMTP server
(aiosmtpd). Nothing is lost when a receiver is down or the worker dies; repeats carry the same id."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assay.notify import deliver_due, enqueue, list_notifications, verify_webhook
from assay.notify.webhook import SignatureError, sign_webhook

SECRET = "s3cret-for-tests"


class Receiver:
    """A webhook receiver that checks every signature and keeps what arrived (and the status to answer)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.rejected: list[str] = []
        self.answer = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    mid = verify_webhook(SECRET.encode(), dict(self.headers), body)
                except SignatureError as exc:
                    outer.rejected.append(str(exc))
                    self.send_response(401)
                    self.end_headers()
                    return
                if outer.answer == 200:
                    outer.received.append((mid, json.loads(body)))
                self.send_response(outer.answer)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("ASSAY_TEST_HOOK_SECRET", SECRET)
    r = Receiver()
    yield r
    r.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _enqueue_hook(workspace, url: str, n: int = 1, topic: str = "incident.severe") -> list[str]:  # type: ignore[no-untyped-def]
    with workspace.db.session() as s:
        return [
            enqueue(
                s,
                channel="webhook",
                destination=url,
                topic=topic,
                payload={"incident": f"AS-2026-{i:04d}"},
                secret_env="ASSAY_TEST_HOOK_SECRET",
            )
            for i in range(n)
        ]


def test_webhook_is_signed_delivered_once_and_recorded(workspace, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    ids = _enqueue_hook(workspace, receiver.url, 3)
    report = deliver_due(workspace)
    assert (report.claimed, report.delivered) == (3, 3)
    assert [m for m, _ in receiver.received] == ids and not receiver.rejected
    assert receiver.received[0][1]["payload"] == {"incident": "AS-2026-0000"}
    assert deliver_due(workspace).claimed == 0  # nothing is sent twice
    assert {n.status for n in list_notifications(workspace)} == {"delivered"}


def test_a_rolled_back_change_sends_nothing(workspace, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), workspace.db.session() as s:
        enqueue(s, channel="webhook", destination=receiver.url, topic="t", payload={}, secret_env="X")
        raise RuntimeError("the state change failed")
    assert list_notifications(workspace) == []
    assert deliver_due(workspace).claimed == 0


def test_unreachable_receiver_is_retried_with_backoff_and_nothing_is_lost(
    workspace, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    down = f"http://127.0.0.1:{_free_port()}/hook"
    (mid,) = _enqueue_hook(workspace, down)
    report = deliver_due(workspace)
    assert (report.delivered, report.retrying) == (0, 1) and "cannot reach" in report.errors[0]
    (n,) = list_notifications(workspace)
    assert n.status == "pending" and n.attempts == 1 and n.next_attempt_at > dt.datetime.now(dt.UTC)
    assert deliver_due(workspace).claimed == 0  # not due yet
    # The receiver comes back (same row pointed at it); the next due pass delivers it, once.
    with workspace.db.session() as s:
        from assay.store.tables import OutboxRow

        s.get(OutboxRow, n.id).destination = receiver.url
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert deliver_due(workspace, now=later).delivered == 1
    assert [m for m, _ in receiver.received] == [mid]


def test_a_receiver_error_5xx_retries_but_4xx_gives_up(workspace, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.answer = 503
    _enqueue_hook(workspace, receiver.url)
    assert deliver_due(workspace).retrying == 1
    receiver.answer = 400
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    report = deliver_due(workspace, now=later)
    assert report.dead == 1 and "HTTP 400" in report.errors[0]
    (n,) = list_notifications(workspace, "dead")
    assert n.attempts == 2
    from assay.notify.outbox import retry_dead

    receiver.answer = 200
    assert retry_dead(workspace, n.id) and deliver_due(workspace).delivered == 1


def test_gives_up_after_max_attempts(workspace) -> None:  # type: ignore[no-untyped-def]
    os.environ.pop("ASSAY_TEST_HOOK_SECRET", None)  # the secret is missing: every attempt fails
    _enqueue_hook(workspace, "http://127.0.0.1:9/hook")
    now = dt.datetime.now(dt.UTC)
    for i in range(3):
        report = deliver_due(workspace, now=now + dt.timedelta(days=i), max_attempts=3)
    assert report.dead == 1 and "ASSAY_TEST_HOOK_SECRET is not set" in report.errors[0]


def test_signature_rejects_tampering_wrong_secret_and_replay() -> None:
    body = b'{"a":1}'
    h = sign_webhook(b"k", "m-1", body, now=1_000_000)
    assert verify_webhook(b"k", h, body, now=1_000_010) == "m-1"
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(b"k", h, b'{"a":2}', now=1_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(b"other", h, body, now=1_000_010)
    with pytest.raises(SignatureError, match="window"):
        verify_webhook(b"k", h, body, now=1_000_000 + 301)
    with pytest.raises(SignatureError, match="does not match"):  # the id is signed too
        verify_webhook(b"k", {**h, "Assay-Message-Id": "m-2"}, body, now=1_000_010)
    with pytest.raises(SignatureError, match="missing"):
        verify_webhook(b"k", {}, body)


def test_enqueue_refuses_unsigned_webhooks_and_bad_addresses(workspace) -> None:  # type: ignore[no-untyped-def]
    with workspace.db.session() as s:
        with pytest.raises(ValueError, match="secret_env"):
            enqueue(s, channel="webhook", destination="https://x.example/h", topic="t", payload={})
        with pytest.raises(ValueError, match="http"):
            enqueue(
                s, channel="webhook", destination="file:///etc/passwd", topic="t", payload={}, secret_env="X"
            )
        with pytest.raises(ValueError, match="one address"):
            enqueue(s, channel="email", destination="a@b.example\r\nBcc: c@d", topic="t", payload={})


def test_email_goes_through_a_real_smtp_server(workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    got: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            got.append(message)

    port = _free_port()
    ctl = Controller(Keep(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        monkeypatch.setenv("ASSAY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ASSAY_SMTP_PORT", str(port))
        monkeypatch.setenv("ASSAY_SMTP_FROM", "assay@lcb.example.sg")
        with workspace.db.session() as s:
            mid = enqueue(
                s,
                channel="email",
                destination="regulator@authority.example.sg",
                topic="incident.severe",
                subject="Severe incident AS-2026-0001: initial report due 2026-12-06",
                payload={"text": "An initial report of incident AS-2026-0001 is due."},
            )
        assert deliver_due(workspace).delivered == 1
    finally:
        ctl.stop()
    (msg,) = got
    assert msg["To"] == "regulator@authority.example.sg" and msg["Assay-Message-Id"] == mid
    assert "AS-2026-0001" in msg["Subject"] and "initial report" in msg.get_payload()


WORKER = """
import sys
from assay.workspace import Workspace
from assay.notify import deliver_due
deliver_due(Workspace(__import__('pathlib').Path(sys.argv[1]), sys.argv[2]), lease_s=float(sys.argv[3]))
"""


def test_a_worker_killed_after_sending_resends_with_the_same_id_and_loses_nothing(
    workspace, receiver: Receiver, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = _enqueue_hook(workspace, receiver.url, 3)
    env = {**os.environ, "ASSAY_TEST_KILL_AFTER_SEND": "2", "ASSAY_TEST_HOOK_SECRET": SECRET}
    args = [sys.executable, "-c", WORKER, str(workspace.home), workspace.database_url, "0.5"]
    proc = subprocess.run(args, env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9  # it died after sending the second, before recording it
    assert [m for m, _ in receiver.received] == ids[:2]
    states = {n.message_id: n.status for n in list_notifications(workspace)}
    assert states == {ids[0]: "delivered", ids[1]: "pending", ids[2]: "pending"}
    time.sleep(0.6)  # its claim runs out
    report = deliver_due(workspace)
    assert report.delivered == 2
    # The second message arrived twice with one id (the receiver drops the repeat); none is missing.
    assert [m for m, _ in receiver.received] == [ids[0], ids[1], ids[1], ids[2]]
    assert {n.status for n in list_notifications(workspace)} == {"delivered"}


def test_cli_run_once_and_list(workspace, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from assay.cli.main import app

    _enqueue_hook(workspace, receiver.url, 2)
    env = {"ASSAY_DATABASE_URL": workspace.database_url}
    home = ["--home", str(workspace.home)]
    r = CliRunner().invoke(app, ["notify", "run", "--once", *home], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["notify", "list", "--json", *home], env=env)
    assert r.exit_code == 0 and [n["status"] for n in json.loads(r.stdout)] == ["delivered", "delivered"]
    assert len(receiver.received) == 2
