"""Admin "App store": browse the marketplace catalog, install (after approving the rights a
plugin asks for), upgrade, roll back and uninstall, through ``kernel.services["installer"]``.

Installing is two steps on purpose: the review page fetches and verifies the release and
shows the rights it requests; only the confirm form (which names the exact release by its
sha256 and the rights the admin ticked) runs the install. Every action needs the
``plugins:manage`` right, like the Plugins page.
"""
from __future__ import annotations

import shutil
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.manifest import CATEGORIES
from comptoir.kernel.money import Money
from comptoir.kernel.web.admin.common import back, kernel_of, page, staff
from comptoir.kernel.web.pages import flash

RIGHT = "plugins:manage"
DATA_CHOICES = ("keep", "export", "delete")


def pricing_text(pricing: dict[str, Any] | None) -> str:
    """The pricing plan in one line, e.g. ``9.00 EUR / month (14-day trial) + 0.10 EUR / order``."""
    p = pricing or {}
    model, cur = str(p.get("model", "free")), str(p.get("currency", "EUR"))
    if model == "free":
        return "free"
    parts = []
    if model in ("one_time", "recurring", "recurring_usage"):
        price = Money(int(p.get("price", 0)), cur).format()
        parts.append(price if model == "one_time" else f"{price} / {p.get('interval') or 'month'}")
    if model in ("usage", "recurring_usage"):
        parts.append(f"{Money(int(p.get('usage_price', 0)), cur).format()} / {p.get('usage_unit') or 'use'}")
    text = " + ".join(parts) or model
    if int(p.get("usage_cap", 0) or 0):
        text += f", capped at {Money(int(p['usage_cap']), cur).format()} a month"
    if int(p.get("trial_days", 0) or 0):
        text += f" ({p['trial_days']}-day trial)"
    return text


def _installer(request: Request) -> Any:
    inst = kernel_of(request).services.get("installer")
    if inst is None:
        raise ComptoirError("the plugin installer is not available in this build of the shop")
    return inst


def _installed_map(inst: Any) -> dict[str, Any]:
    return {row.plugin: row for row in inst.installed()}


async def store(request: Request) -> Response:
    """The catalog: search, category filter, and what this shop installed from it."""
    me = await staff(request, RIGHT)
    q = request.query_params.get("q", "")[:100]
    category = request.query_params.get("category", "")
    category = category if category in CATEGORIES else ""
    try:
        page_no = max(1, min(1000, int(request.query_params.get("page", 1))))
    except ValueError:
        page_no = 1
    inst = _installer(request)

    def load() -> tuple[dict[str, Any], dict[str, Any], str]:
        installed = _installed_map(inst)
        try:
            return inst.search(q, category, page_no), installed, ""
        except ComptoirError as exc:  # marketplace down: still show what is installed
            return {"total": 0, "results": [], "page": page_no}, installed, exc.message

    found, installed, error = await run_in_threadpool(load)
    return page(request, me, "appstore.html", q=q, category=category, categories=CATEGORIES, found=found,
                installed=installed, error=error, marketplace=inst.marketplace, pricing_text=pricing_text)


async def detail(request: Request) -> Response:
    """One listing: pricing plan, requested rights, compatibility, releases, reviews."""
    me = await staff(request, RIGHT)
    name = request.path_params["plugin"]
    inst = _installer(request)

    def load() -> tuple[dict[str, Any], Any]:
        return inst.info(name), _installed_map(inst).get(name)

    try:
        info, row = await run_in_threadpool(load)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
        return back("/admin/appstore")
    live = kernel_of(request).host.records.get(name)
    return page(request, me, "appstore_plugin.html", p=info, row=row, live_enabled=bool(live and live.enabled),
                bundled=live is not None and row is None,
                data_choices=DATA_CHOICES, pricing_text=pricing_text)


async def review(request: Request) -> Response:
    """Fetch and verify the release, then show what the admin is asked to approve."""
    me = await staff(request, RIGHT)
    name = request.path_params["plugin"]
    version = request.query_params.get("version", "")[:64]
    inst = _installer(request)

    def make_plan() -> Any:
        plan = inst.plan(name, version)
        shutil.rmtree(plan.wheel.parent, ignore_errors=True)  # the confirm step fetches and verifies again
        return plan

    try:
        plan = await run_in_threadpool(make_plan)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
        return back(f"/admin/appstore/{quote(name)}")
    return page(request, me, "appstore_confirm.html", plan=plan, m=plan.manifest,
                pricing=pricing_text(plan.manifest.pricing.model_dump()))


async def install(request: Request) -> Response:
    """The confirm form: install exactly the reviewed release, granting the ticked rights."""
    me = await staff(request, RIGHT)
    name = request.path_params["plugin"]
    form = await request.form()
    version, sha = str(form.get("version", ""))[:64], str(form.get("sha256", ""))
    approved = [str(r) for r in form.getlist("right")]
    inst = _installer(request)

    def run() -> tuple[str, bool]:
        plan = inst.plan(name, version)
        if plan.sha256 != sha:
            shutil.rmtree(plan.wheel.parent, ignore_errors=True)
            raise ComptoirError(f"{name} {version} changed since you reviewed it; review it again")
        inst.execute(plan, approve=approved, actor=me.email)
        verb = f"upgraded from {plan.upgrade_from} to" if plan.upgrade_from else "installed,"
        return f"{name} {verb} {plan.version}: enabled", bool(plan.manifest.scopes.accounts)

    try:
        message, has_accounts = await run_in_threadpool(run)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
        return back(f"/admin/appstore/{quote(name)}")
    if has_accounts:  # next step for the merchant: connect its provider accounts
        flash(request, f"{message}; now connect its accounts")
        return back(f"/admin/plugins/{quote(name)}/connect")
    flash(request, message)
    return back(f"/admin/appstore/{quote(name)}")


async def act(request: Request) -> Response:
    """Roll back or uninstall an installed plugin."""
    me = await staff(request, RIGHT)
    name, action = request.path_params["plugin"], request.path_params["action"]
    form = await request.form()
    inst = _installer(request)

    def run() -> str:
        if action == "rollback":
            return f"{name} rolled back to {inst.rollback(name)}"
        if action == "uninstall":
            data = str(form.get("data", "keep"))
            out = inst.uninstall(name, data=data if data in DATA_CHOICES else "keep", actor=me.email)
            extra = f"; data exported to {out['export']}" if out.get("export") else f"; data: {out['data']}"
            return f"{name} {out['version']} uninstalled{extra}"
        raise ComptoirError(f"unknown App store action {action!r}", field="action")

    try:
        flash(request, await run_in_threadpool(run))
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back(f"/admin/appstore/{quote(name)}" if action != "uninstall" else "/admin/appstore")


routes = [
    Route("/admin/appstore", store),
    Route("/admin/appstore/{plugin}", detail),
    Route("/admin/appstore/{plugin}/review", review),
    Route("/admin/appstore/{plugin}/install", install, methods=["POST"]),
    Route("/admin/appstore/{plugin}/{action}", act, methods=["POST"]),
]
