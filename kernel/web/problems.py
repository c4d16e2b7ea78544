"""RFC 9457 problem details: every error the web app returns has this shape.

``ComptoirError`` subclasses map generically (their ``status``, ``title``, message
and ``field``); anything unexpected becomes a 500 that says nothing internal.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from comptoir.kernel.errors import ComptoirError

log = logging.getLogger("comptoir.web")
PROBLEM_TYPE = "about:blank"
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           406: "Not acceptable", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
           422: "Invalid input", 429: "Too many requests", 500: "Internal error"}


class Unauthorized(ComptoirError):
    status = 401
    title = "Unauthorized"


class Forbidden(ComptoirError):
    status = 403
    title = "Forbidden"


class BadRequest(ComptoirError):
    status = 400
    title = "Bad request"


def problem(status: int, title: str, detail: str, *, field: str | None = None, instance: str = "",
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail}
    if field:
        body["field"] = field
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(json.dumps(body), status_code=status, media_type="application/problem+json", headers=headers)


def from_error(exc: ComptoirError, request: Request | None = None) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(exc.status, exc.title, exc.message, field=exc.field,
                   instance=request.url.path if request is not None else "", headers=headers)


async def comptoir_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ComptoirError)
    if request.url.path.startswith(("/admin", "/shop")) or request.url.path == "/":
        from comptoir.kernel.web.pages import error_page

        return error_page(request, exc.status, exc.title, exc.message)
    return from_error(exc, request)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    if request.url.path.startswith(("/admin", "/shop")):
        from comptoir.kernel.web.pages import error_page

        return error_page(request, exc.status_code, title, detail)
    return problem(exc.status_code, title, detail, instance=request.url.path, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    # Log the type only: messages of driver errors may quote data.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "the server could not complete this request; it has been logged",
                   instance=request.url.path)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "field": {"type": "string", "description": "the input at fault"},
        "instance": {"type": "string"},
    },
}
