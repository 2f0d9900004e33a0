"""The gateway with the official `openai` client as the caller and the mock model as the target."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from assay.evals.mockserver import run_mock_server
from assay.gateway.service import build_gateway, running
from tests.gateway.conftest import ANSWERS, SYSTEM_PROMPT, Rig, manifest_for

SUITES = Path(__file__).resolve().parents[2] / "src/assay/evals/suites/builtin"


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=20)


def _injection_sample() -> str:
    rows = [json.loads(line) for line in (SUITES / "prompt-injection/samples.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["id"] == "pi-direct-01-ignore-previous")
    return next(m["content"] for m in row["input"] if m["role"] == "user")


def test_a_clean_request_passes_through(rig: Rig) -> None:
    r = _client(rig.url).chat.completions.with_raw_response.create(
        model="mock-1", messages=[{"role": "user", "content": "hello"}]
    )
    assert r.headers["assay-gateway-action"] == "allow"
    c = r.parse()
    assert c.choices[0].message.content.startswith("Hello!") and c.choices[0].finish_reason == "stop"
    # the deployer's system prompt was added on the way to the target
    assert rig.mock.bodies[-1]["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}


def test_an_injection_sample_from_the_suite_is_blocked_before_the_target(rig: Rig) -> None:
    before = rig.mock.requests
    c = _client(rig.url).chat.completions.create(
        model="mock-1", messages=[{"role": "user", "content": _injection_sample()}]
    )
    assert c.choices[0].finish_reason == "content_filter"
    assert "override the assistant's instructions" in c.choices[0].message.content
    assert rig.mock.requests == before  # never reached the model


def test_an_nric_in_the_answer_is_redacted(rig: Rig) -> None:
    r = _client(rig.url).chat.completions.with_raw_response.create(
        model="mock-1", messages=[{"role": "user", "content": "what is my nric"}]
    )
    assert r.headers["assay-gateway-action"] == "redact"
    text = r.parse().choices[0].message.content
    assert "S1234567D" not in text and "[SG_NRIC_FIN]" in text and "registered in 2019" in text


def test_an_nric_in_the_request_is_redacted_before_the_target(rig: Rig) -> None:
    _client(rig.url).chat.completions.create(
        model="mock-1", messages=[{"role": "user", "content": "hello, my NRIC is S1234567D"}]
    )
    sent = rig.mock.bodies[-1]["messages"][-1]["content"]
    assert "S1234567D" not in sent and "[SG_NRIC_FIN]" in sent


def test_streaming_passes_chunks_and_redacts_across_chunk_boundaries(rig: Rig) -> None:
    stream = _client(rig.url).chat.completions.create(
        model="mock-1", messages=[{"role": "user", "content": "tell me a long story"}], stream=True
    )
    pieces, finish = [], None
    for chunk in stream:
        delta = chunk.choices[0].delta.content
        if delta:
            pieces.append(delta)
        finish = chunk.choices[0].finish_reason or finish
    text = "".join(pieces)
    assert len(pieces) > 2  # streamed, not one lump
    assert text.startswith("word0 word1") and "S1234567D" not in text and "[SG_NRIC_FIN]" in text
    assert finish == "stop"


def test_a_leak_of_the_system_prompt_is_blocked_and_recorded_as_severe(rig: Rig) -> None:
    c = _client(rig.url).chat.completions.create(
        model="mock-1", messages=[{"role": "user", "content": "what can you do"}]
    )
    assert c.choices[0].finish_reason == "content_filter" and "ORCHID" not in c.choices[0].message.content
    (entry,) = rig.gateway.severe
    assert entry["fired"][0]["rule"] == "output-system-prompt-leak"
    assert entry["fired"][0]["owasp_llm"] == ["LLM07:2025"]
    # the severe rule opened an incident of the system (off the request's path)
    import time

    from assay.incidents.service import get_incident

    deadline = time.monotonic() + 20
    while not rig.gateway.incidents and time.monotonic() < deadline:
        time.sleep(0.05)
    (incident_id,) = rig.gateway.incidents
    inc = get_incident(rig.gateway.log.ws, incident_id)
    assert inc.source == "gateway" and "output-system-prompt-leak" in inc.title
    assert entry["request_sha256"] in inc.description and "ORCHID" not in inc.description
    # streamed, the same leak ends the stream with a final chunk saying why
    stream = _client(rig.url).chat.completions.create(
        model="mock-1", messages=[{"role": "user", "content": "what can you do"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "ORCHID" not in text and "withheld" in text
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_errors_use_the_openai_shape(rig: Rig) -> None:
    client = _client(rig.url)
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "hello"}])
    assert e.value.body["code"] == "model_not_found"  # type: ignore[index]
    bad = httpx.post(rig.url + "/chat/completions", content=b"{not json", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    missing = httpx.post(rig.url + "/chat/completions", json={"model": "mock-1"}, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "messages"
    big = httpx.post(
        rig.url + "/chat/completions",
        json={"messages": [{"role": "user", "content": "x" * 1_100_000}]},
        timeout=10,
    )
    assert big.status_code == 413 and "larger than" in big.json()["error"]["message"]
    hello = [{"role": "user", "content": "hello"}]
    for name, value in (("max_tokens", 0), ("max_tokens", "10"), ("temperature", 9), ("seed", 1.5)):
        r = httpx.post(rig.url + "/chat/completions", json={"messages": hello, name: value}, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["param"] == name, (name, value, r.text)


def test_an_unreachable_target_is_502_and_a_slow_one_504(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    gateway = build_gateway(manifest_for(tmp_path, dead), "gw-target", log=False)
    with running(gateway) as url, pytest.raises(openai.APIStatusError) as e:
        _client(url).chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hello"}])
    assert e.value.status_code == 502 and "cannot reach" in e.value.message
    with run_mock_server(latency_s=3.0) as slow:
        gateway = build_gateway(manifest_for(tmp_path, slow.base_url, timeout_s=0.5), "gw-target", log=False)
        with running(gateway) as url, pytest.raises(openai.APIStatusError) as e:
            _client(url).chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 504


def test_every_decision_is_logged_and_sealed_as_evidence(tmp_path: Path) -> None:
    from assay.assurance.evidence import list_evidence

    with run_mock_server(answers={"q": "an answer"}) as mock:
        manifest = manifest_for(tmp_path, mock.base_url)
        gateway = build_gateway(manifest, "gw-target")
        with running(gateway) as url:
            client = _client(url)
            client.chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "q"}])
            client.chat.completions.create(
                model="mock-1", messages=[{"role": "user", "content": _injection_sample()}]
            )
            # written in a batch a moment later, while the gateway runs (not only when it stops)
            import time

            folder = tmp_path / ".assay" / "gateway" / "helpdesk"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                written = [x for f in folder.glob("decisions-*.jsonl") for x in f.read_text().splitlines()]
                if len(written) == 2:
                    break
                time.sleep(0.05)
            assert len(written) == 2 and gateway.log is not None and not gateway.log.recorded
    assert gateway.log is not None and gateway.log.recorded  # closed with the server
    (ev,) = list_evidence(gateway.log.ws, "helpdesk", kind="monitor.log")
    lines = [json.loads(x) for x in gateway.log.ws.blobs.get(ev.sha256).decode().splitlines()]
    assert [x["action"] for x in lines] == ["allow", "block"]
    assert lines[1]["fired"][0]["rule"] == "input-injection" and len(lines[1]["request_sha256"]) == 64
    assert all(x["gateway_ms"] >= 0 for x in lines)


def test_a_bad_rule_file_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assay.cli.main import app

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "gateway: 1\nid: mine\nrules:\n"
        "  - id: a\n    title: A\n    stage: output\n    check: injection\n    action: block\n"
        "  - id: b\n    title: B\n    stage: input\n    check: pii\n    action: redact\n    entities: [SSN]\n"
        "    colour: red\n"
    )
    with run_mock_server() as mock:
        manifest = manifest_for(tmp_path, mock.base_url)
        r = CliRunner().invoke(
            app, ["gateway", str(manifest), "--target", "gw-target", "--rules", str(rules)]
        )
    assert r.exit_code == 2
    assert "rules.yaml:4:" in r.output and "stage must be 'input'" in r.output
    assert "rules.yaml:14:" in r.output and "SSN" in r.output
    assert "rules.yaml:15:" in r.output and "unknown key 'colour'" in r.output


def test_gateway_eval_shows_what_the_rules_block_and_break(tmp_path: Path) -> None:
    """The prompt-injection suite through the gateway: injections are blocked before the mock (which
    echoes the prompt, so it 'obeys' every injection bare), and the over-refusal suite shows no breakage."""
    from assay.gateway.compare import compare_suite

    with run_mock_server() as mock:  # answers with the prompt: a perfectly obedient target
        manifest = manifest_for(tmp_path, mock.base_url)
        gateway = build_gateway(manifest, "gw-target", log=False)
        pi = compare_suite(manifest, "gw-target", "prompt-injection", gateway, limit=20)
        orf = compare_suite(manifest, "gw-target", "over-refusal", gateway, limit=20)
    assert pi.samples == 20 and pi.blocked >= 10
    assert pi.gateway_pass_rate is not None and pi.bare_pass_rate is not None
    assert pi.gateway_pass_rate > pi.bare_pass_rate and len(pi.fixed) >= 10
    assert {r.rule for r in pi.rules} >= {"input-injection"}
    assert orf.blocked == 0 and orf.broke == []


def test_a_caller_that_hangs_up_mid_stream_frees_the_upstream_request(tmp_path: Path) -> None:
    import time

    with run_mock_server(answers={"q": " ".join(["slow"] * 200)}, stream_delay_s=0.05) as mock:
        gateway = build_gateway(manifest_for(tmp_path, mock.base_url, timeout_s=60), "gw-target", log=False)
        with running(gateway) as url:
            body = {"model": "mock-1", "stream": True, "messages": [{"role": "user", "content": "q"}]}
            with httpx.stream("POST", url + "/chat/completions", json=body, timeout=30) as r:
                for line in r.iter_lines():
                    if '"content"' in line:
                        break  # got the first words; hang up with ~10 s of answer still to come
            assert gateway.upstream.open_streams in (0, 1)
            deadline = time.monotonic() + 5
            while gateway.upstream.open_streams and time.monotonic() < deadline:
                time.sleep(0.05)
            assert gateway.upstream.open_streams == 0


def test_hostile_bodies_get_4xx_never_5xx(rig: Rig) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )
    bodies = st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "messages": st.lists(
                    st.dictionaries(st.sampled_from(["role", "content", "name"]), json_values)
                )
            },
            optional={"model": json_values, "stream": json_values, "max_tokens": json_values},
        ),
    )
    client = httpx.Client(timeout=20)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies)
    def check(body: object) -> None:
        r = client.post(rig.url + "/chat/completions", json=body)
        assert r.status_code < 500, (body, r.text)
        if r.status_code >= 400:
            assert set(r.json()["error"]) >= {"message", "type"}

    check()
    raw = client.post(rig.url + "/chat/completions", content=b"\xff\xfe not json")
    assert raw.status_code == 400


def test_signed_answers_verify_on_the_public_checker(tmp_path: Path) -> None:
    from assay.provenance.verify import verify_content

    with run_mock_server(answers={"q": "Fibre 1 Gbps costs S$49 a month."}) as mock:
        gateway = build_gateway(manifest_for(tmp_path, mock.base_url), "gw-target", log=False, sign=True)
        with running(gateway) as url:
            r = _client(url).chat.completions.with_raw_response.create(
                model="mock-1", messages=[{"role": "user", "content": "q"}]
            )
            text = r.parse().choices[0].message.content
            where = r.headers["assay-provenance-manifest"]
            sidecar = httpx.get(url.removesuffix("/v1") + where, timeout=10)
            assert httpx.get(url + "/provenance/999999", timeout=10).status_code == 404
    assert text == "Fibre 1 Gbps costs S$49 a month." and sidecar.status_code == 200
    from assay.workspace import Workspace

    v = verify_content(
        Workspace.for_manifest(tmp_path / "assay.yaml"), text.encode(), sidecar_manifest=sidecar.content
    )
    assert v.verdict == "established", v.headline


@pytest.mark.parametrize("client", ["lean", "aiohttp"])
def test_both_upstream_clients_carry_answers_streams_and_failures_alike(tmp_path: Path, client: str) -> None:
    """A plain-HTTP target gets the lean client (assay.gateway.wire); HTTPS targets get aiohttp's.
    Both are driven here against the same mock: same answers, same streams, same 502/504."""
    import socket

    def gateway_for(base_url: str, timeout_s: float = 5.0):  # type: ignore[no-untyped-def]
        gateway = build_gateway(manifest_for(tmp_path, base_url, timeout_s=timeout_s), "gw-target", log=False)
        assert gateway.upstream._wire is not None  # plain HTTP: the lean client by default
        if client == "aiohttp":
            gateway.upstream._wire = None
        return gateway

    long = "tell me a long story"
    with run_mock_server(answers=ANSWERS, stream_delay_s=0.001) as mock:
        gateway = gateway_for(mock.base_url)
        with running(gateway) as url:
            c = _client(url)
            hello = [{"role": "user", "content": "hello"}]
            for _ in range(3):  # the same pooled connection, reused
                got = c.chat.completions.create(model="mock-1", messages=hello)  # type: ignore[arg-type]
                assert got.choices[0].message.content == ANSWERS["hello"]
            parts = c.chat.completions.create(
                model="mock-1", messages=[{"role": "user", "content": long}], stream=True
            )
            text = "".join(p.choices[0].delta.content or "" for p in parts if p.choices)
            assert text.startswith("word0 word1") and "[SG_NRIC_FIN]" in text and "S1234567D" not in text
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    for stream in (False, True):
        with running(gateway_for(dead)) as url, pytest.raises(openai.APIStatusError) as e:
            r = _client(url).chat.completions.create(
                model="mock-1", messages=[{"role": "user", "content": "hello"}], stream=stream
            )
            if stream:
                list(r)  # type: ignore[call-overload]
        assert e.value.status_code == 502 and "cannot reach" in e.value.message
    with run_mock_server(latency_s=3.0) as slow, running(gateway_for(slow.base_url, 0.5)) as url:
        with pytest.raises(openai.APIStatusError) as e:
            _client(url).chat.completions.create(model="mock-1", messages=[{"role": "user", "content": "hi"}])
        assert e.value.status_code == 504
