"""/openapi.json and a readable API reference rendered from it (no CDN, no JS)."""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from comptoir.kernel.web.pages import _ENV


async def openapi_json(request: Request) -> Response:
    return Response(request.app.state.openapi_bytes, media_type="application/json")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


async def api_docs(request: Request) -> Response:
    doc: dict[str, Any] = request.app.state.openapi
    comps = doc["components"]["schemas"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {})
            body_schema = next(iter(body.values()), {}).get("schema") if body else None
            ok = next((r for c, r in op["responses"].items() if c.startswith("2")), {})
            resp_schema = ok.get("content", {}).get("application/json", {}).get("schema")
            groups.setdefault(op["tags"][0], []).append({
                "method": method.upper(), "path": path, "summary": op["summary"],
                "description": op.get("description", ""), "right": op.get("x-required-right"),
                "params": op.get("parameters", []),
                "body": json.dumps(_resolve(body_schema, comps), indent=1) if body_schema else "",
                "response": json.dumps(_resolve(resp_schema, comps), indent=1)[:3000] if resp_schema else "",
                "anchor": op["operationId"]})
    html = _ENV.get_template("docs.html").render(info=doc["info"], groups=groups)
    return HTMLResponse(html)
