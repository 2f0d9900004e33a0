"""Overrides made through a service: the person states the decision; who and when are not theirs to say.

A manifest author writes `decided_by` and `decided_on` into version control, where the history vouches
for them. Over the API the audit trail belongs to the server: the name comes from the token and the date
from the server's clock, so a client cannot back-date a decision or put it in someone else's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import model_validator

from assay.manifest.schema import AllocationDecision, AllocationOverride

SERVER_SET = ("decided_by", "decided_on")


class OverrideRequest(AllocationDecision):
    """An override as a client sends it: the decision and its rationale, nothing about who or when."""

    @model_validator(mode="before")
    @classmethod
    def _no_server_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [f for f in SERVER_SET if f in data]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set by the server "
                    "(who from the token, when from its clock); leave it out"
                )
        return data


def server_today() -> dt.date:
    """The server's date in UTC, so every decision is dated on one calendar whatever the host's zone."""
    return dt.datetime.now(dt.UTC).date()


def decide(decision: AllocationDecision, decided_by: str, on: dt.date | None = None) -> AllocationOverride:
    """The override to keep: the decision's own fields, signed off by `decided_by` on `on` (today)."""
    fields = decision.model_dump(include=set(AllocationDecision.model_fields))
    return AllocationOverride(**fields, decided_by=decided_by, decided_on=on or server_today())
