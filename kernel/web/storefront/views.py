"""The demo storefront: home, category, product, cart, checkout, confirmation.

Server-rendered over the same reads and services as the JSON API; the cart token
lives in the signed session cookie. Every form carries the session's CSRF token.
The order page is the buyer's only (the order id is in their session), shows the
provider's payment form while the payment is open (``storefront.payment``) and follows
the payment live through ``/shop/orders/<id>/status`` (htmx, every 1.5 s).
"""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from comptoir.kernel.db import read_only, write_conn
from comptoir.kernel.domain import Category, CheckoutAttempt, Order
from comptoir.kernel.errors import ComptoirError, NotFound, PluginError
from comptoir.kernel.services.carts import add_item, create_cart, get_cart, set_line
from comptoir.kernel.services.checkout import CheckoutRequest, CheckoutService, checkout_service
from comptoir.kernel.types import Address, ShippingQuote
from comptoir.kernel.web.api.storefront import cart_dict, order_dict, recommend
from comptoir.kernel.web.auth.guard import csrf_ok
from comptoir.kernel.web.pages import flash, render
from comptoir.kernel.web.problems import Forbidden
from comptoir.kernel.web.queries import list_products, order_payment, product_availability, product_detail
from comptoir.kernel.web.storefront.payment import PAYABLE, page_csp, payment_block

ADDRESS_FIELDS = ("name", "line1", "line2", "postal_code", "city", "country", "phone")


def _k(request: Request) -> Any:
    return request.app.state.kernel


def _categories(s: Any) -> list[Any]:
    # Plain dicts: read_only() rolls back at the end, which expires ORM rows.
    return [{"id": c.id, "slug": c.slug, "name": c.name} for c in s.scalars(select(Category).order_by(Category.name))]


def _shop(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    ctx.setdefault("cart_count", request.session.get("cart_count", 0))
    return render(request, f"shop/{template}", status=status, **ctx)


async def _form(request: Request) -> Any:
    form = await request.form()
    if not csrf_ok(request, str(form.get("csrf", ""))):
        raise Forbidden("this form expired; reload the page and try again", field="csrf")
    return form


async def home(request: Request) -> Response:
    def load() -> dict[str, Any]:
        with read_only(_k(request).factory) as s:
            return {"categories": _categories(s),
                    "featured": list_products(s, in_stock=True, sort="newest", limit=12).items}

    return _shop(request, "home.html", **await run_in_threadpool(load))


async def category(request: Request) -> Response:
    slug = request.path_params["slug"]
    q = request.query_params.get("q", "")[:100]
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0

    def load() -> dict[str, Any]:
        with read_only(_k(request).factory) as s:
            cats = _categories(s)
            cat = next((c for c in cats if c["slug"] == slug), None)
            if cat is None and slug != "all":
                raise NotFound(f"no category {slug!r}", field="category")
            found = list_products(s, q=q, category="" if slug == "all" else slug, limit=24, offset=offset)
            return {"categories": cats, "category": cat, "products": found.items, "total": found.total,
                    "offset": offset, "q": q, "slug": slug}

    return _shop(request, "category.html", **await run_in_threadpool(load))


async def product(request: Request) -> Response:
    def load() -> dict[str, Any]:
        with read_only(_k(request).factory) as s:
            p = product_detail(s, request.path_params["slug"])
            out = {"p": p, "stores": product_availability(s, p["id"])["locations"], "categories": _categories(s)}
        out["similar"] = recommend(_k(request), "similar", k=4, product_id=p["id"])
        return out

    return _shop(request, "product.html", **await run_in_threadpool(load))


def _cart_token(request: Request, s: Any) -> str:
    token = request.session.get("cart")
    if token:
        try:
            if get_cart(s, token).status == "open":
                return str(token)
        except NotFound:
            pass
    cart = create_cart(s, "EUR")
    request.session["cart"] = cart.token
    return cart.token


async def cart(request: Request) -> Response:
    if request.method == "POST":
        form = await _form(request)

        def change() -> int:
            with write_conn(_k(request).cart_engine) as s:  # see Kernel.cart_engine
                c = get_cart(s, _cart_token(request, s))
                sku = str(form.get("sku", ""))
                qty = int(str(form.get("quantity", "1")) or 1)
                if form.get("set"):
                    set_line(s, c, sku=sku, quantity=qty)
                else:
                    add_item(s, c, sku=sku, quantity=qty)
                return int(cart_dict(s, c)["item_count"])

        try:
            request.session["cart_count"] = await run_in_threadpool(change)
            flash(request, "cart updated")
        except (ComptoirError, ValueError) as exc:
            flash(request, getattr(exc, "message", "enter a quantity"), "error")
        return RedirectResponse("/shop/cart", status_code=303)

    def load() -> dict[str, Any] | None:
        token = request.session.get("cart")
        if not token:
            return None
        with read_only(_k(request).factory) as s:
            try:
                c = get_cart(s, token)
            except NotFound:
                return None
            return cart_dict(s, c) if c.status == "open" else None

    return _shop(request, "cart.html", cart=await run_in_threadpool(load))


def _pickup_lists(svc: CheckoutService, quotes: list[ShippingQuote], address: Address) -> dict[str, Any]:
    """For each quote delivered to a pickup point, its carrier's points near the address
    (or the reason they could not be listed)."""
    out: dict[str, Any] = {}
    for q in quotes:
        if q.pickup_point_required:
            try:
                out[q.id] = {"points": svc.points_for(q, address), "error": ""}
            except PluginError as exc:
                out[q.id] = {"points": [], "error": exc.message}
    return out


def _choices(svc: CheckoutService, token: str, address: Address) -> dict[str, Any]:
    quotes = svc.shipping_quotes(token, address)
    return {"quotes": quotes, "methods": svc.payment_methods(token), "pickup": _pickup_lists(svc, quotes, address)}


async def checkout(request: Request) -> Response:
    token = request.session.get("cart")
    if not token:
        return RedirectResponse("/shop/cart", status_code=303)
    if request.method == "GET":
        return _shop(request, "checkout.html", step="address", values={"country": "FR"})
    form = await _form(request)
    values = {f: str(form.get(f, "")).strip() for f in (*ADDRESS_FIELDS, "email")}
    values["country"] = values["country"].upper()
    address = Address(**{f: values[f] for f in ADDRESS_FIELDS})
    svc = checkout_service(_k(request))
    quote_id, method_id = str(form.get("quote", "")), str(form.get("method", ""))
    idem = str(form.get("idem", ""))[:100] or secrets.token_hex(12)
    try:
        if form.get("step") == "place":
            # The points of every relay quote share the radio name: only the chosen quote's count.
            point = str(form.get("pickup_point", "")) if quote_id in form.getlist("pickup_quote") else ""
            back = f"{str(request.base_url).rstrip('/')}/shop/checkout/return/{idem}"
            try:
                placed = await run_in_threadpool(svc.place, CheckoutRequest(
                    cart_token=token, email=values["email"], address=address, shipping_quote_id=quote_id,
                    payment_method_id=method_id, idempotency_key=idem, pickup_point_id=point, return_url=back))
            except ComptoirError as exc:
                if exc.field != "pickup_point_id" and getattr(exc, "hook", None) != "shipping_pickup_points":
                    raise
                # Nothing was reserved or charged: the same choices again, with the reason.
                choices = await run_in_threadpool(_choices, svc, token, address)
                return _shop(request, "checkout.html", status=exc.status, step="choose", values=values, idem=idem,
                             chosen={"quote": quote_id, "method": method_id, "point": point}, error=exc.message,
                             error_field="pickup_point_id", **choices)
            request.session.pop("cart", None)
            request.session["cart_count"] = 0
            request.session["last_order"] = placed.order_id
            _k(request).jobs.notify()
            return RedirectResponse(f"/shop/orders/{placed.order_id}", status_code=303)
        choices = await run_in_threadpool(_choices, svc, token, address)
        return _shop(request, "checkout.html", step="choose", values=values, idem=idem, chosen={}, **choices)
    except ComptoirError as exc:
        return _shop(request, "checkout.html", status=exc.status, step="address", values=values, error=exc.message,
                     error_field=exc.field)


async def checkout_return(request: Request) -> Response:
    """Where a payment provider sends the shopper back (PaymentRequest.return_url): the
    order does not exist yet when the payment is authorized, so the address names the
    checkout by its idempotency key and leads to the order page once it is placed."""
    key = request.path_params["key"]

    def find() -> int | None:
        with read_only(_k(request).factory) as s:
            return s.scalars(select(CheckoutAttempt.order_id).where(CheckoutAttempt.idempotency_key == key,
                                                                    CheckoutAttempt.status == "placed")).first()

    oid = await run_in_threadpool(find)
    if oid is None or request.session.get("last_order") != oid:  # only the buyer's own browser
        raise NotFound("no such order in this browser; check your confirmation e-mail", field="order")
    return RedirectResponse(f"/shop/orders/{oid}", status_code=303)


# What the shopper reads about the payment, by its state (queries.order_payment).
PAYMENT_NOTES = {
    "pending": "Waiting for your payment.",
    "failed": "The last payment attempt did not go through; you can try again.",
    "authorized": "Payment authorized: your card is charged when the parcel ships.",
    "captured": "Payment received, thank you!",
    "voided": "The payment was cancelled.",
    "refunded": "The payment was refunded.",
}


def _own_order(request: Request) -> int:
    oid = int(request.path_params["order_id"])
    if request.session.get("last_order") != oid:  # only the buyer's own browser sees it
        raise NotFound("no such order in this browser; check your confirmation e-mail", field="order")
    return oid


def _order_state(request: Request, oid: int) -> dict[str, Any]:
    with read_only(_k(request).factory) as s:
        o = s.get(Order, oid)
        assert o is not None
        order = order_dict(s, o)
        payment = order_payment(s, oid)
    state = payment["state"] if payment else ""
    return {"o": order, "payment": payment, "state": state, "note": PAYMENT_NOTES.get(state, ""),
            "live": order["status"] == "placed" and state in ("pending", "failed")}


async def confirmation(request: Request) -> Response:
    oid = _own_order(request)
    ctx = await run_in_threadpool(_order_state, request, oid)
    shown = None
    if ctx["live"] and ctx["state"] in PAYABLE:
        back = f"{str(request.base_url).rstrip('/')}/shop/orders/{oid}"
        shown = await run_in_threadpool(payment_block, _k(request), ctx["payment"], ctx["o"]["number"], back)
    response = _shop(request, "confirmation.html", shown=shown, **ctx)
    response.headers["Content-Security-Policy"] = page_csp(shown)
    response.headers["Cache-Control"] = "no-store"  # the provider's form may carry a one-payment secret
    return response


async def order_status(request: Request) -> Response:
    """The order and payment state, polled by the order page (htmx) or read as JSON."""
    oid = _own_order(request)
    ctx = await run_in_threadpool(_order_state, request, oid)
    headers = {"Cache-Control": "no-store"}
    if "application/json" in request.headers.get("accept", "") and not request.headers.get("hx-request"):
        return JSONResponse({"status": ctx["o"]["status"], "payment": ctx["state"], "payable": ctx["live"]},
                            headers=headers)
    response = render(request, "shop/_order_status.html", settled=ctx["state"] not in ("", "pending", "failed"),
                      **ctx)
    response.headers.update(headers)
    return response


routes = [
    Route("/", home),
    Route("/shop", home),
    Route("/shop/c/{slug}", category),
    Route("/shop/p/{slug}", product),
    Route("/shop/cart", cart, methods=["GET", "POST"]),
    Route("/shop/checkout", checkout, methods=["GET", "POST"]),
    Route("/shop/checkout/return/{key}", checkout_return),
    Route("/shop/orders/{order_id:int}", confirmation),
    Route("/shop/orders/{order_id:int}/status", order_status),
]
