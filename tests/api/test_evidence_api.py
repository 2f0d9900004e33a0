"""Evidence over HTTP: listing, one record, its bytes, and verification that catches a changed byte."""

from __future__ import annotations

import os

from assay.assurance.evidence import Evidence, record_evidence
from tests.api.conftest import Api


def _record(
    api: Api, content: bytes, kind: str = "registry.raci", media_type: str = "application/json"
) -> Evidence:
    return record_evidence(
        api.ws, content, kind=kind, system="helpdesk", name="raci.json", media_type=media_type, summary="test"
    )


def test_list_filter_and_get(registered: Api) -> None:
    a = _record(registered, b'{"a": 1}')
    b = _record(registered, b"hello", kind="eval.result", media_type="text/plain")
    c = registered.client
    assert {e["id"] for e in c.get("/api/v1/evidence").json()} == {a.id, b.id}
    assert [e["id"] for e in c.get("/api/v1/evidence", params={"kind": "eval.result"}).json()] == [b.id]
    assert c.get("/api/v1/evidence", params={"system": "other"}).json() == []
    one = c.get(f"/api/v1/evidence/{a.id}").json()
    assert one["sha256"] == a.sha256 and one["signature"] == a.signature
    assert c.get("/api/v1/evidence/not-an-id").status_code == 404


def test_content_is_served_as_stored_and_sandboxed(registered: Api) -> None:
    ev = _record(registered, b"<script>alert(1)</script>", media_type="text/html")
    r = registered.client.get(f"/api/v1/evidence/{ev.id}/content")
    assert r.status_code == 200
    assert r.content == b"<script>alert(1)</script>"
    assert r.headers["x-assay-sha256"] == ev.sha256
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]


def test_verify_catches_a_changed_blob(registered: Api) -> None:
    good = _record(registered, b'{"ok": true}')
    bad = _record(registered, b'{"ok": "soon not"}')
    c = registered.client
    assert all(x["ok"] for x in c.post("/api/v1/evidence/verify").json())

    path = registered.ws.blobs.path(bad.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b'{"ok": "tampered"}')

    results = {
        x["evidence_id"]: x for x in c.post("/api/v1/evidence/verify", params={"system": "helpdesk"}).json()
    }
    assert results[good.id]["ok"] is True
    assert results[bad.id]["ok"] is False
    assert "content changed" in results[bad.id]["problems"][0]
    assert c.post(f"/api/v1/evidence/{bad.id}/verify").json()["ok"] is False
    assert c.post(f"/api/v1/evidence/{good.id}/verify").json()["ok"] is True
    assert c.get(f"/api/v1/evidence/{bad.id}/content").status_code == 409
    assert c.post("/api/v1/evidence/nope/verify").status_code == 404


def test_chain_verification_names_a_deleted_record(registered: Api) -> None:
    from sqlalchemy import delete

    from assay.store.tables import EvidenceRow

    evs = [_record(registered, f"{i}".encode()) for i in range(3)]
    c = registered.client
    (chain,) = c.post("/api/v1/evidence/chains/verify", params={"system": "helpdesk"}).json()
    assert chain["ok"] is True and chain["intact"] == 3
    with registered.ws.db.session() as s:
        s.execute(delete(EvidenceRow).where(EvidenceRow.id == evs[1].id))
    assert all(x["ok"] for x in c.post("/api/v1/evidence/verify").json())  # each record alone is fine
    (chain,) = c.post("/api/v1/evidence/chains/verify").json()
    assert chain["ok"] is False and chain["break_seq"] == 2 and "record #2 missing" in chain["problems"][0]
