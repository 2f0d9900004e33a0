"""The provenance ledger: exact, normalised and fuzzy lookups, reserved ids, and many entries."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.provenance import fingerprints as fp
from assay.provenance import ledger
from assay.workspace import Workspace

ANSWER = (
    "Our Fibre 1Gbps plan gives download speeds of up to one gigabit per second and costs $49.90 a "
    "month, with a free router. If you need help upgrading, I can connect you to a human agent."
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path / ".assay", f"sqlite:///{tmp_path / 'assay.db'}")
    yield w
    w.close()


def photo(seed: int = 0, size: int = 256) -> Image.Image:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, size)
    base = np.stack([np.add.outer(x, x) / 2, np.outer(np.ones(size), x), np.outer(x, np.ones(size))], -1)
    blobs = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
    big = np.asarray(Image.fromarray(blobs).resize((size, size), Image.Resampling.BICUBIC), dtype=float)
    return Image.fromarray(((base + big) / 2).astype(np.uint8))


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_exact_and_edited_text_are_found_on_each_backend(workspace: Workspace) -> None:
    entry = ledger.record_text(
        workspace,
        ANSWER,
        system="helpdesk",
        system_version="0.1.0",
        model="m",
        method="kgw-watermark",
        key_id="wm-0000000000000000",
        params={"gamma": 0.25},
    )
    assert entry.id >= 1 and entry.params == {"gamma": 0.25}
    exact = ledger.lookup(workspace, ANSWER.encode())
    assert exact[0].match == "exact" and exact[0].entry.id == entry.id
    # Invisible characters, spacing and case do not hide it.
    same = ledger.lookup(workspace, ("  " + ANSWER.upper().replace(" ", "\u200b ")).encode())
    assert same[0].match == "same_content"
    edited = ANSWER.replace("free router", "complimentary router").replace("help", "assistance")
    hits = ledger.lookup(workspace, edited.encode())
    assert hits and hits[0].match == "similar" and hits[0].entry.id == entry.id
    assert f"output #{entry.id} of helpdesk v0.1.0" in hits[0].sentence
    assert "% similar" in hits[0].sentence
    assert (
        ledger.lookup(workspace, b"An entirely unrelated sentence about the weather in Penang today.") == []
    )


def test_reserved_ids_are_not_matched_until_recorded(ws: Workspace) -> None:
    rid = ledger.reserve_entry(ws, kind="text", media_type="text/plain")
    assert ledger.get_entry(ws, rid) is None
    done = ledger.record_mark(
        ws, ledger.text_fingerprint(ANSWER), media_type="text/plain", size=1, ledger_id=rid
    )
    assert done.id == rid and ledger.get_entry(ws, rid) is not None
    with pytest.raises(LookupError):
        ledger.record_mark(
            ws, ledger.text_fingerprint(ANSWER), media_type="text/plain", size=1, ledger_id=10**6
        )


def test_resaved_image_is_found_by_its_perceptual_hash(ws: Workspace) -> None:
    img = photo(1)
    data = png(img)
    entry = ledger.record_mark(
        ws,
        ledger.image_fingerprint(data, img),
        media_type="image/png",
        size=len(data),
        system="studio",
        system_version="2",
    )
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=75)
    hits = ledger.lookup(ws, buf.getvalue())
    assert hits and hits[0].entry.id == entry.id and hits[0].similarity >= ledger.IMAGE_MATCH
    # The same pixels without the original file's bytes match as the same content.
    again = png(Image.open(io.BytesIO(data)))
    assert ledger.lookup(ws, again)[0].match in ("exact", "same_content")
    assert ledger.lookup(ws, png(photo(99))) == []


def test_fingerprints_are_stable_and_bands_find_near_duplicates() -> None:
    a = fp.minhash(ANSWER)
    assert (a == fp.minhash(ANSWER)).all()
    assert fp.minhash_similarity(a, fp.minhash(ANSWER.replace("month", "mth"))) > 0.7
    shared = set(fp.text_bands(a)) & set(fp.text_bands(fp.minhash(ANSWER.replace("month", "mth"))))
    assert shared
    assert fp.minhash_similarity(a, fp.minhash("Something else entirely, nothing alike at all.")) < 0.2
    assert fp.normalise_text("A\u200bB  c\ufe0f") == "ab c"


def test_lookup_among_a_thousand_entries_is_an_index_query(ws: Workspace) -> None:
    rng = np.random.default_rng(7)
    words = [
        "plan",
        "bill",
        "router",
        "fibre",
        "speed",
        "outage",
        "modem",
        "account",
        "payment",
        "agent",
        "refund",
        "contract",
        "signal",
        "upgrade",
        "hours",
        "support",
        "cable",
        "device",
        "price",
        "data",
    ]
    texts = [" ".join(rng.choice(words, 40)) + f" ticket {i}" for i in range(1000)]
    prints = [ledger.text_fingerprint(t) for t in texts]
    from assay.store.ledger import insert_entry, replace_bands

    with ws.db.session() as s:
        for p in prints:
            eid = insert_entry(
                s,
                {
                    "status": "recorded",
                    "kind": "text",
                    "media_type": "text/plain",
                    "sha256": p.sha256,
                    "norm_sha256": p.norm_sha256,
                    "size": 1,
                    "fingerprint_kind": p.fingerprint_kind,
                    "fingerprint": p.fingerprint,
                    "params": {},
                    "meta": {},
                },
            )
            replace_bands(s, eid, "text", p.bands)
    assert ledger.count_entries(ws) == 1000
    target = texts[500].replace("ticket 500", "ticket #500 (edited)")
    start = time.perf_counter()
    hits = ledger.lookup(ws, target.encode())
    elapsed = time.perf_counter() - start
    assert hits and hits[0].entry.sha256 == prints[500].sha256
    assert elapsed < 1.0
