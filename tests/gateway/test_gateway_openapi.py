"""Schemathesis over the gateway's OpenAPI document, against a real gateway on 127.0.0.1 with the
project's mock model as its target.

Every check schemathesis has runs (as in tests/api/test_openapi_fuzz.py): no server errors, documented
status codes, content types, headers and bodies, schema-valid requests accepted and schema-violating
ones refused. The document is built at collection time the way the gateway builds it (the template
with `model` narrowed to the ids served); a separate test checks it is the one the live gateway
publishes at /openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from assay.evals.mockserver import run_mock_server
from assay.gateway.server import Gateway
from assay.gateway.service import build_gateway, running
from tests.gateway.conftest import manifest_for

load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())
MODELS = ["gw-target", "mock-1"]  # the conftest manifest's target id and model


def _document() -> dict:  # type: ignore[type-arg]
    import copy

    from assay.gateway.server import _openapi_template

    doc = copy.deepcopy(_openapi_template())
    doc["components"]["schemas"]["ChatRequest"]["properties"]["model"]["enum"] = [*MODELS, None]
    return doc


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    tmp = tmp_path_factory.mktemp("gw-openapi")
    with run_mock_server() as mock:
        gateway = build_gateway(manifest_for(tmp, mock.base_url), "gw-target", log=False, incidents=False)
        with running(gateway) as url:
            yield gateway, url.removesuffix("/v1")


def test_the_live_document_is_the_one_fuzzed(live: tuple[Gateway, str]) -> None:
    gateway, root = live
    served = httpx.get(f"{root}/openapi.json", timeout=10).json()
    assert served == _document() == gateway.openapi()
    assert sorted(gateway.models) == MODELS


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    case: schemathesis.Case, live: tuple[Gateway, str]
) -> None:
    _, root = live
    case.call_and_validate(base_url=root, checks=ALL_CHECKS)


def test_the_document_names_every_route(live: tuple[Gateway, str]) -> None:
    gateway, _ = live
    routes = {
        (r.method, r.resource.canonical)
        for r in gateway.app().router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    documented = {(m.upper(), p) for p, ops in _document()["paths"].items() for m in ops}
    assert routes - {("GET", "/openapi.json")} == documented
