"""A deeply nested JSON body is refused with a 4xx, quickly, and the server keeps serving (issue #16)."""

from __future__ import annotations

from assay.tokens import Role
from tests.api.conftest import Api


def test_a_deep_json_body_is_refused_and_the_server_keeps_serving(api: Api) -> None:
    headers = {**api.auth(Role.admin), "Content-Type": "application/json"}
    deep = "[" * 400_000 + "]" * 400_000  # under the 2 MiB cap, far past any sane depth
    r = api.client.post("/api/v1/systems", content=deep, headers=headers)
    assert r.status_code == 400
    nested = '{"system": ' + '{"a": ' * 5000 + "1" + "}" * 5001
    r = api.client.post("/api/v1/systems", content=nested, headers=headers)
    assert r.status_code == 400
    assert api.client.get("/healthz").status_code == 200
