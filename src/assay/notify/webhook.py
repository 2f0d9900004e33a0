"""Signed webhooks: HMAC-SHA256 over the timestamp and the exact body, checked within a replay window.

Headers sent with every delivery:
- `Assay-Message-Id`: the notification's stable id (the receiver's idempotency key);
- `Assay-Timestamp`: Unix seconds when this attempt was signed;
- `Assay-Signature`: `v1=` + hex HMAC-SHA256(secret, f"{timestamp}.{message_id}.".encode() + body).

The receiver recomputes the HMAC with its copy of the secret, compares in constant time, and refuses a
timestamp outside its window (default 5 minutes), so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "Assay-Signature"
TIMESTAMP_HEADER = "Assay-Timestamp"
MESSAGE_ID_HEADER = "Assay-Message-Id"
DEFAULT_WINDOW_S = 300


class SignatureError(ValueError):
    """A webhook whose signature, timestamp or headers do not check out; the message says which."""


def _mac(secret: bytes, timestamp: int, message_id: str, body: bytes) -> str:
    signed = f"{timestamp}.{message_id}.".encode() + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def sign_webhook(secret: bytes, message_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The headers that authenticate one delivery of `body`."""
    ts = int(time.time() if now is None else now)
    return {
        MESSAGE_ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: "v1=" + _mac(secret, ts, message_id, body),
    }


def verify_webhook(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    window_s: int = DEFAULT_WINDOW_S,
) -> str:
    """Check a received webhook; return its message id, or raise `SignatureError` saying what failed."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h for h in (MESSAGE_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if h.lower() not in lower]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    message_id = lower[MESSAGE_ID_HEADER.lower()]
    raw_ts = lower[TIMESTAMP_HEADER.lower()]
    if not raw_ts.isdigit():
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds, got {raw_ts[:40]!r}")
    ts = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - ts) > window_s:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(current - ts)} s from now; the window is ±{window_s} s (a replay?)"
        )
    sig = lower[SIGNATURE_HEADER.lower()]
    if not sig.startswith("v1="):
        raise SignatureError(f"{SIGNATURE_HEADER} must start with 'v1='")
    if not hmac.compare_digest(sig[3:], _mac(secret, ts, message_id, body)):
        raise SignatureError("signature does not match the body (wrong secret, or the body was changed)")
    return message_id
