"""Near-duplicate vulnerability reports, so a bounty is paid once.

The provenance ledger's MinHash fingerprint of character 5-grams and its LSH bands are reused as they
are: a report's title and description are fingerprinted, earlier reports of the same system sharing a
band are fetched by index, and the closest above the ledger's text threshold is named.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from assay.provenance import fingerprints as fp
from assay.provenance.ledger import TEXT_MATCH, Fingerprint, text_fingerprint
from assay.store import incidents as rows

NEAR_DUPLICATE = TEXT_MATCH
"""Estimated Jaccard similarity of the reports' 5-gram sets at which a report is flagged."""


class NearDuplicate(BaseModel):
    incident_id: str
    similarity: float


def report_fingerprint(title: str, description: str) -> Fingerprint:
    return text_fingerprint(f"{title}\n{description}")


def find_near_duplicate(session: Session, system: str, print_: Fingerprint) -> NearDuplicate | None:
    """The earlier report of `system` most similar to this one, if any reaches `NEAR_DUPLICATE`."""
    mine = fp.signature_from_bytes(print_.fingerprint)
    best: NearDuplicate | None = None
    for incident_id, stored in rows.band_candidates(session, system, print_.bands):
        if not stored:
            continue
        sim = fp.minhash_similarity(mine, fp.signature_from_bytes(stored))
        if sim >= NEAR_DUPLICATE and (best is None or sim > best.similarity):
            best = NearDuplicate(incident_id=incident_id, similarity=round(sim, 3))
    return best
