"""Dashboards composed by the merchant: add, remove, reorder (drag and drop), resize and
configure plugin widgets; saved per person, and per role by an owner.

Routes (``routes``, to add to the app's route list):

- ``GET /admin/dashboard/mine``: the composed dashboard; each widget refreshes itself
  every ``refresh_s`` seconds (htmx) with its saved settings;
- ``GET /admin/dashboard/compose``: the editor (``?role=`` for an owner editing a role);
- ``POST /admin/dashboard/compose``: JSON ``{"scope": "me"|"role", "role", "cells"}``
  with the ``X-CSRF-Token`` header; ``{"scope": …, "reset": true}`` forgets a layout;
- ``GET /admin/dashboard/w/{plugin}/{widget_id}?config=<json>``: one widget's data with
  its settings, rendered by the kernel's widget template.
"""
from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.errors import ComptoirError, ValidationFailed
from comptoir.kernel.web.admin import dashboard_compose_store as store
from comptoir.kernel.web.admin.catalog_views import widgets_for
from comptoir.kernel.web.admin.common import Staff, kernel_of, page, staff
from comptoir.kernel.web.pages import render
from comptoir.kernel.web.problems import Forbidden

ROLES = ("owner", "manager", "marketing", "support", "picker")


def _target_role(request: Request, me: Staff, wanted: str | None) -> str:
    role = wanted or me.role
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; roles are {', '.join(ROLES)}", field="role")
    if role != me.role and me.role != "owner":
        raise Forbidden("only an owner composes the dashboard of another role", field="role")
    return role


def _layout(request: Request, me: Staff, role: str, *, personal: bool) -> tuple[str, list[dict[str, Any]], list[Any]]:
    specs = widgets_for(request, role)
    offered = [(w.plugin, w.id) for w in specs]
    with read_only(kernel_of(request).factory) as s:
        source, cells = store.resolve(s, me.id if personal else -1, role, offered)
    by_key = {(w.plugin, w.id): w for w in specs}
    for c in cells:
        spec = by_key[(c["plugin"], c["widget"])]
        c.update(title=spec.title, template=spec.template, refresh_s=spec.refresh_s,
                 config_json=json.dumps(c["config"]) if c["config"] else "")
    return source, cells, specs


async def mine(request: Request) -> Response:
    me = await staff(request)
    source, cells, _ = await run_in_threadpool(_layout, request, me, me.role, personal=True)
    return page(request, me, "dashboard_mine.html", cells=cells, source=source)


async def compose(request: Request) -> Response:
    me = await staff(request)
    role = _target_role(request, me, request.query_params.get("role"))
    personal = role == me.role and request.query_params.get("scope") != "role"
    source, cells, specs = await run_in_threadpool(_layout, request, me, role, personal=personal)
    return page(request, me, "dashboard_compose.html", cells=cells, source=source, role=role,
                scope="me" if personal else "role", roles=ROLES if me.role == "owner" else (me.role,),
                palette=[{"plugin": w.plugin, "widget": w.id, "title": w.title, "template": w.template}
                         for w in specs])


async def compose_save(request: Request) -> Response:
    me = await staff(request)
    try:
        body = await request.json()
    except ValueError:
        raise ValidationFailed("send the layout as JSON", field="body") from None
    scope = body.get("scope")
    if scope not in ("me", "role"):
        raise ValidationFailed("scope is 'me' or 'role'", field="scope")
    role = _target_role(request, me, body.get("role") if scope == "role" else None)
    if scope == "role" and me.role != "owner":
        raise Forbidden("only an owner sets the dashboard of a role", field="scope")
    key = ("staff", str(me.id)) if scope == "me" else ("role", role)

    def write() -> dict[str, Any]:
        if body.get("reset"):
            with transaction(kernel_of(request).factory) as s:
                return {"reset": store.forget(s, *key)}
        offered = {(w.plugin, w.id) for w in widgets_for(request, role)}
        cells = store.clean(body.get("cells"), offered)
        with transaction(kernel_of(request).factory) as s:
            store.save(s, key[0], key[1], cells, me.email)
        return {"saved": len(cells), "scope": scope, "role": role}

    return JSONResponse(await run_in_threadpool(write))


async def widget(request: Request) -> Response:
    """One widget with its saved settings (the kernel's widget endpoint sends none)."""
    me = await staff(request)
    plugin, wid = request.path_params["plugin"], request.path_params["widget_id"]
    try:
        config = json.loads(request.query_params.get("config") or "{}")
        if not isinstance(config, dict):
            raise ValueError
    except ValueError:
        return HTMLResponse("<p class='error'>the widget's settings are not valid</p>", status_code=422)
    specs = await run_in_threadpool(widgets_for, request, me.role)
    spec = next((w for w in specs if w.id == wid and w.plugin == plugin), None)
    if spec is None:
        return HTMLResponse("<p class='muted'>widget not available for your role</p>", status_code=404)
    host = kernel_of(request).host
    try:
        data = await run_in_threadpool(lambda: host.call_one(plugin, "widget_data", widget_id=wid, config=config))
    except ComptoirError as exc:
        return HTMLResponse(f"<h3>{spec.title}</h3><p class='error'>{exc.title}: this widget is unavailable</p>")
    return render(request, "admin/widget.html", spec=spec, data=data or {})


routes = [
    Route("/admin/dashboard/mine", mine),
    Route("/admin/dashboard/compose", compose, methods=["GET"]),
    Route("/admin/dashboard/compose", compose_save, methods=["POST"]),
    Route("/admin/dashboard/w/{plugin}/{widget_id}", widget),
]
