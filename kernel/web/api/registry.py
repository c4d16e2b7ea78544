"""A small operation registry: each JSON endpoint is declared once, with its input
models, query parameters, rights and response schema, and becomes both a Starlette
route and an OpenAPI operation, so the document cannot drift from the routes.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comptoir.kernel.errors import ComptoirError, ValidationFailed
from comptoir.kernel.web.problems import BadRequest, from_error

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.staff.service import Principal

MAX_ID = 2**31 - 1
MAX_BODY = 1_000_000
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_PATH_VAR = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Param:
    """A query parameter: ``schema`` is its JSON schema (integer, string, boolean, enum)."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


def limit_offset(default: int = 24) -> tuple[Param, Param]:
    return (Param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": default},
                  "page size"),
            Param("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
                  "items to skip"))


@dataclass
class Page:
    """One page of a list; every list endpoint returns this shape."""

    items: list[Any]
    total: int
    limit: int
    offset: int

    def as_dict(self) -> dict[str, Any]:
        nxt = self.offset + self.limit if self.offset + self.limit < self.total else None
        return {"items": self.items, "total": self.total, "limit": self.limit, "offset": self.offset,
                "next_offset": nxt}


@dataclass
class Call:
    """What an operation receives: the parsed inputs and who is calling."""

    request: Request
    kernel: "Kernel"
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any = None
    principal: "Principal | None" = None
    customer_id: int | None = None
    form: Any = None

    @property
    def actor(self) -> str:
        return self.principal.name if self.principal else "api"


@dataclass
class Operation:
    method: str
    path: str
    fn: Callable[[Call], Any]
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: Any = None  # a pydantic model, a JSON schema dict, or None (no content)
    query: tuple[Param, ...] = ()
    right: str | None = None
    customer: bool = False
    status: int = 200
    paginated: bool = False
    etag: bool = False
    cache_s: float = 0.0
    multipart: bool = False
    description: str = ""

    @property
    def operation_id(self) -> str:
        return self.fn.__name__


class Api:
    """Collects operations; ``routes()`` makes them Starlette routes."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def op(self, method: str, path: str, *, summary: str, tag: str, **kw: Any) -> Callable[[Callable[[Call], Any]],
                                                                                        Callable[[Call], Any]]:
        def register(fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
            self.operations.append(Operation(method.upper(), path, fn, summary, tag,
                                             description=(fn.__doc__ or "").strip(), **kw))
            return fn

        return register

    def routes(self) -> list[Route]:
        by_path: dict[str, list[Operation]] = {}
        for o in self.operations:
            by_path.setdefault(o.path, []).append(o)
        return [Route(path, _endpoint({o.method: o for o in ops}), methods=[o.method for o in ops])
                for path, ops in by_path.items()]


def _endpoint(ops: dict[str, Operation]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        op = ops[request.method if request.method != "HEAD" else "GET"]
        try:
            return await _run(op, request)
        except ComptoirError as exc:
            return from_error(exc, request)

    return endpoint


def _parse_scalar(name: str, raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type", "string")
    if kind == "integer":
        try:
            value: Any = int(raw)
        except ValueError:
            raise ValidationFailed(f"{name} must be a whole number", field=name) from None
        lo, hi = schema.get("minimum", -MAX_ID), schema.get("maximum", MAX_ID)
        if not lo <= value <= hi:
            raise ValidationFailed(f"{name} must be between {lo} and {hi}", field=name)
        return value
    if kind == "boolean":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValidationFailed(f"{name} must be true or false", field=name)
        return raw.lower() in ("true", "1")
    if "enum" in schema and raw not in schema["enum"]:
        raise ValidationFailed(f"{name} must be one of {', '.join(map(str, schema['enum']))}", field=name)
    if len(raw) > schema.get("maxLength", 200):
        raise ValidationFailed(f"{name} is too long", field=name)
    return raw


def path_schema(name: str) -> dict[str, Any]:
    return ID_SCHEMA if name.endswith("_id") else {"type": "string", "minLength": 1, "maxLength": 200}


def body_error(exc: ValidationError) -> ValidationFailed:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "body"
    return ValidationFailed(f"{where}: {err.get('msg', 'invalid value')}", field=where)


async def _run(op: Operation, request: Request) -> Response:
    kernel: Kernel = request.app.state.kernel
    cache_key = ""
    # The micro-cache lives on the app (one per kernel), never on the module-level operation.
    cache: OrderedDict[str, tuple[float, bytes, str]] = request.app.state.microcache
    if op.cache_s and op.method == "GET":
        cache_key = str(request.url)
        hit = cache.get(cache_key)
        if hit is not None and hit[0] > time.monotonic():
            return _respond(op, request, hit[1], hit[2])
    path = {n: _parse_scalar(n, request.path_params.get(n, ""), path_schema(n)) for n in _PATH_VAR.findall(op.path)}
    query: dict[str, Any] = {}
    for p in op.query:
        raw = request.query_params.get(p.name)
        if raw is None or raw == "":
            if p.required:
                raise ValidationFailed(f"query parameter {p.name} is required", field=p.name)
            query[p.name] = p.schema.get("default")
        else:
            query[p.name] = _parse_scalar(p.name, raw, p.schema)
    call = Call(request, kernel, path, query)
    if op.multipart:
        call.form = await request.form(max_files=5, max_fields=20)
    elif op.body is not None:
        raw_body = await request.body()
        if len(raw_body) > MAX_BODY:
            raise BadRequest("the request body is larger than 1 MB", field="body")
        ctype = request.headers.get("content-type", "")
        if raw_body and "json" not in ctype:
            raise BadRequest("send the body as application/json", field="body")
        try:
            data = json.loads(raw_body or b"{}")
        except ValueError:
            raise BadRequest("the body is not valid JSON", field="body") from None
        try:
            call.body = op.body.model_validate(data)
        except ValidationError as exc:
            raise body_error(exc) from None
    from comptoir.kernel.web.auth.guard import authorize

    def work() -> Any:
        authorize(op, call)
        return op.fn(call)

    result = await run_in_threadpool(work)
    if op.method != "GET":
        notify = getattr(request.app.state, "notify_jobs", None)
        if notify is not None:
            notify()  # an order or stock change may have written outbox events: relay them now
    if isinstance(result, Response):
        return result
    if isinstance(result, Page):
        result = result.as_dict()
    if result is None:
        return Response(status_code=204)
    body = json.dumps(result, default=_default, separators=(",", ":")).encode()
    tag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"' if op.etag else ""
    if cache_key:
        cache[cache_key] = (time.monotonic() + op.cache_s, body, tag)
        cache.move_to_end(cache_key)
        while len(cache) > 1024:
            cache.popitem(last=False)
    return _respond(op, request, body, tag)


def _respond(op: Operation, request: Request, body: bytes, tag: str) -> Response:
    headers = {}
    if tag:
        headers["ETag"] = tag
        headers["Cache-Control"] = "public, max-age=0, must-revalidate"
        if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
    return Response(body, status_code=op.status, media_type="application/json", headers=headers)


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")
