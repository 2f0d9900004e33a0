"""`assay gateway eval`: a suite run through the gateway beside the same suite on the bare target.

A deployer sees the cost of each rule: what the gateway blocked, what it let through that still
failed, what it fixed (failed bare, passed behind the gateway) and what it broke (passed bare,
failed behind it — over-blocking, which the over-refusal suite shows best). Both runs are ordinary,
signed evaluation runs; the comparison is written beside them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from assay.evals.models import SampleRecord
from assay.gateway.server import Gateway


class RuleCount(BaseModel):
    rule: str
    fired: int


class SuiteComparison(BaseModel):
    suite_id: str
    target: str
    samples: int
    blocked: int = Field(description="samples the gateway answered with a rule's message")
    bare_pass_rate: float | None
    gateway_pass_rate: float | None
    fixed: list[str] = Field(default_factory=list, description="failed bare, passed through the gateway")
    broke: list[str] = Field(default_factory=list, description="passed bare, failed through the gateway")
    let_through: list[str] = Field(default_factory=list, description="failed both ways, not blocked")
    rules: list[RuleCount] = Field(default_factory=list)
    bare_run: str = ""
    gateway_run: str = ""


def _passed(r: SampleRecord, scorer: str | None) -> bool | None:
    for s in r.scores:
        if (scorer is None or s.scorer == scorer) and s.passed is not None and s.error is None:
            return s.passed
    return None


def _records(folder: str) -> dict[str, SampleRecord]:
    from assay.evals.runlog import LOG, read_log

    return {f"{r.sample_id}#{r.epoch}": r for r in read_log(Path(folder) / LOG)}


def compare_suite(
    manifest_path: Path,
    target_id: str,
    suite: str,
    gateway: Gateway,
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> SuiteComparison:
    from assay.evals.runner import RunOptions
    from assay.evals.service import evaluate
    from assay.gateway.service import running
    from assay.manifest import load_manifest
    from assay.workspace import Workspace

    manifest = load_manifest(manifest_path)
    ws = Workspace.for_manifest(manifest_path)
    spec = next(t for t in manifest.targets if t.id == target_id)
    options = RunOptions(limit=limit, sample=sample, seed=seed, use_cache=False)
    bare = asyncio.run(
        evaluate(ws, suite, target_id, manifest=manifest, base_dir=manifest_path.parent, options=options)
    )
    gateway.decisions.clear()
    with running(gateway) as url:
        proxy = spec.model_copy(
            update={
                "id": f"{target_id}-via-gateway",
                "kind": "openai",
                "base_url": url,
                "model": gateway.upstream.model,
                "system_prompt": None,  # the gateway's target adds it, as in production
                "api_key_env": None,
                "headers": {},
                "retries": 0,
            }
        )
        with_proxy = manifest.model_copy(update={"targets": [*manifest.targets, proxy]})
        through = asyncio.run(
            evaluate(ws, suite, proxy.id, manifest=with_proxy, base_dir=manifest_path.parent, options=options)
        )
    a, b = _records(bare.folder), _records(through.folder)
    scorer = bare.summary.metrics.get("primary_scorer")
    messages = {r.message or gateway.guard.rules.block_message for r in gateway.guard.rules.rules}
    messages.add(gateway.guard.rules.block_message)
    fixed, broke, through_fail = [], [], []
    blocked = 0
    n_a = n_b = p_a = p_b = 0
    for key, rb in b.items():
        if (rb.output or "").strip() in messages:
            blocked += 1
        ra = a.get(key)
        pa, pb = (_passed(ra, scorer) if ra else None), _passed(rb, scorer)
        if pa is not None:
            n_a, p_a = n_a + 1, p_a + int(pa)
        if pb is not None:
            n_b, p_b = n_b + 1, p_b + int(pb)
        if pa is False and pb is True:
            fixed.append(rb.sample_id)
        elif pa is True and pb is False:
            broke.append(rb.sample_id)
        elif pa is False and pb is False and (rb.output or "").strip() not in messages:
            through_fail.append(rb.sample_id)
    fired: Counter[str] = Counter(f["rule"] for d in gateway.decisions for f in d.get("fired", []))
    return SuiteComparison(
        suite_id=bare.summary.suite_id,
        target=target_id,
        samples=len(b),
        blocked=blocked,
        bare_pass_rate=p_a / n_a if n_a else None,
        gateway_pass_rate=p_b / n_b if n_b else None,
        fixed=sorted(fixed),
        broke=sorted(broke),
        let_through=sorted(through_fail),
        rules=[RuleCount(rule=k, fired=v) for k, v in fired.most_common()],
        bare_run=bare.summary.run_id,
        gateway_run=through.summary.run_id,
    )
