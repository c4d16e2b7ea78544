"""Storefront API: catalog, availability per store, carts, quotes, checkout, orders."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from comptoir.kernel.db import read_conn, read_only, write_conn
from comptoir.kernel.domain import Cart, Category, Location, Order, OrderLine
from comptoir.kernel.errors import NotFound
from comptoir.kernel.services.carts import add_item_by_token, cart_view, create_cart, get_cart, set_line
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.types import Address, PickupPoint
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset
from comptoir.kernel.web.queries import (
    SORTS, list_products, location_dict, money, product_availability, product_detail,
)

api = Api()
P = "/api/v1"
LIST = limit_offset()


def cart_dict(s: Any, cart: Cart) -> dict[str, Any]:
    view = cart_view(s, cart)
    return {"token": cart.token, "status": cart.status, "currency": cart.currency,
            "lines": [{"variant_id": ln.variant_id, "sku": ln.sku, "title": ln.title, "quantity": ln.quantity,
                       "unit_price": money(ln.unit_price.amount, ln.unit_price.currency),
                       "total": money(ln.total.amount, ln.total.currency)} for ln in view.lines],
            "subtotal": money(view.subtotal.amount, view.subtotal.currency),
            "item_count": sum(ln.quantity for ln in view.lines)}


def order_pickup_point(shipping_quote: dict[str, Any] | None) -> dict[str, Any] | None:
    """The pickup point chosen at checkout (kept in the order's shipping quote by
    CheckoutService._write_order), or None when the parcel goes to the shipping address.
    A missing key reads as empty rather than failing the whole order page."""
    point = (shipping_quote or {}).get("pickup_point")
    if not isinstance(point, dict):
        return None
    a = point.get("address") if isinstance(point.get("address"), dict) else {}
    return {"id": str(point.get("id") or ""), "name": str(point.get("name") or ""),
            "carrier": str(point.get("carrier") or ""), "opening_hours": str(point.get("opening_hours") or ""),
            "address": {k: str(a.get(k) or "") for k in ("name", "line1", "line2", "postal_code", "city", "country")}}


def order_dict(s: Any, o: Order, *, lines: bool = True) -> dict[str, Any]:
    out = {"id": o.id, "number": o.number, "reference": o.reference, "status": o.status, "channel": o.channel,
           "email": o.email, "customer_id": o.customer_id, "currency": o.currency, "subtotal": o.subtotal,
           "shipping_total": o.shipping_total, "discount_total": o.discount_total, "total": o.total, "refunded_total": o.refunded_total,
           "payment_method": o.payment_method, "capture_mode": o.capture_mode,
           "placed_at": o.placed_at.isoformat(), "pickup_point": order_pickup_point(o.shipping_quote), "lines": []}
    if lines:
        out["lines"] = [{"id": ln.id, "sku": ln.sku, "title": ln.title, "quantity": ln.quantity,
                         "unit_price": ln.unit_price, "total": ln.total}
                        for ln in s.scalars(select(OrderLine).where(OrderLine.order_id == o.id).order_by(OrderLine.id))]
    return out


@api.op("GET", f"{P}/products", summary="Browse and search the catalog", tag="catalog", etag=True, cache_s=1.0,
        response=S.page_of(S.ProductSummary), paginated=True, query=(
            Param("q", {"type": "string", "maxLength": 100}, "words in the title, description or SKU"),
            Param("category", {"type": "string", "maxLength": 120}, "category slug"),
            Param("collection", {"type": "string", "maxLength": 120}, "promo collection slug"),
            Param("min_price", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "minor units"),
            Param("max_price", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "minor units"),
            Param("in_stock", {"type": "boolean"}, "only products with units available"),
            Param("location_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                  "count stock at this store only"),
            Param("sort", {"type": "string", "enum": list(SORTS), "default": "title"}), *LIST))
def list_catalog(call: Call) -> Page:
    """Products with their lowest price and the units available online (or at one store).
    Responses carry an ETag; send If-None-Match to get 304 when nothing changed."""
    q = call.query
    with read_only(call.kernel.factory) as s:
        return list_products(s, q=q["q"] or "", category=q["category"] or "", collection=q["collection"] or "",
                             min_price=q["min_price"], max_price=q["max_price"], in_stock=bool(q["in_stock"]),
                             location_id=q["location_id"], sort=q["sort"], limit=q["limit"], offset=q["offset"])


@api.op("GET", f"{P}/products/{{slug}}", summary="Product detail", tag="catalog", etag=True, cache_s=1.0,
        response=S.ProductOut)
def get_product(call: Call) -> dict[str, Any]:
    """A product with its variants, prices, images and units available online; ``slug`` may be the id."""
    with read_only(call.kernel.factory) as s:
        return product_detail(s, call.path["slug"])


@api.op("GET", f"{P}/products/{{slug}}/availability", summary="Stock per store", tag="catalog", etag=True,
        response=S.AvailabilityOut)
def get_availability(call: Call) -> dict[str, Any]:
    """Units available per location and variant, to answer "is it in stock in the shop near me"."""
    with read_only(call.kernel.factory) as s:
        return product_availability(s, call.path["slug"])


@api.op("GET", f"{P}/categories", summary="Categories", tag="catalog", etag=True, paginated=True,
        response=S.page_of(S.CategoryOut), query=LIST)
def list_categories(call: Call) -> Page:
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Category)) or 0
        rows = s.scalars(select(Category).order_by(Category.name).limit(call.query["limit"])
                         .offset(call.query["offset"]))
        items = [{"id": c.id, "slug": c.slug, "name": c.name, "parent_id": c.parent_id} for c in rows]
    return Page(items, total, call.query["limit"], call.query["offset"])


@api.op("GET", f"{P}/locations", summary="Warehouses and stores", tag="catalog", paginated=True,
        response=S.page_of(S.LocationOut), query=LIST)
def list_locations(call: Call) -> Page:
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Location)) or 0
        rows = s.scalars(select(Location).order_by(Location.priority, Location.id).limit(call.query["limit"])
                         .offset(call.query["offset"]))
        return Page([location_dict(loc) for loc in rows], total, call.query["limit"], call.query["offset"])


@api.op("POST", f"{P}/carts", summary="Start a cart", tag="cart", body=S.CartIn, response=S.CartOut, status=201)
def new_cart(call: Call) -> dict[str, Any]:
    """Returns the cart and its ``token``; the token is the cart's only key, keep it."""
    with write_conn(call.kernel.cart_engine) as c:  # see Kernel.cart_engine: no wait for the disk
        cart = create_cart(c, call.body.currency, email=call.body.email)
    zero = money(0, cart.currency)  # a new cart has no lines: no need to read them back
    return {"token": cart.token, "status": cart.status, "currency": cart.currency, "lines": [],
            "subtotal": zero, "item_count": 0}


@api.op("GET", f"{P}/carts/{{token}}", summary="Read a cart", tag="cart", response=S.CartOut)
def read_cart(call: Call) -> dict[str, Any]:
    with read_conn(call.kernel.engine) as c:
        return cart_dict(c, get_cart(c, call.path["token"]))


@api.op("POST", f"{P}/carts/{{token}}/items", summary="Add a product to the cart", tag="cart", body=S.CartItemIn,
        response=S.CartOut)
def add_to_cart(call: Call) -> dict[str, Any]:
    with write_conn(call.kernel.cart_engine) as s:  # Core connection, commits without waiting for the disk
        cart = add_item_by_token(s, call.path["token"], sku=call.body.sku, quantity=call.body.quantity)
        return cart_dict(s, cart)


@api.op("PUT", f"{P}/carts/{{token}}/items/{{sku}}", summary="Set a line's quantity (0 removes it)", tag="cart",
        body=S.CartQuantityIn, response=S.CartOut)
def set_cart_line(call: Call) -> dict[str, Any]:
    with write_conn(call.kernel.cart_engine) as s:  # Core connection, commits without waiting for the disk
        cart = get_cart(s, call.path["token"])
        set_line(s, cart, sku=call.path["sku"], quantity=call.body.quantity)
        return cart_dict(s, cart)


@api.op("POST", f"{P}/carts/{{token}}/shipping-quotes", summary="Shipping quotes for an address", tag="checkout",
        body=S.QuoteIn, response={"type": "array", "items": {"$ref": "#/components/schemas/QuoteOut"}})
def quotes(call: Call) -> list[dict[str, Any]]:
    """Every enabled carrier's offers, cheapest first."""
    found = checkout_service(call.kernel).shipping_quotes(call.path["token"], call.body.address.to_address())
    return [{"id": q.id, "carrier": q.carrier, "service": q.service, "price": money(q.price.amount, q.price.currency),
             "min_days": q.min_days, "max_days": q.max_days, "pickup_point_required": q.pickup_point_required}
            for q in found]


def pickup_point_dict(p: PickupPoint) -> dict[str, Any]:
    a = p.address
    return {"id": p.id, "name": p.name, "carrier": p.carrier, "opening_hours": p.opening_hours,
            "distance_m": p.distance_m, "address": {"name": a.name, "line1": a.line1, "line2": a.line2,
                                                    "postal_code": a.postal_code, "city": a.city, "country": a.country}}


@api.op("GET", f"{P}/carts/{{token}}/pickup-points", summary="Pickup points for a relay quote", tag="checkout",
        response={"type": "array", "items": {"$ref": "#/components/schemas/PickupPointOut"}}, query=(
            Param("quote_id", {"type": "string", "maxLength": 200}, "a quote with pickup_point_required", True),
            Param("postal_code", {"type": "string", "maxLength": 20}, "the shipping address's postal code", True),
            Param("country", {"type": "string", "maxLength": 2, "pattern": "^[A-Za-z]{2}$"}, "ISO code", True)))
def pickup_points(call: Call) -> list[dict[str, Any]]:
    """The carrier's ten points nearest the postal code, nearest first, for the shopper to
    choose from. Send the chosen ``id`` as ``pickup_point_id`` at checkout: it must be among
    the points near the shipping address."""
    q = call.query
    near = Address(name="", line1="", postal_code=q["postal_code"].strip(), city="", country=q["country"].upper())
    return [pickup_point_dict(p) for p in checkout_service(call.kernel).pickup_points(call.path["token"],
                                                                                     q["quote_id"], near)]


@api.op("GET", f"{P}/carts/{{token}}/payment-methods", summary="Payment methods for a cart", tag="checkout",
        response={"type": "array", "items": {"$ref": "#/components/schemas/PaymentMethodOut"}})
def payment_methods(call: Call) -> list[dict[str, Any]]:
    return [{"id": m.id, "title": m.title, "description": m.description, "capture": m.capture}
            for m in checkout_service(call.kernel).payment_methods(call.path["token"])]


def place_order(call: Call, body: S.CheckoutIn, customer_id: int | None) -> dict[str, Any]:
    placed = checkout_service(call.kernel).place(CheckoutRequest(
        cart_token=body.cart_token, email=body.email, address=body.address.to_address(),
        shipping_quote_id=body.shipping_quote_id, payment_method_id=body.payment_method_id,
        idempotency_key=body.idempotency_key, customer_id=customer_id, pickup_point_id=body.pickup_point_id,
        return_url=body.return_url))
    return {"order_id": placed.order_id, "number": placed.number, "reference": placed.reference, "status": placed.status,
            "total": money(placed.total.amount, placed.total.currency), "payment_status": placed.payment_status,
            "next_action_url": placed.next_action_url}


@api.op("POST", f"{P}/checkout", summary="Place the order", tag="checkout", body=S.CheckoutIn, response=S.PlacedOut,
        status=201)
def checkout(call: Call) -> dict[str, Any]:
    """Reserves stock, authorizes the payment and writes the order, all or nothing.
    Idempotent on ``idempotency_key``. A signed-in customer (X-Customer-Token) gets the
    order in their history."""
    tokens = call.request.app.state.customer_tokens
    cid = tokens.read(call.request.headers.get("x-customer-token", ""))
    return place_order(call, call.body, cid)


@api.op("GET", f"{P}/orders/{{reference}}", summary="Order status", tag="orders", response=S.OrderOut,
        query=(Param("email", {"type": "string", "maxLength": 320}, "the e-mail given at checkout", True),))
def order_status(call: Call) -> dict[str, Any]:
    """An order by its checkout reference; the e-mail must match (guest access)."""
    with read_only(call.kernel.factory) as s:
        o = s.scalars(select(Order).where(Order.reference == call.path["reference"])).first()
        if o is None or o.email != (call.query["email"] or "").strip().lower():
            raise NotFound("no order with this reference and e-mail", field="reference")
        return order_dict(s, o)


RECO_KINDS = ["for_you", "similar", "bought_together", "popular", "trending"]


def recommend(call_kernel: Any, kind: str, *, k: int = 8, product_id: int | None = None,
              customer_id: int | None = None) -> list[dict[str, Any]]:
    """Ask the recommendation engine (first plugin that answers) and return summaries."""
    from comptoir.kernel.types import RecoRequest

    req = RecoRequest(kind=kind, k=k, product_ids=(product_id,) if product_id else (),  # type: ignore[arg-type]
                      customer_id=customer_id, exclude=(product_id,) if product_id else ())
    scored = call_kernel.host.call("recommend", request=req) or []
    with read_only(call_kernel.factory) as s:
        from comptoir.kernel.web.queries import summaries

        items = summaries(s, [x.product_id for x in scored][:k])
    score = {x.product_id: x.score for x in scored}
    return [{**it, "score": score.get(it["id"], 0.0)} for it in items]


@api.op("GET", f"{P}/recommendations", summary="Recommended products", tag="catalog",
        response={"type": "array", "items": {"$ref": "#/components/schemas/ProductSummary"}}, query=(
            Param("kind", {"type": "string", "enum": RECO_KINDS, "default": "popular"}),
            Param("product_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                  "the product being viewed (similar, bought_together)"),
            Param("k", {"type": "integer", "minimum": 1, "maximum": 50, "default": 8})))
def recommendations(call: Call) -> list[dict[str, Any]]:
    """``for_you`` uses the signed-in customer (X-Customer-Token) when there is one.
    Empty when no recommendation plugin is enabled."""
    tokens = call.request.app.state.customer_tokens
    cid = tokens.read(call.request.headers.get("x-customer-token", ""))
    return recommend(call.kernel, call.query["kind"], k=call.query["k"], product_id=call.query["product_id"],
                     customer_id=cid)
