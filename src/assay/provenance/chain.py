"""The chain of earlier manifests a re-marked asset keeps (C2PA `parentOf` ingredients).

Its own small module so that the verification report can name the type without loading c2pa.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ChainLink(BaseModel):
    """One earlier manifest the active one keeps as its parent ingredient (a re-mark keeps the chain)."""

    label: str
    title: str | None = None
    generator: str | None = None
    model: str | None = None
    digital_source_type: str | None = None
    signer: str | None = None
    claimed_time: dt.datetime | None = None
    ledger_id: int | str | None = None
    failures: list[str] = Field([], description="c2pa-rs's failure codes for this ingredient's manifest")
    content_checked: bool = Field(
        True,
        description="False when the earlier manifest was kept without its asset (a text's sidecar), so "
        "c2pa-rs could not check its data hash; Assay checked it against the text when re-marking",
    )


def describe(link: ChainLink) -> str:
    """One line for a person: who signed the earlier version, with what, and whether it still checks out."""
    parts = [f"signed by {link.signer or 'an unnamed signer'}"]
    if link.generator:
        parts.append(f"generator {link.generator}")
    parts.append(f"model {link.model or 'not named'}")
    if link.ledger_id is not None:
        parts.append(f"ledger #{link.ledger_id}")
    broken = [f for f in link.failures if f != "signingCredential.untrusted"]
    if broken:
        state = "its manifest does not verify: " + ", ".join(broken)
    elif link.failures:
        state = "its signer is not on the trust list"
    else:
        state = "its manifest verifies"
    if not link.content_checked:
        state += "; its data hash was checked against the text when it was re-marked"
    return ", ".join(parts) + f" ({state})"
