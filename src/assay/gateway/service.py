"""Build a gateway from a manifest, and serve it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.gateway.engine import Guard
from assay.gateway.log import DecisionLog
from assay.gateway.rules import GatewayRules, load_rules
from assay.gateway.server import Gateway
from assay.gateway.upstream import Upstream


class GatewaySetupError(ValueError):
    """The manifest, target or rule file cannot make a gateway; the message says which and why."""


def build_gateway(
    manifest_path: Path,
    target_id: str,
    *,
    rules: GatewayRules | None = None,
    rules_path: Path | None = None,
    log: bool = True,
    sign: bool = False,
    incidents: bool = True,
    worker: int | None = None,
    watermark: bool = False,
) -> Gateway:
    from assay.manifest import load_manifest
    from assay.workspace import Workspace

    manifest = load_manifest(manifest_path)
    spec = next((t for t in manifest.targets if t.id == target_id), None)
    if spec is None:
        known = ", ".join(t.id for t in manifest.targets) or "none"
        raise GatewaySetupError(f"--target: no target '{target_id}' in {manifest_path} (targets: {known})")
    kind = str(getattr(spec.kind, "value", spec.kind))
    if watermark and kind != "bundled":
        raise GatewaySetupError(
            f"--watermark: target '{target_id}' is of kind {kind}; the watermark is put in while the "
            "bundled model writes, so it needs a target of kind bundled (--sign marks any target's answers)"
        )
    rules = rules or load_rules(rules_path)
    guard = Guard(rules, spec.system_prompt)
    ws = Workspace.for_manifest(manifest_path)
    decision_log = DecisionLog(ws, manifest.system.id, worker=worker) if log else None
    signer = _signer(ws, manifest, spec) if sign else None
    upstream = Upstream(spec, manifest_path.parent)
    marker = _watermarker(ws, manifest) if watermark else None
    if marker is not None:
        upstream.logits_processors = [marker.processor]
    opener = _incident_opener(ws, manifest, manifest_path.parent, spec.component) if incidents else None
    return Gateway(
        guard,
        upstream,
        decision_log,
        system=manifest.system.id,
        signer=signer,
        on_severe=opener,
        watermark=marker,
    )


@dataclass
class Watermarker:
    """The keyed text watermark of the bundled target's answers: `processor` goes into the model's
    generation; `record(text, meta)` puts an answer that left the gateway in the provenance ledger."""

    key_id: str
    processor: Any
    record: Callable[[str, dict[str, Any]], int]


def _watermarker(ws, manifest) -> Watermarker:  # type: ignore[no-untyped-def]
    """The manifest's `provenance.text_watermark` settings (or the defaults) and its key (or the
    workspace's newest, created on first use, as `assay assess` does)."""
    from assay.provenance.keys import KeyNotFound, create_text_key, list_keys, load_text_key
    from assay.provenance.mark import record_watermarked_text
    from assay.provenance.text_watermark import WatermarkParams

    wm = manifest.provenance.text_watermark if manifest.provenance else None
    try:
        if wm is not None and wm.key_id:
            key = load_text_key(ws, wm.key_id)
        else:
            key = load_text_key(ws) if list_keys(ws) else create_text_key(ws)
    except KeyNotFound as exc:
        raise GatewaySetupError(f"--watermark: {exc}") from exc
    params = WatermarkParams(key_id=key.key_id)
    if wm is not None:
        params = WatermarkParams(
            gamma=wm.gamma, delta=wm.delta, context_width=wm.context_width, key_id=key.key_id
        )
    from assay.provenance.text_processor import WatermarkLogitsProcessor  # torch: only with --watermark

    system = manifest.system

    def record(text: str, meta: dict[str, Any]) -> int:
        return record_watermarked_text(
            ws,
            text,
            key_id=key.key_id,
            params=params,
            system=system.id,
            system_version=system.version,
            meta=meta,
        )

    return Watermarker(key.key_id, WatermarkLogitsProcessor(params, key), record)


def _incident_opener(ws, manifest, base_dir, component):  # type: ignore[no-untyped-def]
    """(decision entry) -> incident id: a severe rule's firing, reported as an incident of the system
    (the request's hash and the rules that fired; never the request or the answer themselves)."""
    from assay.incidents.models import IncidentReport
    from assay.incidents.service import report
    from assay.registry.service import register_system

    register_system(ws, manifest)  # the incident names the system; registering again changes nothing
    pack = None
    if manifest.policy_pack is not None:
        from assay.policy.loader import resolve_pack

        pack = resolve_pack(manifest.policy_pack, base_dir)

    def open_incident(entry: dict) -> str:  # type: ignore[type-arg]
        fired = [f for f in entry["fired"] if f["severe"]]
        worst = max(
            (f["severity"] for f in fired), key=["low", "medium", "high", "critical"].index, default="high"
        )
        rules = ", ".join(f"{f['rule']} ({f['detail']})" for f in fired)
        rep = IncidentReport(
            system=manifest.system.id,
            component=component,
            title=f"Gateway: severe rule {fired[0]['rule']} fired on target {entry['target']}",
            description=(
                f"The guardrail gateway's rule(s) {rules} fired on request {entry['request_id']} "
                f"(body sha256 {entry['request_sha256']}); action: {entry['action']}. OWASP LLM "
                f"{', '.join(sorted({i for f in fired for i in f['owasp_llm']})) or 'n/a'}; ATLAS "
                f"{', '.join(sorted({i for f in fired for i in f['atlas']})) or 'n/a'}."
            ),
            severity=worst,
            source="gateway",
        )
        return report(ws, rep, policy=pack, actor="gateway").id

    return open_incident


def _signer(ws, manifest, spec):  # type: ignore[no-untyped-def]
    """(text) -> (ledger id, sidecar manifest): sign each answer as the system's, with the target's model."""
    from assay.provenance.c2pa_keys import init_c2pa_chain
    from assay.provenance.mark import mark_text

    init_c2pa_chain(ws)  # kept if it exists
    model = spec.model or spec.id
    generator = (manifest.provenance.generator_name if manifest.provenance else None) or manifest.system.name

    def sign(text: str) -> tuple[int, bytes]:
        result, _, sidecar = mark_text(
            ws,
            text,
            system=manifest.system.id,
            system_version=manifest.system.version,
            model=model,
            generator=generator,
        )
        assert sidecar is not None
        return result.ledger_id, sidecar

    return sign


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (the `gateway` extra), since the event loop is a
    good part of the gateway's own CPU time per request; asyncio's otherwise, or when
    ASSAY_GATEWAY_UVLOOP=0 (to compare the two in bench/gateway.py)."""
    import os

    if os.environ.get("ASSAY_GATEWAY_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(gateway: Gateway, host: str = "127.0.0.1", port: int = 8787) -> None:
    """Serve until interrupted (the decision log is sealed as evidence on the way out)."""
    from aiohttp import web

    from assay.evals.mockserver import listen_socket

    sock = listen_socket(host, port)
    web.run_app(
        gateway.app(), sock=sock, print=None, access_log=None, handle_signals=True, loop=new_event_loop()
    )


def serve_workers(
    factory: Callable[[int], Gateway], workers: int, host: str = "127.0.0.1", port: int = 8787
) -> None:
    """Serve from `workers` processes that share one listening socket, so the gateway can use more
    than one core. Each process builds its own gateway (`factory(worker number)`): its own upstream
    pool, database connections and decision-log file (`decisions-…-wN.jsonl`, sealed as evidence when
    that process stops). SIGINT or SIGTERM to this process stops them all; a Ctrl-C in a terminal
    (SIGINT to the whole group) reaches the workers through this process only, once, so a second
    signal can never cut a worker's shutdown (and its log's sealing) short."""
    import os
    import signal

    from assay.evals.mockserver import listen_socket

    sock = listen_socket(host, port)
    children: list[int] = []
    for i in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child; tested through the CLI
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes a stop on as SIGTERM
                _serve_until_sigterm(factory(i), sock)
            except BaseException:  # noqa: BLE001 - reported, then the child ends
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for child in children:
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        with suppress(ChildProcessError):
            os.waitpid(child, 0)


def _serve_until_sigterm(gateway: Gateway, sock: object) -> None:  # pragma: no cover - in a worker
    """Serve on an inherited socket until SIGTERM, then shut down (the decision log is sealed)."""
    import signal

    from aiohttp import web

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    runner = web.AppRunner(gateway.app(), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())  # type: ignore[arg-type]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.run_until_complete(stop.wait())
    loop.remove_signal_handler(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    loop.run_until_complete(runner.cleanup())
    loop.close()


@contextmanager
def running(gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the gateway from a background thread for the block; yields its base URL (ending in /v1).

    Used by `assay gateway eval` (a suite runs through the gateway in-process) and by tests."""
    from aiohttp import web

    from assay.evals.mockserver import listen_socket

    sock = listen_socket(host, port)
    loop = new_event_loop()
    runner = web.AppRunner(gateway.app(), access_log=None)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="assay-gateway", daemon=True)
    thread.start()
    if not started.wait(15):
        raise RuntimeError("the gateway did not start")
    try:
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        sock.close()
