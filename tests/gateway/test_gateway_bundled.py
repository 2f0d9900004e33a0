"""End to end with the real bundled model behind the gateway and the official openai client in front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from tests.gateway.test_gateway import _injection_sample

RULES = """\
gateway: 1
id: bundled-e2e
rules:
  - {id: input-injection, title: Injection, stage: input, check: injection, action: block,
     owasp_llm: ["LLM01:2025"]}
  - {id: output-pii, title: Personal data in answers, stage: output, check: pii, action: redact,
     severe: true, severity: high, owasp_llm: ["LLM02:2025"], atlas: [AML.T0057]}
"""


@pytest.mark.slow
def test_bundled_model_behind_the_gateway(tmp_path: Path, bundled_model: Any) -> None:
    from assay.gateway.service import build_gateway, running
    from tests.conftest import EXAMPLE

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    gateway = build_gateway(EXAMPLE, "bundled", rules_path=rules, log=False)
    gateway.upstream.use_model(bundled_model)
    with running(gateway) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=300)
        blocked = client.chat.completions.create(
            model="SmolLM2-135M-Instruct", messages=[{"role": "user", "content": _injection_sample()}]
        )
        assert blocked.choices[0].finish_reason == "content_filter"
        answer = client.chat.completions.create(
            model="SmolLM2-135M-Instruct",
            messages=[
                {
                    "role": "user",
                    "content": "Please repeat this sentence exactly: Customer S1234567D is verified.",
                }
            ],
            max_tokens=30,
            temperature=0,
        )
        text = answer.choices[0].message.content
        assert "S1234567D" not in text and "[SG_NRIC_FIN]" in text
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    (severe,) = gateway.severe
    assert severe["fired"][0]["rule"] == "output-pii" and severe["fired"][0]["severe"] is True


@pytest.mark.slow
def test_watermarked_answers_verify_on_the_public_checker(tmp_path: Path, bundled_model: Any) -> None:
    """--watermark: the bundled model writes through the gateway with the keyed watermark in its
    logits, each answer that leaves is recorded in the ledger, and the verifier behind /verify finds
    the mark in it, plain and streamed."""
    from assay.gateway.service import GatewaySetupError, build_gateway, running
    from assay.provenance.ledger import get_entry
    from assay.provenance.verify import verify_content
    from assay.workspace import Workspace
    from tests.conftest import example_text

    manifest = tmp_path / "assay.yaml"
    # the manifest's watermark settings are the ones used: a strong bias, so a short answer carries it
    manifest.write_text(
        example_text().replace(
            "policy_pack:", "provenance:\n  text_watermark: {delta: 4.0}\n\npolicy_pack:", 1
        )
    )
    with pytest.raises(GatewaySetupError, match="kind bundled"):  # nothing else can carry the mark
        other = manifest.read_text().replace(
            "targets:\n",
            "targets:\n  - {id: api, kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m}\n",
            1,
        )
        (tmp_path / "other.yaml").write_text(other)
        build_gateway(tmp_path / "other.yaml", "api", watermark=True)
    gateway = build_gateway(manifest, "bundled", log=False, watermark=True)
    gateway.upstream.use_model(bundled_model)
    ask = {
        "model": "SmolLM2-135M-Instruct",
        "messages": [
            {
                "role": "user",
                "content": "Explain in a short paragraph why my home Wi-Fi might be slow in the evening.",
            }
        ],
        "max_tokens": 40,  # prose long enough to carry the mark (a list of short items may not)
        "temperature": 0.7,
        "seed": 3,  # passed to the model, so each run writes the same answers
    }
    with running(gateway) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=300)
        raw = client.chat.completions.with_raw_response.create(**ask)
        plain = raw.parse().choices[0].message.content
        ledger_id = int(raw.headers["assay-provenance-ledger"])
        again = {**ask, "seed": 1, "stream": True}
        streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**again))
    ws = Workspace.for_manifest(manifest)
    assert plain != streamed
    for text in (plain, streamed):
        v = verify_content(ws, text.encode(), filename="answer.txt")
        assert v.verdict == "established", (v.headline, text)
        assert v.watermark is not None and v.watermark.detected is True
        exact = [h.ledger_id for h in v.ledger if h.match == "exact" and h.method == "kgw-watermark"]
        assert exact, v.ledger
        if text == plain:
            assert exact == [ledger_id]
    entry = get_entry(ws, ledger_id)
    assert entry is not None and entry.params["delta"] == 4.0 and entry.meta["source"] == "gateway"
