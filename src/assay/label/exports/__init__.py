"""The food label in the standard formats others read: a CycloneDX 1.6 ML-BOM with model cards, SPDX
3.0.1 AI and Dataset packages, a Hugging Face model card; and the whole system's AI bill of materials
(CycloneDX 1.6) from the manifest. Each CycloneDX document is validated against the official schema
before it is returned; see docs/label-exports.md for what maps where."""

from __future__ import annotations

import json
from collections.abc import Mapping

from assay.label.exports.aibom import AIBOM_NAME, ai_bom, write_ai_bom
from assay.label.exports.cdx_common import (
    MEDIA_TYPE as CYCLONEDX_MEDIA_TYPE,
)
from assay.label.exports.cdx_common import (
    ExportInvalid,
    cyclonedx_problems,
    to_json_bytes,
    validate_cyclonedx,
)
from assay.label.exports.mlbom import cyclonedx_mlbom, model_for_target
from assay.label.exports.modelcard import MEDIA_TYPE as MODEL_CARD_MEDIA_TYPE
from assay.label.exports.modelcard import hf_model_card
from assay.label.exports.spdx import MEDIA_TYPE as SPDX_MEDIA_TYPE
from assay.label.exports.spdx import spdx3
from assay.label.models import Disclosure

MLBOM_NAME = "label.cdx.json"
SPDX_NAME = "label.spdx.json"
MODEL_CARD_NAME = "MODEL_CARD.md"


def write_exports(
    d: Disclosure, model_for_target: Mapping[str, str] | None = None
) -> list[tuple[str, bytes, str]]:
    """The label's exports as (relative name, content, media type); the caller writes them (atomically)
    beside label.json. `model_for_target` is passed to `cyclonedx_mlbom` (several model components)."""
    spdx_text = json.dumps(spdx3(d), indent=2, ensure_ascii=False) + "\n"
    return [
        (MLBOM_NAME, to_json_bytes(cyclonedx_mlbom(d, model_for_target)), CYCLONEDX_MEDIA_TYPE),
        (SPDX_NAME, spdx_text.encode("utf-8"), SPDX_MEDIA_TYPE),
        (MODEL_CARD_NAME, hf_model_card(d).encode("utf-8"), MODEL_CARD_MEDIA_TYPE),
    ]


__all__ = [
    "AIBOM_NAME",
    "CYCLONEDX_MEDIA_TYPE",
    "MLBOM_NAME",
    "MODEL_CARD_MEDIA_TYPE",
    "MODEL_CARD_NAME",
    "SPDX_MEDIA_TYPE",
    "SPDX_NAME",
    "ExportInvalid",
    "ai_bom",
    "cyclonedx_mlbom",
    "cyclonedx_problems",
    "hf_model_card",
    "model_for_target",
    "spdx3",
    "validate_cyclonedx",
    "write_ai_bom",
    "write_exports",
]
