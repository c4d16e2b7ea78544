"""The OpenAPI document is valid 3.1 and matches the routes the app serves."""
from __future__ import annotations

import re

from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from comptoir.kernel.web.app import create_app


def test_openapi_is_valid_and_matches_routes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    documented = {(m.upper(), path) for path, item in doc["paths"].items() for m in item}
    served = {(m, r.path) for r in client.app.routes if isinstance(r, Route)  # type: ignore[attr-defined]
              and r.path.startswith("/api/") for m in (r.methods or ()) if m != "HEAD"}
    assert documented == served
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["operationId"]
            assert "4XX" in op["responses"], (method, path)
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"])
            if method == "get" and any(p["name"] == "limit" for p in op["parameters"]):
                ok = op["responses"]["200"]["content"]["application/json"]["schema"]
                assert "next_offset" in ok["properties"], path  # every list is paginated
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_docs_page_lists_every_operation(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    html = client.get("/docs").text
    for item in doc["paths"].values():
        for op in item.values():
            assert f'id="{op["operationId"]}"' in html


def test_app_builds_without_oidc(shop: object) -> None:
    app = create_app(shop, start_jobs=False)  # type: ignore[arg-type]
    assert app.state.oidc_client is None
