"""The `python` target: sync and async callables, imported from beside the manifest."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from assay.evals.models import Message
from assay.evals.targets import build_target
from assay.evals.targets.base import GenerationParams, TargetError, TargetUnavailable
from assay.evals.targets.python_callable import PythonTarget
from assay.manifest.schema import Target as TargetSpec

APP = """
import asyncio
import threading

MAIN_THREAD = threading.main_thread().ident

def sync_app(messages, params):
    on_worker = threading.get_ident() != MAIN_THREAD
    return f"sync:{messages[-1]['content']}:{params['max_tokens']}:{params.get('flavour')}:{on_worker}"

async def async_app(messages, params):
    await asyncio.sleep(0)
    return {"text": "async:" + messages[0]["role"], "input_tokens": 7, "output_tokens": 2}

def broken(messages, params):
    raise RuntimeError("the app fell over")

def wrong_type(messages, params):
    return 42

class Bot:
    @staticmethod
    def reply(messages, params):
        return "nested"
"""

HELLO = [Message(role="user", content="hi")]


@pytest.fixture
def app_dir(tmp_path: Path) -> tuple[Path, str]:
    name = f"assay_test_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    return tmp_path, name


def _call(target: PythonTarget, messages: list[Message] = HELLO, params: GenerationParams | None = None):  # noqa: ANN201
    return asyncio.run(target.generate(messages, params or GenerationParams()))


def test_sync_callable_runs_in_a_thread(app_dir: tuple[Path, str]) -> None:
    folder, name = app_dir
    spec = TargetSpec(id="app", kind="python", callable=f"{name}:sync_app", params={"flavour": "mint"})
    target = build_target(spec, base_dir=folder)
    assert isinstance(target, PythonTarget)
    done = _call(target, params=GenerationParams(max_tokens=12))
    assert done.text == "sync:hi:12:mint:True"
    assert threading.current_thread() is threading.main_thread()


def test_async_callable_with_tokens(app_dir: tuple[Path, str]) -> None:
    folder, name = app_dir
    target = PythonTarget("app", f"{name}:async_app", base_dir=folder, system_prompt="sys")
    done = _call(target)
    assert done.text == "async:system"  # the target's system prompt came first
    assert done.input_tokens == 7 and done.output_tokens == 2 and done.latency_s >= 0


def test_nested_attribute(app_dir: tuple[Path, str]) -> None:
    folder, name = app_dir
    assert _call(PythonTarget("app", f"{name}:Bot.reply", base_dir=folder)).text == "nested"


def test_errors_become_target_errors(app_dir: tuple[Path, str]) -> None:
    folder, name = app_dir
    with pytest.raises(TargetError, match="RuntimeError: the app fell over"):
        _call(PythonTarget("app", f"{name}:broken", base_dir=folder))
    with pytest.raises(TargetError, match="returned int"):
        _call(PythonTarget("app", f"{name}:wrong_type", base_dir=folder))


def test_import_error_names_the_module() -> None:
    target = PythonTarget("app", "assay_no_such_module_xyz:run")
    with pytest.raises(TargetUnavailable, match="assay_no_such_module_xyz"):
        asyncio.run(target.preflight())
    with pytest.raises(TargetError, match="assay_no_such_module_xyz"):
        _call(target)


def test_missing_function_is_named(app_dir: tuple[Path, str]) -> None:
    folder, name = app_dir
    with pytest.raises(TargetUnavailable, match="no_such_fn"):
        asyncio.run(PythonTarget("app", f"{name}:no_such_fn", base_dir=folder).preflight())


def test_timeout(app_dir: tuple[Path, str]) -> None:
    async def slow(messages: list[dict], params: dict) -> str:
        await asyncio.sleep(5)
        return "late"

    target = PythonTarget("slow", "inline:slow", fn=slow, timeout_s=0.1)
    with pytest.raises(TargetError, match="longer than 0.1 s"):
        _call(target)
