"""Property-based: every operation in the OpenAPI document, fed generated data with an admin token.

Schemathesis builds requests from the schema and sends them to a real server, with every check it has:
documented status codes, content types, headers and bodies, no server errors, schema-valid requests
accepted (2xx, or 401/403/404/409/429), schema-violating ones refused. Any finding fails the test.

A JSON schema cannot say that a reference points at something declared elsewhere (a component's provider
must be one of the system's parties), so `consistent_case` makes positive cases keep those rules; every
other rule must be in the schema. The schema is taken from the app at collection time (schemathesis 4's
fixture-based lazy loading does not run under pytest 9), and a separate test checks it is the very
document the live server publishes at /openapi.json.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from assay.api.app import create_app
from assay.api.limits import KeepQuota
from assay.assurance.evidence import record_evidence
from assay.manifest import load_manifest
from assay.registry.service import register_system
from assay.tokens import Role, create_token
from assay.workspace import Workspace
from tests.api.server import LiveServer
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.slow

load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())

# Building the app opens nothing: the database is touched only when the server starts.
OPENAPI = create_app(Workspace(Path("/nonexistent/.assay"))).openapi()
# The coverage phase sends about 1,500 boundary cases for the whole manifest (POST /systems) and would
# triple the run; that operation gets the examples and fuzzing phases, every other one all phases.
CONFIG = SchemathesisConfig.from_dict(
    {"operations": [{"include-name": "POST /api/v1/systems", "phases": {"coverage": {"enabled": False}}}]}
)
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)

SYSTEM = "helpdesk"
EXAMPLE_MANIFEST = load_manifest(EXAMPLE)
PARTIES = [p.id for p in EXAMPLE_MANIFEST.parties]
COMPONENTS = [c.id for c in EXAMPLE_MANIFEST.components]


def _consistent_manifest(body: dict[str, Any]) -> dict[str, Any]:
    """The generated manifest with unique ids and every reference pointing at something declared."""
    m = copy.deepcopy(body)
    for section, prefix in (("parties", "p"), ("components", "c"), ("datasets", "d"), ("targets", "t")):
        for i, item in enumerate(m.get(section) or []):
            item["id"] = f"{prefix}{i}"
    party = "p0"
    for c in m.get("components") or []:
        c["provider"], c["based_on"] = party, None
    if m.get("components"):
        for h in m.get("control_points") or []:
            h["holder"], h["component"] = party, "c0"
    else:
        m["control_points"] = []
    for d in m.get("datasets") or []:
        d["provider"], d["used_by"] = party, []
    for t in m.get("targets") or []:
        t["component"] = None
    for s in m.get("suites") or []:
        s["targets"] = []
    for r in m.get("redteam") or []:
        r["targets"], r["attacker"], r["judge"] = [], None, None
    net = m.get("safety_net") or {}
    for c in net.get("commitments") or []:
        c["from"], c["to"] = party, party
        if c.get("starts") and c.get("expires") and c["expires"] < c["starts"]:
            c["starts"] = None
    for note in net.get("liability") or []:
        note["party"] = party
    for pol in net.get("insurance") or []:
        pol["holder"] = party
        if pol.get("starts") and pol["expires"] < pol["starts"]:
            pol["starts"] = None
    for o in (m.get("responsibility") or {}).get("overrides") or []:
        o["accountable"], o["responsible"] = party, [party]
    return m


@schema.hook
def map_case(_ctx: Any, case: schemathesis.Case) -> schemathesis.Case:
    """Positive cases obey the cross-references; writes to one system go to the registered example."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return case
    path, method = case.operation.path, case.method.upper()
    if method != "POST":
        return case
    if path == "/api/v1/systems":
        case.body = _consistent_manifest(case.body)
    elif path == "/api/v1/incidents":
        # a report names a registered system, and a date cannot be in the future (not in a schema)
        body = {**case.body, "system": SYSTEM, "component": None}
        for name in ("occurred", "detected", "became_aware"):
            body[name] = None
        case.body = body
    elif path.startswith("/api/v1/systems/{slug}/"):
        case.path_parameters = {**(case.path_parameters or {}), "slug": SYSTEM}
        body = dict(case.body)
        if path.endswith("/components"):
            body["provider"], body["based_on"] = PARTIES[0], None
        elif path.endswith("/control-points"):
            body["holder"], body["component"] = PARTIES[0], COMPONENTS[0]
        elif path.endswith("/overrides"):
            body["accountable"], body["responsible"] = PARTIES[0], [PARTIES[0]]
        case.body = body
    return case


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    home = tmp_path_factory.mktemp("fuzz") / ".assay"
    ws = Workspace(home, f"sqlite:///{home.parent / 'assay.db'}")
    register_system(ws, EXAMPLE_MANIFEST)
    record_evidence(ws, b'{"fuzz": true}', kind="registry.raci", system=SYSTEM, name="raci.json")
    secret = create_token(ws, "fuzzer", Role.admin).secret
    # a quota the run cannot reach, so a kept verification is never refused for a reason outside the schema
    with LiveServer(ws, keep_quota=KeepQuota(count=1_000_000, bytes=10**12)) as server:
        yield server, secret
    ws.close()


def test_the_live_schema_is_the_one_fuzzed(fuzz_server: tuple[LiveServer, str]) -> None:
    server, _ = fuzz_server
    assert httpx.get(f"{server.url}/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_check_passes_on_every_operation(
    case: schemathesis.Case, fuzz_server: tuple[LiveServer, str]
) -> None:
    server, secret = fuzz_server
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, checks=ALL_CHECKS
    )
