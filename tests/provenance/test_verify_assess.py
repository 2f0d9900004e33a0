"""The `mark` step of `assay assess`: the example's answers are watermarked, signed, recorded, verified."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from assay.assess import assess
from tests.conftest import EXAMPLE, example_text

PROVENANCE = "\nprovenance:\n  text_watermark: {gamma: 0.25, delta: 2.0}\n  c2pa: true\n"


@pytest.mark.slow
def test_assess_marks_and_verifies_generated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from assay.evals.bundled.engine import ModelUnavailable, find_gguf

    try:
        find_gguf()
    except ModelUnavailable as exc:
        pytest.skip(str(exc))
    monkeypatch.setattr("assay.assess.MARK_COUNT", 1)  # one short answer keeps the test small
    shutil.copytree(EXAMPLE.parent / "suites", tmp_path / "suites")
    manifest = tmp_path / "assay.yaml"
    manifest.write_text(example_text() + PROVENANCE)
    result = assess(manifest)
    names = {o.name: o for o in result.outputs}
    assert {"provenance/marks.json", "provenance/verification.json", "provenance/verification.html"} <= set(
        names
    )
    assert names["provenance/marks.json"].kind == "provenance.mark"
    checks = json.loads((Path(result.out_dir) / "provenance/verification.json").read_text())
    assert len(checks) == 2  # one watermarked answer and one signed text
    # Whatever the machine's arithmetic made of the answer, the published one carries a findable mark:
    # a faint one is generated again with the next seed (the attempt is recorded in the ledger).
    assert all(c["verification"]["verdict"] == "established" for c in checks)
    methods = {c["method"] for c in checks}
    assert methods == {"kgw-watermark", "text-manifest (sidecar)"}
    # The signed text is published with its sidecar, which the reference C2PA SDK reads as trusted.
    marks = json.loads((Path(result.out_dir) / "provenance/marks.json").read_text())
    signed = next(m for m in marks if m["method"] == "text-manifest (sidecar)")
    assert signed["sidecar_path"] in names and signed["output_path"] in names
    text = Path(result.out_dir) / signed["output_path"]
    side = Path(result.out_dir) / signed["sidecar_path"]
    import io

    import c2pa

    anchors = (Path(result.workspace) / "keys/c2pa/trust-anchors.pem").read_text()
    settings = {"verify": {"verify_trust": True, "ocsp_fetch": False}, "trust": {"user_anchors": anchors}}
    with (
        c2pa.Context.from_dict(settings) as ctx,
        c2pa.Reader("text/plain", io.BytesIO(text.read_bytes()), side.read_bytes(), ctx) as reader,
    ):
        store = json.loads(reader.json())
    assert store["validation_state"] == "Trusted"
    active = store["manifests"][store["active_manifest"]]
    assert "unknown model" not in json.dumps(active)
    # Published outputs get ordinary permissions (0644 under the usual umask), not the temp file's 0600.
    umask = os.umask(0)
    os.umask(umask)
    for out in (text, side, Path(result.out_dir) / "provenance/verification.html"):
        assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    coverage = json.loads((Path(result.out_dir) / "controls.json").read_text())
    assert "provenance.mark" in coverage["evidence_kinds"]
