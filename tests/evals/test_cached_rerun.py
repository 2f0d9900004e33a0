"""A cached re-run takes short cuts: the cache check's rendered prompts and answers are reused by the run,
and the run hands what it wrote to the report and the evidence instead of reading it back. Each must give
exactly what the long way gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assay.evals.mockserver import run_mock_server
from assay.evals.models import Sample, ScorerSpec, Suite
from assay.evals.report import render_run_report
from assay.evals.runner import Runner, RunOptions, load_run
from assay.evals.targets import build_target
from assay.manifest.schema import Target as TargetSpec
from assay.manifest.schema import TargetKind
from assay.store.response_cache import ResponseCache


def _suite() -> Suite:
    samples = [
        Sample(id=f"s{i}", input=f"say {i}", target=f"Q: say {i}", category="even" if i % 2 == 0 else "odd")
        for i in range(12)
    ]
    return Suite(
        id="echo",
        title="Echo",
        template="Q: {{ prompt }}",
        scorers=[ScorerSpec(name="exact"), ScorerSpec(name="contains")],
        samples=samples,
    )


def _runner(suite: Suite, base_url: str, runs: Path, cache: ResponseCache) -> Runner:
    spec = TargetSpec(id="mock", kind=TargetKind.openai, base_url=base_url, model="mock-1")
    return Runner(suite, build_target(spec), runs, cache=cache, options=RunOptions(epochs=2))


def _go(runner: Runner, check_cache: bool) -> None:
    async def go() -> None:
        try:
            if check_cache:
                assert runner.served_by_cache()
            await runner.run()
        finally:
            await runner.target.aclose()

    asyncio.run(go())


def test_a_cached_rerun_hands_on_exactly_what_it_wrote(tmp_path: Path) -> None:
    suite = _suite()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with run_mock_server() as server:
        first = _runner(suite, server.base_url, tmp_path / "runs", cache)
        assert not first.served_by_cache()  # nothing cached yet
        _go(first, check_cache=False)
        asked = server.requests
        again = _runner(suite, server.base_url, tmp_path / "runs", cache)
        _go(again, check_cache=True)
        assert server.requests == asked == 24  # two epochs, each its own cache entry
    cache.close()
    for runner in (first, again):
        assert runner.written is not None
        read = load_run(runner.folder)
        assert runner.written == read  # spec, suite, records and summary, field for field
        assert render_run_report(*runner.written) == render_run_report(*read)
    assert again.written is not None and first.written is not None
    assert again.written.summary.cache_hits == 24 and again.written.summary.score == 1.0
    strip = {"run_id", "finished_at", "cached", "latency_s"}
    firsts = [r.model_dump(exclude=strip) for r in first.written.records]
    agains = [r.model_dump(exclude=strip) for r in again.written.records]
    assert sorted(agains, key=repr) == sorted(firsts, key=repr)  # same prompts, answers and scores


TEMPLATES = [
    ('"{{ prompt }}" Answer using only the choices given above.', True),  # Moonshot's MCQ template
    ("Q: {{prompt}}\n", True),
    ("{{ prompt }} and again {{  prompt  }}\n\n", True),
    ("{{{ prompt }}", False),  # Jinja reads `{{` first: not a plain placeholder
    ("{{ prompt|upper }}", False),
    ("{{- prompt }}", False),
    ("a\r\n{{ prompt }}", False),  # Jinja normalises the line end
    ('{{ prompt }} as JSON: {"a": 1}', False),
    ("{% raw %}{{ prompt }}{% endraw %}", False),
    ("{{\tprompt }}", False),
    ("no placeholder", False),
]


def test_plain_prompt_templates_render_as_jinja_renders_them() -> None:
    """A template whose only tag is `{{ prompt }}` is filled in without Jinja; anything else Jinja reads
    goes through Jinja. Both give the same text for every prompt, tags in the prompt included."""
    from assay.evals.suites.render import (
        TemplateRenderError,
        _prompt_only,
        check_template,
        compile_template,
        render_prompt,
    )

    prompts = ["What?\nA. x\nB. y\n", "{{ not a tag }} {% if %}", "", "ünïcode\r\n"]
    for template, plain in TEMPLATES:
        assert (_prompt_only(template) is not None) == plain, template
        for text in prompts:
            sample = Sample(id="a", input=text, choices=["x", "y"])
            try:
                jinja = compile_template(template).render(
                    {"prompt": text, "choices": ["x", "y"], "sample": sample}
                )
            except TemplateRenderError:  # not a template at all: neither way renders it, and loading says so
                with pytest.raises(TemplateRenderError):
                    render_prompt(template, sample)
                with pytest.raises(TemplateRenderError):
                    check_template(template)
                continue
            check_template(template)
            assert render_prompt(template, sample) == jinja, (template, text)


def test_a_broken_template_cache_only_costs_a_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled-template cache the run reports use only saves time: a damaged entry or a disk that
    takes no writes gives the same page as a fresh compile, never an error."""
    import tempfile

    from jinja2 import DictLoader, Environment

    from assay.evals.report import _bytecode_cache

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the cache folder goes under tmp_path
    source = {"page.html": "{% for s in samples %}<li>{{ s.id }}: {{ s.input | upper }}</li>{% endfor %}"}

    def page() -> str:
        env = Environment(loader=DictLoader(source), bytecode_cache=_bytecode_cache())
        return env.get_template("page.html").render(samples=_suite().samples)

    fresh = page()  # compiled and stored
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("_jinja2-cache")]
    (entry,) = list(folder.iterdir())
    assert page() == fresh  # from the stored bytecode
    entry.write_bytes(b"j2" + bytes(40))  # damaged
    assert page() == fresh
    entry.unlink()

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_space)
    assert page() == fresh and list(folder.iterdir()) == []
