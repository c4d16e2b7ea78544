"""Admin pages: dashboard (with plugin widgets), products and their variants, bulk edits, images."""
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
from comptoir.kernel.domain import Category, Location, Order, Product, StockLevel, Variant
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ComptoirError, NotFound, ValidationFailed
from comptoir.kernel.services import stock
from comptoir.kernel.services.catalog import (
    VariantInput, add_variant, create_product, delete_variant, ensure_category, update_variant, variant_active,
    variant_in_use,
)
from comptoir.kernel.web.admin.common import back, kernel_of, page, page_links, paging, staff
from comptoir.kernel.web.api.admin_catalog import add_to_collection, bulk_price
from comptoir.kernel.web.pages import flash, parse_money, render
from comptoir.kernel.web.problems import Forbidden
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


# ---- products and their variants -------------------------------------------------------
# Form field names of the variant forms, and the service's names for the same inputs:
# an error from the service is shown next to the input the merchant typed into.
_FORM_FIELD = {"price_amount": "price", "weight_grams": "weight", "variants.0.sku": "sku",
               "variants.0.title": "variant_title", "variants.0.price_amount": "price",
               "variants.0.weight_grams": "weight"}


def _form_field(field: str | None) -> str:
    if field and field.startswith("initial_stock."):
        return "stock_" + field.split(".", 1)[1]
    return _FORM_FIELD.get(field or "", field or "")


def _weight(form: Any) -> int:
    raw = str(form.get("weight", "") or "0").strip()
    if not raw.isdigit():
        raise ValidationFailed("weight: a whole number of grams, such as 250", field="weight")
    return int(raw)


def _price(form: Any, currency: str) -> int:
    amount = parse_money(str(form.get("price", "")), currency, field="price")
    if amount < 0:
        raise ValidationFailed("price: a price cannot be negative", field="price")
    return amount


def _initial_stock(me: Any, form: Any) -> dict[int, int]:
    """``stock_<location id>`` inputs; receiving stock also needs the stock right."""
    out: dict[int, int] = {}
    for key in form.keys():
        if not key.startswith("stock_"):
            continue
        raw = str(form.get(key, "")).strip()
        if not raw or raw == "0":
            continue
        if not (key[6:].isdigit() and raw.isdigit()):
            raise ValidationFailed(f"{key}: a whole number of units, such as 12", field=key)
        out[int(key[6:])] = int(raw)
    if out and not me.can("stock:write"):
        raise Forbidden(f"your role ({me.role}) does not include 'stock:write'; leave the stock empty "
                        "and ask someone who receives stock", field="stock")
    return out


def _locations(s: Any) -> list[dict[str, Any]]:
    return [{"id": loc.id, "name": loc.name} for loc in s.scalars(select(Location).order_by(Location.priority,
                                                                                                Location.id))]


def _variant_rows(s: Any, product_id: int, only: int | None = None) -> list[dict[str, Any]]:
    """The variants as the admin table shows them, with units available per location."""
    q = select(Variant).where(Variant.product_id == product_id).order_by(Variant.id)
    if only is not None:
        q = q.where(Variant.id == only)
    variants = list(s.scalars(q))
    per_loc: dict[int, list[dict[str, Any]]] = {v.id or 0: [] for v in variants}
    for vid, name, n in s.execute(
            select(StockLevel.variant_id, Location.name, StockLevel.on_hand - StockLevel.reserved)
            .join(Location, Location.id == StockLevel.location_id)
            .where(StockLevel.variant_id.in_(list(per_loc)))  # type: ignore[attr-defined]
            .order_by(Location.priority, Location.id)):
        per_loc[vid].append({"location": name, "available": int(n)})
    return [{"id": v.id, "product_id": v.product_id, "sku": v.sku, "title": v.title,
             "price": {"amount": v.price_amount, "currency": v.currency}, "weight_grams": v.weight_grams,
             "active": variant_active(v.attributes), "stock": per_loc[v.id or 0]} for v in variants]


def _variant(s: Any, product_id: int, variant_id: int) -> dict[str, Any]:
    rows = _variant_rows(s, product_id, only=variant_id)
    if not rows:
        raise NotFound(f"product {product_id} has no variant {variant_id}", field="variant_id")
    return rows[0]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def product_new(request: Request) -> Response:
    """A product and its first variant (a product is never on sale without one)."""
    me = await staff(request, "catalog:write")

    def locations() -> list[dict[str, Any]]:
        with read_only(kernel_of(request).factory) as s:
            return _locations(s)

    if request.method == "GET":
        return page(request, me, "product_new.html", locations=await run_in_threadpool(locations))
    form = await request.form()

    def create() -> int:
        variant = VariantInput(sku=str(form.get("sku", "")), price_amount=_price(form, "EUR"),
                               title=str(form.get("variant_title", "")), weight_grams=_weight(form))
        initial = _initial_stock(me, form)
        with transaction(kernel_of(request).factory) as s:
            cat = str(form.get("category", "")).strip()
            category_id = ensure_category(s, cat).id if cat else None
            p = create_product(s, str(form.get("title", "")), [variant], description=str(form.get("description", "")),
                               category_id=category_id)
            vid = s.scalar(select(Variant.id).where(Variant.product_id == p.id))
            for location_id, quantity in initial.items():
                stock.receive(s, vid or 0, location_id, quantity, note=f"initial stock, by {me.email}")
            return p.id or 0

    try:
        pid = await run_in_threadpool(create)
    except ComptoirError as exc:
        return page(request, me, "product_new.html", status=exc.status, error=exc.message,
                    error_field=_form_field(exc.field), form=form, locations=await run_in_threadpool(locations))
    flash(request, "product created")
    return back(f"/admin/products/{pid}")


def _load_product(request: Request, pid: int) -> dict[str, Any]:
    with read_only(kernel_of(request).factory) as s:
        d = product_detail(s, pid, include_inactive=True)
        d["categories"] = list(s.scalars(select(Category.name).order_by(Category.name)))
        d["variant_rows"] = _variant_rows(s, pid)
        d["locations"] = _locations(s)
        d["currency"] = d["variant_rows"][0]["price"]["currency"] if d["variant_rows"] else "EUR"
        return d


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
                s.add(p)

        try:
            await run_in_threadpool(save)
            flash(request, "saved")
        except ComptoirError as exc:
            flash(request, exc.message, "error")
        return back(f"/admin/products/{pid}")

    product = await run_in_threadpool(_load_product, request, pid)
    return page(request, me, "product.html", p=product)


async def variant_add(request: Request) -> Response:
    """The add-variant form of the product page; errors come back on the page, by the input."""
    me = await staff(request, "catalog:write")
    pid = int(request.path_params["product_id"])
    form = await request.form()

    def add() -> str:
        with transaction(kernel_of(request).factory) as s:
            currency = s.scalar(select(Variant.currency).where(Variant.product_id == pid)) or "EUR"
            v = add_variant(s, pid, VariantInput(sku=str(form.get("sku", "")), price_amount=_price(form, currency),
                                                 currency=currency, title=str(form.get("title", "")),
                                                 weight_grams=_weight(form)),
                            initial_stock=_initial_stock(me, form), note=f"initial stock, by {me.email}")
            return v.sku

    try:
        sku = await run_in_threadpool(add)
    except ComptoirError as exc:
        if isinstance(exc, Forbidden) or exc.field == "product_id":
            raise
        product = await run_in_threadpool(_load_product, request, pid)
        return page(request, me, "product.html", status=exc.status, p=product, add_error=exc.message,
                    add_field=_form_field(exc.field), add_form=form)
    flash(request, f"variant {sku} added")
    return back(f"/admin/products/{pid}#variants")


async def variant_edit(request: Request) -> Response:
    """Edit one variant: inline as a table row with htmx, or as a page of its own without JS."""
    me = await staff(request, "catalog:read")
    pid, vid = int(request.path_params["product_id"]), int(request.path_params["variant_id"])
    error: ComptoirError | None = None
    form: Any = None
    if request.method == "POST":
        await staff(request, "catalog:write")
        form = await request.form()

        def save() -> None:
            with transaction(kernel_of(request).factory) as s:
                row = _variant(s, pid, vid)
                update_variant(s, vid, title=str(form.get("title", row["title"])),
                               price_amount=_price(form, row["price"]["currency"]), weight_grams=_weight(form))

        try:
            await run_in_threadpool(save)
        except ComptoirError as exc:
            if exc.field == "variant_id":
                raise
            error = exc
        if error is None:
            if _is_htmx(request):
                return await _row(request, me, pid, vid, saved=True)
            flash(request, "variant saved")
            return back(f"/admin/products/{pid}#variant-{vid}")

    def load() -> tuple[dict[str, Any], str | None]:
        with read_only(kernel_of(request).factory) as s:
            return _variant(s, pid, vid), variant_in_use(s, vid)

    v, in_use = await run_in_threadpool(load)
    ctx = {"v": v, "form": form, "error": error.message if error else None,
           "error_field": _form_field(error.field) if error else None}
    if _is_htmx(request):
        # htmx swaps only 2xx answers: a refused edit comes back as the row with its message
        return render(request, "admin/product_variant_edit_row.html", me=me, **ctx)
    return page(request, me, "product_variant.html", status=error.status if error else 200, in_use=in_use,
                p={"id": pid}, **ctx)


async def _row(request: Request, me: Any, pid: int, vid: int, *, saved: bool = False) -> Response:
    def load() -> dict[str, Any]:
        with read_only(kernel_of(request).factory) as s:
            return _variant(s, pid, vid)

    return render(request, "admin/product_variant_row.html", me=me, v=await run_in_threadpool(load), saved=saved)


async def variant_row(request: Request) -> Response:
    """The read-only row (htmx: cancel an inline edit)."""
    me = await staff(request, "catalog:read")
    return await _row(request, me, int(request.path_params["product_id"]), int(request.path_params["variant_id"]))


async def variant_active_set(request: Request) -> Response:
    """Stop or resume selling a variant; it stays for past orders and stock history."""
    me = await staff(request, "catalog:write")
    pid, vid = int(request.path_params["product_id"]), int(request.path_params["variant_id"])
    form = await request.form()
    active = str(form.get("active", "")) == "1"

    def run() -> str:
        with transaction(kernel_of(request).factory) as s:
            _variant(s, pid, vid)
            return update_variant(s, vid, active=active).sku

    sku = await run_in_threadpool(run)
    if _is_htmx(request):
        return await _row(request, me, pid, vid, saved=True)
    flash(request, f"{sku} is {'for sale again' if active else 'no longer sold'}")
    return back(f"/admin/products/{pid}#variant-{vid}")


async def variant_delete(request: Request) -> Response:
    """Delete a variant nothing refers to, once the merchant ticked the confirmation."""
    await staff(request, "catalog:write")
    pid, vid = int(request.path_params["product_id"]), int(request.path_params["variant_id"])
    form = await request.form()

    def run() -> str:
        if form.get("confirm") != "on":
            raise ValidationFailed("confirm: tick the box to confirm the deletion", field="confirm")
        with transaction(kernel_of(request).factory) as s:
            sku = _variant(s, pid, vid)["sku"]
            delete_variant(s, vid)
            return str(sku)

    try:
        sku = await run_in_threadpool(run)
    except ComptoirError as exc:
        if exc.field == "variant_id" and isinstance(exc, NotFound):
            raise
        flash(request, exc.message, "error")
        return back(f"/admin/products/{pid}/variants/{vid}")
    flash(request, f"variant {sku} deleted")
    return back(f"/admin/products/{pid}#variants")


routes = [
    Route("/admin", dashboard),
    Route("/admin/widgets/{plugin}/{widget_id}", widget),
    Route("/admin/products", products),
    Route("/admin/products/bulk", products_bulk, methods=["POST"]),
    Route("/admin/products/new", product_new, methods=["GET", "POST"]),
    Route("/admin/products/{product_id:int}", product_edit, methods=["GET", "POST"]),
    Route("/admin/products/{product_id:int}/variants", variant_add, methods=["POST"]),
    Route("/admin/products/{product_id:int}/variants/{variant_id:int}", variant_edit, methods=["GET", "POST"]),
    Route("/admin/products/{product_id:int}/variants/{variant_id:int}/row", variant_row),
    Route("/admin/products/{product_id:int}/variants/{variant_id:int}/active", variant_active_set,
          methods=["POST"]),
    Route("/admin/products/{product_id:int}/variants/{variant_id:int}/delete", variant_delete, methods=["POST"]),
]
