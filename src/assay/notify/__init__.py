"""Notifications that are never lost: a transactional outbox, signed webhooks and e-mail.

A change that must be announced (an incident turning severe, a deadline near) writes its
notification with `enqueue` inside the same database transaction; `deliver_due` (the worker, or
`assay notify run`) sends it later and retries with backoff until it is delivered or gives up.
Delivery is at least once; every message carries a stable id so a receiver drops a repeat.
"""

from assay.notify.outbox import (
    DeliveryReport,
    Notification,
    deliver_due,
    enqueue,
    list_notifications,
)
from assay.notify.webhook import SignatureError, sign_webhook, verify_webhook

__all__ = [
    "DeliveryReport",
    "Notification",
    "SignatureError",
    "deliver_due",
    "enqueue",
    "list_notifications",
    "sign_webhook",
    "verify_webhook",
]
