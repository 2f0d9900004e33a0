"""Bounded fuzzing of the image verify path: any bytes give a verdict or `ImageRejected`, never a crash."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("c2pa")
pytest.importorskip("pywt")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from assay.provenance.c2pa_keys import init_c2pa_chain, load_signer  # noqa: E402
from assay.provenance.image_c2pa import sign_image, verify_c2pa  # noqa: E402
from assay.provenance.image_io import ImageRejected, load_image  # noqa: E402
from assay.provenance.image_watermark import detect_watermark  # noqa: E402
from assay.workspace import Workspace  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _signed_samples(tmp: Workspace) -> list[bytes]:
    init_c2pa_chain(tmp)
    signer = load_signer(tmp)
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 255, (140, 150, 3), dtype=np.uint8))
    out = []
    for fmt, media in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        buf = io.BytesIO()
        img.save(buf, fmt)
        out.append(sign_image(buf.getvalue(), media, signer=signer, generator_name="g", model_name="m"))
    return out


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[bytes]]:
    ws = Workspace(tmp_path_factory.mktemp("fuzz") / ".assay")
    return ws, _signed_samples(ws)


def _verify_everything(data: bytes, ws: Workspace) -> None:
    try:
        verdict = verify_c2pa(data, None, ws)
        assert verdict.verdict in ("trusted", "valid_untrusted", "invalid", "no_manifest")
        assert verdict.explanation
    except ImageRejected as e:
        assert e.reason
    try:
        loaded = load_image(data)
    except ImageRejected as e:
        assert e.reason
        return
    detect_watermark(loaded.image)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(samples: tuple[Workspace, list[bytes]], data: bytes) -> None:
    _verify_everything(data, samples[0])


@FUZZ
@given(which=st.integers(0, 2), edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
       cut=st.floats(0.05, 1.0))  # fmt: skip
def test_mutated_signed_images(
    samples: tuple[Workspace, list[bytes]], which: int, edits: list[tuple[float, int]], cut: float
) -> None:
    ws, signed = samples
    data = bytearray(signed[which])
    for where, value in edits:
        data[min(int(where * len(data)), len(data) - 1)] = value
    _verify_everything(bytes(data[: max(1, int(cut * len(data)))]), ws)
