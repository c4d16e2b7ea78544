"""Plugin pages: each enabled plugin's ``web_routes`` mounted under ``/plugins/<id>/``,
behind the staff sign-in. Built on first use and rebuilt when plugins change."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.web.auth.guard import session_staff
from comptoir.kernel.web.problems import problem

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel


class PluginRoutes:
    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self._routers: dict[str, tuple[int, Router]] = {}

    def _router(self, plugin: str) -> Router | None:
        host = self.kernel.host
        rec = host.records.get(plugin)
        if rec is None or not rec.enabled or not host.implements(plugin, "web_routes"):
            self._routers.pop(plugin, None)
            return None
        gen = id(rec.proxy)  # a new proxy is made each time the plugin is enabled
        cached = self._routers.get(plugin)
        if cached is None or cached[0] != gen:
            try:
                routes = host.call_one(plugin, "web_routes") or []
            except ComptoirError:
                return None
            cached = (gen, Router(routes=list(routes)))
            self._routers[plugin] = cached
        return cached[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        rest = path[len("/plugins/"):] if path.startswith("/plugins/") else ""
        plugin, _, sub = rest.partition("/")
        request = Request(scope, receive)
        found = await run_in_threadpool(session_staff, request, self.kernel.factory)
        if found is None:
            await RedirectResponse(f"/admin/login?next={path}", status_code=303)(scope, receive, send)
            return
        router = await run_in_threadpool(self._router, plugin)
        if router is None:
            await problem(404, "Not found", f"no enabled plugin {plugin!r} serves pages")(scope, receive, send)
            return
        child: dict[str, Any] = dict(scope)
        child["path"] = "/" + sub
        child["root_path"] = scope.get("root_path", "") + f"/plugins/{plugin}"
        child.setdefault("state", {})
        child["comptoir_staff"] = found[1]
        await router(child, receive, send)
