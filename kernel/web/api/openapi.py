"""The OpenAPI 3.1 document, built from the operation registry (so it matches the routes)."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Operation, path_schema
from comptoir.kernel.web.problems import PROBLEM_SCHEMA

_REF = "#/components/schemas/{model}"


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": _REF.format(model=model.__name__)}


def _response_schema(resp: Any, components: dict[str, Any]) -> dict[str, Any] | None:
    if resp is None:
        return None
    if isinstance(resp, type) and issubclass(resp, BaseModel):
        return _model_schema(resp, components)
    return resp


def build(operations: list[Operation], *, title: str = "Comptoir API", version: str = "1.0.0") -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    for m in (S.ProductSummary, S.CategoryOut, S.LocationOut, S.QuoteOut, S.PaymentMethodOut, S.OrderOut,
              S.CustomerOut, S.PickupPointOut):
        _model_schema(m, components)
    paths: dict[str, Any] = {}
    for op in operations:
        item = paths.setdefault(op.path, {})
        params = [{"name": n, "in": "path", "required": True, "schema": path_schema(n)}
                  for n in re.findall(r"{(\w+)}", op.path)]
        params += [{"name": p.name, "in": "query", "required": p.required, "schema": p.schema,
                    **({"description": p.description} if p.description else {})} for p in op.query]
        if op.customer:
            params.append({"name": "X-Customer-Token", "in": "header", "required": False,
                           "schema": {"type": "string"}, "description": "token from sign-up or sign-in"})
        problem = {"description": "problem details (RFC 9457)",
                   "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        ok: dict[str, Any] = {"description": op.summary}
        schema = _response_schema(op.response, components)
        if schema is not None:
            ok["content"] = {"application/json": {"schema": schema}}
        responses: dict[str, Any] = {str(op.status): ok, "4XX": problem}
        if op.etag:
            responses["304"] = {"description": "not modified (If-None-Match matched the ETag)"}
            ok["headers"] = {"ETag": {"schema": {"type": "string"}}}
        if op.right or op.customer:
            responses["401"] = problem
            responses["403"] = problem
        entry: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
                                 "parameters": params, "responses": responses}
        if op.description:
            entry["description"] = op.description
        if op.right:
            entry["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
            entry["x-required-right"] = op.right
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _model_schema(op.body, components)}}}
        elif op.multipart:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}, "alt": {"type": "string"}}}}}}
        item[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Storefront, admin and point-of-sale API of a Comptoir shop. Amounts are integers "
                                "in minor units (cents) with an ISO-4217 currency. Errors are RFC 9457 problem "
                                "details naming the field at fault. Lists are paginated with limit/offset."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "a scoped API token (cpt_…)"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "comptoir_session",
                           "description": "a staff session; unsafe methods also need X-CSRF-Token"}}},
    }
