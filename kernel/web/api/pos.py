"""Point-of-sale endpoints (API token with the ``pos`` scope).

A till shares the web's stock, customers and loyalty ledger in real time: an in-store
sale takes units with the same conditional UPDATE as an online checkout (so the last
unit goes to one buyer only), and points earned in the shop can be spent online.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Cart, CheckoutAttempt, Customer, Location, Order, OrderLine, PaymentTransaction
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import Conflict, NotFound, ValidationFailed
from comptoir.kernel.money import Money
from comptoir.kernel.services import loyalty, stock
from comptoir.kernel.services.carts import add_item, cart_view, create_cart
from comptoir.kernel.services.checkout import validate_email
from comptoir.kernel.services.outbox import emit
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.customers import customer_dict
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset
from comptoir.kernel.web.queries import list_products

api = Api()
P = "/api/pos/v1"
POINT_VALUE = 1  # one point redeems one minor unit (a cent)


def _location(call: Call, given: int | None) -> int:
    loc = given or (call.principal.location_id if call.principal else None)
    if not loc:
        raise ValidationFailed("this till has no store: give location_id, or bind the token to a location",
                               field="location_id")
    return loc


@api.op("GET", f"{P}/products", summary="Find products with stock at this store", tag="pos", right="pos",
        paginated=True, response=S.page_of(S.ProductSummary), query=(
            Param("q", {"type": "string", "maxLength": 100}, "title or SKU (a scanned barcode)"),
            Param("location_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}), *limit_offset(20)))
def pos_products(call: Call) -> Page:
    loc = _location(call, call.query["location_id"])
    with read_only(call.kernel.factory) as s:
        return list_products(s, q=call.query["q"] or "", location_id=loc, limit=call.query["limit"],
                             offset=call.query["offset"])


@api.op("GET", f"{P}/customers", summary="Find a customer by e-mail, phone or name", tag="pos", right="pos",
        paginated=True, response=S.page_of(S.CustomerOut),
        query=(Param("q", {"type": "string", "minLength": 1, "maxLength": 100}, required=True), *limit_offset(10)))
def pos_customers(call: Call) -> Page:
    q = (call.query["q"] or "").lower()
    cond = or_(Customer.email.contains(q), Customer.phone.contains(q), func.lower(Customer.name).contains(q))  # type: ignore[attr-defined]
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Customer).where(cond)) or 0
        rows = s.scalars(select(Customer).where(cond).order_by(Customer.id).limit(lim).offset(off))
        return Page([{**customer_dict(c), "loyalty_points": loyalty.balance(s, c.id or 0)} for c in rows],
                    total, lim, off)


@api.op("POST", f"{P}/customers", summary="Register a customer at the till", tag="pos", right="pos",
        body=S.CustomerIn, response=S.CustomerOut, status=201)
def pos_new_customer(call: Call) -> dict[str, Any]:
    b: S.CustomerIn = call.body
    email = validate_email(b.email)
    with transaction(call.kernel.factory) as s:
        if s.scalar(select(Customer.id).where(Customer.email == email)) is not None:
            raise Conflict(f"{email} is already a customer; look them up instead", field="email")
        c = Customer(email=email, name=b.name, phone=b.phone, marketing_consent=b.marketing_consent,
                     consent_at=utcnow() if b.marketing_consent else None)
        s.add(c)
        s.flush()
        return {**customer_dict(c), "loyalty_points": 0}


LOYALTY = {"type": "object", "properties": {"customer_id": {"type": "integer"}, "points": {"type": "integer"}}}


@api.op("GET", f"{P}/customers/{{customer_id}}/loyalty", summary="Loyalty balance", tag="pos", right="pos",
        response=LOYALTY)
def pos_loyalty(call: Call) -> dict[str, Any]:
    with read_only(call.kernel.factory) as s:
        if s.get(Customer, call.path["customer_id"]) is None:
            raise NotFound(f"no customer {call.path['customer_id']}", field="customer_id")
        return {"customer_id": call.path["customer_id"], "points": loyalty.balance(s, call.path["customer_id"])}


@api.op("POST", f"{P}/sales", summary="Ring up an in-store sale", tag="pos", right="pos", body=S.SaleIn,
        response=S.OrderOut, status=201)
def pos_sale(call: Call) -> dict[str, Any]:
    """Takes the units from this store's stock, records a paid order on the ``pos`` channel,
    optionally spends loyalty points (1 point = 1 minor unit off) and earns new ones.
    Idempotent on ``idempotency_key``."""
    b: S.SaleIn = call.body
    loc = _location(call, b.location_id)
    key = b.idempotency_key or secrets.token_hex(16)
    with read_only(call.kernel.factory) as s:
        done = s.scalar(select(CheckoutAttempt.order_id).where(CheckoutAttempt.idempotency_key == f"pos-{key}"))
        if done:
            from comptoir.kernel.web.api.storefront import order_dict

            return order_dict(s, s.get(Order, done))  # type: ignore[arg-type]
    with transaction(call.kernel.factory) as s:
        if s.get(Location, loc) is None:
            raise NotFound(f"no location {loc}", field="location_id")
        email = ""
        if b.customer_id is not None:
            c = s.get(Customer, b.customer_id)
            if c is None:
                raise NotFound(f"no customer {b.customer_id}", field="customer_id")
            email = c.email
        cart = create_cart(s, "EUR", channel="pos", customer_id=b.customer_id, email=email)
        for i, line in enumerate(b.lines):
            try:
                add_item(s, cart, sku=line.sku, quantity=line.quantity)
            except NotFound as exc:
                raise NotFound(exc.message, field=f"lines.{i}.sku") from None
        view = cart_view(s, cart)
        discount = 0
        if b.redeem_points:
            if b.customer_id is None:
                raise ValidationFailed("points need a customer", field="redeem_points")
            discount = min(b.redeem_points * POINT_VALUE, view.subtotal.amount)
            loyalty.redeem(s, b.customer_id, -(-discount // POINT_VALUE), channel="pos")
        total = view.subtotal.amount - discount
        reference = "POS-" + secrets.token_hex(6).upper()
        now = utcnow()
        attempt = s.execute(insert(CheckoutAttempt).values(
            reference=reference, idempotency_key=f"pos-{key}", cart_id=cart.id, status="authorizing",
            payment_plugin="pos", payment_method=b.payment, amount=total, currency=view.currency,
            created_at=now).returning(CheckoutAttempt.id)).scalar_one()
        stock.reserve(s, attempt, [(ln.variant_id, ln.quantity) for ln in view.lines], now + timedelta(minutes=1),
                      location_id=loc)
        held = {h.variant_id: h.location_id for h in stock.commit_reservations(s, attempt)}
        order_id = s.execute(insert(Order).values(
            reference=reference, customer_id=b.customer_id, email=email or f"till-{loc}@pos.invalid",
            status="paid", channel="pos", currency=view.currency, subtotal=view.subtotal.amount, shipping_total=0,
            discount_total=discount, total=total, payment_plugin="pos", payment_method=b.payment,
            capture_mode="immediate", shipping_plugin="", shipping_quote={}, shipping_address={},
            placed_at=now, paid_at=now).returning(Order.id)).scalar_one()
        s.execute(insert(OrderLine), [
            {"order_id": order_id, "variant_id": ln.variant_id, "sku": ln.sku, "title": ln.title,
             "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "total": ln.total.amount,
             "location_id": held[ln.variant_id], "refunded_quantity": 0} for ln in view.lines])
        s.execute(insert(PaymentTransaction).values(
            order_id=order_id, plugin="pos", method=b.payment, kind="capture", status="captured", amount=total,
            currency=view.currency, idempotency_key=f"pos-pay-{key}", message=f"till {call.actor}", created_at=now))
        s.execute(update(Cart).where(Cart.id == cart.id).values(status="converted"))
        s.execute(update(CheckoutAttempt).where(CheckoutAttempt.id == attempt).values(status="placed",
                                                                                      order_id=order_id))
        payload = {"order_id": order_id, "reference": reference, "total": total, "currency": view.currency,
                   "email": email, "channel": "pos", "customer_id": b.customer_id, "location_id": loc}
        emit(s, "order.placed", payload)
        emit(s, "order.paid", payload)
        loyalty.earn_for_order(s, order_id, b.customer_id, Money(total, view.currency), "pos")
        from comptoir.kernel.web.api.storefront import order_dict

        out = order_dict(s, s.get(Order, order_id))  # type: ignore[arg-type]
        out["loyalty_points"] = loyalty.balance(s, b.customer_id) if b.customer_id else None
        return out
