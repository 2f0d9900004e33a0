"""The two ways a notification leaves: an HTTP POST signed with HMAC, or an e-mail over SMTP.

Both carry the message id, so a receiver that sees a message twice (at-least-once delivery) drops it.
Settings come from the environment, never from files: `ASSAY_SMTP_HOST`, `ASSAY_SMTP_PORT` (25),
`ASSAY_SMTP_FROM`, `ASSAY_SMTP_USER`/`ASSAY_SMTP_PASSWORD`, `ASSAY_SMTP_STARTTLS=1`; a webhook's secret
is in the environment variable its notification names.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

from assay.notify.outbox import DeliveryFailed, Notification
from assay.notify.webhook import sign_webhook

TIMEOUT_S = 10.0


def body_of(n: Notification) -> bytes:
    """The exact bytes posted: the payload with the message id and topic, keys sorted."""
    doc = {"message_id": n.message_id, "topic": n.topic, "payload": n.payload}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def send_webhook(n: Notification) -> None:
    secret = os.environ.get(n.secret_env, "")
    if not secret:
        raise DeliveryFailed(f"the webhook secret variable {n.secret_env} is not set in this environment")
    body = body_of(n)
    headers = {"Content-Type": "application/json", "User-Agent": "assay-notify/1"}
    headers.update(sign_webhook(secret.encode(), n.message_id, body))
    req = urllib.request.Request(n.destination, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 (http(s) checked on enqueue)
            resp.read(65536)
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 425, 429)
        raise DeliveryFailed(f"HTTP {exc.code} from the receiver", permanent=not retry) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"cannot reach the receiver: {reason}") from exc


def send_email(n: Notification) -> None:
    host = os.environ.get("ASSAY_SMTP_HOST", "")
    if not host:
        raise DeliveryFailed("ASSAY_SMTP_HOST is not set, so e-mail cannot be sent yet")
    raw_port = os.environ.get("ASSAY_SMTP_PORT", "25")
    if not raw_port.isdigit():
        raise DeliveryFailed(f"ASSAY_SMTP_PORT must be a number, got {raw_port!r}", permanent=True)
    msg = EmailMessage()
    msg["From"] = os.environ.get("ASSAY_SMTP_FROM", "assay@localhost")
    msg["To"] = n.destination
    msg["Subject"] = n.subject or f"[Assay] {n.topic}"
    msg["Message-ID"] = f"<{n.message_id}@assay>"
    msg["Assay-Message-Id"] = n.message_id
    text = n.payload.get("text") if isinstance(n.payload.get("text"), str) else None
    msg.set_content(text or json.dumps(n.payload, indent=2, ensure_ascii=False))
    try:
        with smtplib.SMTP(host, int(raw_port), timeout=TIMEOUT_S) as smtp:
            if os.environ.get("ASSAY_SMTP_STARTTLS") == "1":
                smtp.starttls()
            user = os.environ.get("ASSAY_SMTP_USER")
            if user:
                smtp.login(user, os.environ.get("ASSAY_SMTP_PASSWORD", ""))
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"the mail server refused {n.destination}", permanent=True) from exc
    except (smtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryFailed(f"SMTP {host}:{raw_port}: {exc}") from exc
