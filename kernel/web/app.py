"""``create_app(kernel)``: the one Starlette app (storefront, admin, JSON API, POS, docs).

``comptoir serve`` and ``comptoir demo`` build it through ``comptoir.kernel.asgi``; tests
build it directly over a test kernel.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.web import docs
from comptoir.kernel.web.admin import auth_views, catalog_views, connect_views, ops_views, social_views, system_views
from comptoir.kernel.web.admin.common import NeedsSignIn
from comptoir.kernel.web.api import (
    admin_catalog, admin_mentions, admin_ops, admin_plugins, admin_social, customers, pos, storefront,
)
from comptoir.kernel.web.api.openapi import build
from comptoir.kernel.web.api.registry import Operation
from comptoir.kernel.web.auth.customers import CustomerTokens
from comptoir.kernel.web.auth.oidc import OidcConfig, make_client
from comptoir.kernel.web.auth.secret import ensure_secret
from comptoir.kernel.web.plugin_routes import PluginRoutes
from comptoir.kernel.web.problems import comptoir_error_handler, http_error_handler, unexpected_error_handler
from comptoir.kernel.web.storefront import views as shop_views

log = logging.getLogger("comptoir.web")
STATIC = Path(__file__).parent / "static"
API_MODULES = (storefront, customers, admin_catalog, admin_ops, admin_plugins, admin_mentions, admin_social, pos)
SESSION_COOKIE = "comptoir_session"
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin")]
# Pages load scripts from this site only (no CDN). Inline scripts stay allowed because the
# dashboard composer ships one; moving it to /static would let us drop 'unsafe-inline'.
PAGE_CSP = (b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                        b"style-src 'self' 'unsafe-inline'; "
                                        b"img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'self'")


# Route modules written alongside the web app (dashboard composer, provider webhooks):
# each defines ``routes``; a module missing from this build is skipped.
OPTIONAL_ROUTE_MODULES = ("comptoir.kernel.web.admin.dashboard_compose", "comptoir.kernel.web.webhooks",
                          "comptoir.kernel.web.admin.appstore_views")


def optional_routes() -> list[BaseRoute]:
    import importlib

    found: list[BaseRoute] = []
    for name in OPTIONAL_ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # not in this build, or something it needs is not
            log.warning("web routes of %s not mounted: %s", name, exc)
            continue
        found.extend(module.routes)
    return found


def operations() -> list[Operation]:
    return [op for m in API_MODULES for op in m.api.operations]


class KernelMiddleware:
    """Per request: pick up plugin changes made by other workers (throttled inside the
    host to one cheap read a second), and add the security headers."""

    def __init__(self, app: ASGIApp, kernel: Kernel) -> None:
        self.app, self.kernel = app, kernel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.kernel.host.refresh()
        except Exception:  # a database hiccup must not fail the request; next one retries
            log.warning("plugin state refresh failed", exc_info=True)

        path = scope.get("path", "")
        extra = SECURITY_HEADERS + ([PAGE_CSP] if path == "/" or path.startswith(("/admin", "/shop", "/docs"))
                                    else [])

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                own = {name.lower() for name, _ in message.setdefault("headers", [])}
                # a page that sets its own policy keeps it (the order page allows its payment provider)
                message["headers"] = list(message["headers"]) + [h for h in extra if h[0] not in own]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _needs_sign_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)


def create_app(kernel: Kernel, *, oidc: OidcConfig | None = None, start_jobs: bool = True) -> Starlette:
    """The web app over ``kernel``. ``oidc`` defaults to the ``COMPTOIR_OIDC_*`` environment."""
    secret = ensure_secret(kernel.settings)
    ops = operations()
    openapi = build(ops)
    media = kernel.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    routes: list[BaseRoute] = [
        Route("/openapi.json", docs.openapi_json),
        Route("/docs", docs.api_docs),
        Route("/healthz", lambda r: Response("ok")),
        *[r for m in API_MODULES for r in m.api.routes()],
        *auth_views.routes, *catalog_views.routes, *ops_views.routes, *system_views.routes, *connect_views.routes,
        *social_views.routes,
        *shop_views.routes, *optional_routes(),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Mount("/media", app=StaticFiles(directory=media), name="media"),
        Mount("/plugins", app=PluginRoutes(kernel)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if start_jobs:
            kernel.jobs.start()
            app.state.notify_jobs = kernel.jobs.notify
        yield  # the kernel's owner stops the runner with kernel.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(KernelMiddleware, kernel=kernel),
            Middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE, max_age=12 * 3600,
                       same_site="lax", https_only=kernel.settings.base_url.startswith("https")),
        ],
        exception_handlers={ComptoirError: comptoir_error_handler, HTTPException: http_error_handler,
                            NeedsSignIn: _needs_sign_in, Exception: unexpected_error_handler},
        lifespan=lifespan,
    )
    app.state.kernel = kernel
    app.state.openapi = openapi
    app.state.openapi_bytes = json.dumps(openapi).encode()
    app.state.customer_tokens = CustomerTokens(secret)
    app.state.notify_jobs = None
    app.state.microcache = OrderedDict()
    cfg = oidc if oidc is not None else OidcConfig.from_env()
    app.state.oidc_config = cfg
    app.state.oidc_client = make_client(cfg) if cfg is not None else None
    return app
