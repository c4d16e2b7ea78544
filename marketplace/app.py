"""``create_app(settings)``: the marketplace as one Starlette app."""
from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from comptoir.kernel.errors import ComptoirError
from comptoir.marketplace import api, pages, simple
from comptoir.marketplace.billing import web as billing_web
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ComptoirError)
    if request.url.path.startswith(("/api/", "/simple/", "/files/", "/snapshot")):
        return JSONResponse({"error": exc.title, "detail": exc.message, "field": exc.field}, status_code=exc.status)
    return HTMLResponse(f"<h1>{exc.title}</h1><p>{exc.message}</p>", status_code=exc.status)


def create_app(settings: MarketSettings | None = None, *, market: Marketplace | None = None) -> Starlette:
    """The registry app; pass ``market`` to share one :class:`Marketplace` (tests, demo)."""
    mp = market or Marketplace(settings or MarketSettings.from_env())
    app = Starlette(routes=[*api.routes, *simple.routes, *pages.routes, *billing_web.routes],
                    exception_handlers={ComptoirError: _error})
    app.state.market = mp
    return app


def market_of(app: Any) -> Marketplace:
    return app.state.market  # type: ignore[no-any-return]
