"""Admin pages: dashboard (with plugin widgets), products, bulk edits, images."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Category, Order, Product, Variant
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ComptoirError, ValidationFailed
from comptoir.kernel.services.catalog import VariantInput, create_product, ensure_category
from comptoir.kernel.web.admin.common import back, kernel_of, page, page_links, paging, staff
from comptoir.kernel.web.api.admin_catalog import add_to_collection, bulk_price
from comptoir.kernel.web.pages import flash, parse_money, render
from comptoir.kernel.web.queries import list_products, product_detail


def _stats(request: Request) -> dict[str, Any]:
    since = utcnow() - timedelta(days=30)
    with read_only(kernel_of(request).factory) as s:
        n, revenue = s.execute(select(func.count(), func.coalesce(func.sum(Order.total), 0))
                               .where(Order.placed_at >= since, Order.status != "cancelled")).one()
        waiting = s.scalar(select(func.count()).select_from(Order).where(Order.status == "placed")) or 0
        to_ship = s.scalar(select(func.count()).select_from(Order).where(Order.status == "paid")) or 0
    return {"orders_30d": n, "revenue_30d": int(revenue), "awaiting_payment": waiting, "to_ship": to_ship}


def widgets_for(request: Request, role: str) -> list[Any]:
    """Every widget offered to ``role``, each tagged with the plugin that offers it."""
    host = kernel_of(request).host
    out = []
    for plugin, specs in host.call_each("dashboard_widgets", role=role):
        for spec in specs or []:
            if role in getattr(spec, "roles", ()):
                out.append(replace(spec, plugin=plugin))
    return out


async def dashboard(request: Request) -> Response:
    """The page shell: kernel figures plus every plugin widget offered to this role."""
    me = await staff(request)
    widgets = await run_in_threadpool(widgets_for, request, me.role)
    stats = await run_in_threadpool(_stats, request) if me.can("orders:read") else None
    return page(request, me, "dashboard.html", widgets=widgets, stats=stats)


async def widget(request: Request) -> Response:
    """One widget's data, rendered by its template kind (htmx fragment)."""
    me = await staff(request)
    plugin, wid = request.path_params["plugin"], request.path_params["widget_id"]
    host = kernel_of(request).host
    specs = await run_in_threadpool(widgets_for, request, me.role)
    spec = next((w for w in specs if w.id == wid and w.plugin == plugin), None)
    if spec is None:
        return HTMLResponse("<p class='muted'>widget not available for your role</p>", status_code=404)
    try:
        data = await run_in_threadpool(lambda: host.call_one(plugin, "widget_data", widget_id=wid, config={}))
    except ComptoirError as exc:
        return HTMLResponse(f"<p class='error'>{exc.title}</p>", status_code=200)
    return render(request, "admin/widget.html", spec=spec, data=data or {})


async def products(request: Request) -> Response:
    me = await staff(request, "catalog:read")
    limit, offset = paging(request)
    q = request.query_params.get("q", "")[:100]

    def load() -> Any:
        with read_only(kernel_of(request).factory) as s:
            return list_products(s, q=q, limit=limit, offset=offset, include_inactive=True)

    found = await run_in_threadpool(load)
    return page(request, me, "products.html", products=found.items, q=q,
                links=page_links(request, found.total, limit, offset))


async def products_bulk(request: Request) -> Response:
    """Multi-select actions: reprice (set, percent, delta) or add to a promo collection."""
    me = await staff(request, "catalog:write")
    form = await request.form()
    try:
        ids = [int(x) for x in form.getlist("product_id")]
        if not ids:
            raise ValidationFailed("select at least one product", field="product_id")
        action = str(form.get("action", ""))
        if action == "price":
            mode = str(form.get("mode", "percent"))
            if mode not in ("set", "percent", "delta"):
                raise ValidationFailed("choose how to change the price", field="mode")
            raw = str(form.get("value", ""))
            value = int(raw) if mode == "percent" and raw.lstrip("+-").isdigit() else (
                parse_money(raw, field="value") if mode != "percent" else None)
            if value is None:
                raise ValidationFailed("a percentage is a whole number such as -10", field="value")
            n = await run_in_threadpool(bulk_price, kernel_of(request), ids, mode, value)
            flash(request, f"{n} prices changed")
        elif action == "collection":
            col = await run_in_threadpool(add_to_collection, kernel_of(request), str(form.get("collection", "")),
                                          ids)
            flash(request, f"collection {col['name']}: {col['product_count']} products")
        else:
            raise ValidationFailed("choose an action", field="action")
    except ValueError:
        flash(request, "invalid selection", "error")
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back(str(form.get("back", "/admin/products")) if str(form.get("back", "")).startswith("/admin")
                else "/admin/products")


async def product_new(request: Request) -> Response:
    me = await staff(request, "catalog:write")
    if request.method == "GET":
        return page(request, me, "product_new.html")
    form = await request.form()

    def create() -> int:
        with transaction(kernel_of(request).factory) as s:
            cat = str(form.get("category", "")).strip()
            category_id = ensure_category(s, cat).id if cat else None
            p = create_product(s, str(form.get("title", "")), [VariantInput(
                sku=str(form.get("sku", "")).strip(), price_amount=parse_money(str(form.get("price", ""))),
                title=str(form.get("variant_title", "")))], description=str(form.get("description", "")),
                category_id=category_id)
            return p.id or 0

    try:
        pid = await run_in_threadpool(create)
    except ComptoirError as exc:
        return page(request, me, "product_new.html", status=exc.status, error=exc.message, form=form)
    flash(request, "product created")
    return back(f"/admin/products/{pid}")


async def product_edit(request: Request) -> Response:
    me = await staff(request, "catalog:read")
    pid = int(request.path_params["product_id"])
    if request.method == "POST":
        await staff(request, "catalog:write")
        form = await request.form()

        def save() -> None:
            with transaction(kernel_of(request).factory) as s:
                p = s.get(Product, pid)
                if p is None:
                    raise ValidationFailed("this product was deleted", field="product_id")
                p.title = str(form.get("title", p.title)).strip() or p.title
                p.description = str(form.get("description", p.description))
                p.active = form.get("active") == "on"
                cat = str(form.get("category", "")).strip()
                p.category_id = ensure_category(s, cat).id if cat else None
                for v in s.scalars(select(Variant).where(Variant.product_id == pid)):
                    raw = form.get(f"price_{v.id}")
                    if raw is not None:
                        v.price_amount = parse_money(str(raw), v.currency, field=f"price_{v.id}")
                        s.add(v)
                s.add(p)

        try:
            await run_in_threadpool(save)
            flash(request, "saved")
        except ComptoirError as exc:
            flash(request, exc.message, "error")
        return back(f"/admin/products/{pid}")

    def load() -> dict[str, Any]:
        with read_only(kernel_of(request).factory) as s:
            d = product_detail(s, pid, include_inactive=True)
            d["categories"] = list(s.scalars(select(Category.name).order_by(Category.name)))
            return d

    product = await run_in_threadpool(load)
    return page(request, me, "product.html", p=product)


routes = [
    Route("/admin", dashboard),
    Route("/admin/widgets/{plugin}/{widget_id}", widget),
    Route("/admin/products", products),
    Route("/admin/products/bulk", products_bulk, methods=["POST"]),
    Route("/admin/products/new", product_new, methods=["GET", "POST"]),
    Route("/admin/products/{product_id:int}", product_edit, methods=["GET", "POST"]),
]
