"""Checkout: cart → ranked shipping quotes → payment → order.

The order of operations is what makes a crash harmless:

1. Transaction 1 writes a ``CheckoutAttempt`` (status ``authorizing``) and reserves
   stock with conditional UPDATEs. Out of stock → nothing is written.
2. The payment plugin authorizes, idempotent on the attempt's key.
3. Declined → transaction 2 releases the reservations; no order exists.
   Authorized → transaction 2 turns reservations into a sale and writes the order,
   its lines, the payment transaction, the ``order.placed`` event and the attempt's
   final status, all at once.

A crash between 1 and 3 leaves an ``authorizing`` attempt with reservations and no
order; ``recover_stale_attempts`` voids the payment by idempotency key and releases
the stock. So the shop ends with a whole order or with nothing.
"""
from __future__ import annotations

import contextvars
import secrets
import urllib.parse
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from comptoir.kernel.db import read_conn, transaction, write_conn
from comptoir.kernel.domain import Cart, CheckoutAttempt, Order, OrderLine, PaymentTransaction
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import (
    ComptoirError, Conflict, NoProvider, PaymentDeclined, PluginError, ValidationFailed,
)
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.money import Money
from comptoir.kernel.services import stock
from comptoir.kernel.services.carts import view_by_token
from comptoir.kernel.services.outbox import emit
from comptoir.kernel.types import (
    Address, CartView, OrderDraft, PaymentMethod, PaymentRef, PaymentRequest, PaymentResult, PickupPoint,
    ShipmentRequest, ShippingQuote,
)

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

COUNTRY_LEN = 2
RETURN_URL_MAX = 2000
# Points listed to the shopper, and searched again at placement to confirm the chosen one:
# the second search is wider so a point from the list is still found if the carrier's
# ranking moved a little in between.
PICKUP_LIST_LIMIT = 10
PICKUP_CONFIRM_LIMIT = 30


@dataclass(frozen=True)
class CheckoutRequest:
    cart_token: str
    email: str
    address: Address
    shipping_quote_id: str
    payment_method_id: str
    idempotency_key: str = ""
    customer_id: int | None = None
    pickup_point_id: str = ""  # required when the chosen quote has pickup_point_required
    return_url: str = ""  # where a provider that redirects the shopper (3-D Secure, PayPal) sends them back


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    number: str
    status: str
    total: Money
    payment_status: str
    next_action_url: str = ""
    replayed: bool = False
    reference: str = ""  # the checkout reference (shown on statements and to the customer)  # True when an earlier identical request had already placed it


def validate_address(address: Address) -> None:
    for name in ("name", "line1", "postal_code", "city", "country"):
        if not str(getattr(address, name, "")).strip():
            raise ValidationFailed(f"shipping address {name} is required", field=f"address.{name}")
    if len(address.country) != COUNTRY_LEN or not address.country.isalpha():
        raise ValidationFailed("country must be a 2-letter ISO code such as 'FR'", field="address.country")


def validate_email(email: str) -> str:
    email = (email or "").strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or " " in email:
        raise ValidationFailed("a valid e-mail address is required", field="email")
    return email.lower()


def validate_return_url(url: str) -> str:
    """An absolute http(s) URL without credentials, or empty."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    if (len(url) > RETURN_URL_MAX or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.username is not None or any(c.isspace() or ord(c) < 32 for c in url)):
        raise ValidationFailed(f"return_url must be an absolute http(s) URL of at most {RETURN_URL_MAX} characters, "
                               "such as https://shop.example/orders/42", field="return_url")
    return url


def rank_quotes(quotes: list[ShippingQuote]) -> list[ShippingQuote]:
    """Cheapest first; equal prices ranked by the fastest promise."""
    return sorted(quotes, key=lambda q: (q.price.amount, q.max_days, q.min_days, q.carrier, q.id))


# The kernel's own implementation of the ``order_placement`` hook: it performs the
# write that plugin wrappers surround. The write to do is passed in a context variable
# so that concurrent checkouts in threads never see each other's.
_pending_write: contextvars.ContextVar[Callable[[], int]] = contextvars.ContextVar("comptoir_pending_write")


class _Replay(Exception):
    """Internal: the idempotency key was seen before."""


class _OrderWriter:
    @hookimpl
    def order_placement(self, ctx: Any, draft: OrderDraft) -> int:
        return _pending_write.get()()


class CheckoutService:
    """Quotes, payment methods and order placement for one kernel."""

    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self.host = kernel.host
        self.factory = kernel.factory
        if not self.host.pm.is_registered(_WRITER):
            self.host.pm.register(_WRITER, name="kernel-order-writer")

    # ---- what the shopper chooses from ---------------------------------------
    def _view(self, cart_token: str, address: Address | None = None, *, replay_key: str = "") -> CartView:
        with read_conn(self.kernel.engine) as c:
            if replay_key and c.execute(_ATTEMPT_BY_KEY, {"key": replay_key}).first() is not None:
                raise _Replay()
            cart, view = view_by_token(c, cart_token, address)  # one round trip
            if cart.status != "open":
                raise Conflict(f"this cart is {cart.status}; start a new one", field="cart")
        if not view.lines:
            raise ValidationFailed("the cart is empty; add a product first", field="cart")
        return view

    def shipping_quotes(self, cart_token: str, address: Address) -> list[ShippingQuote]:
        """Every enabled carrier's offers, ranked. Raises ``NoProvider`` when none ships there."""
        validate_address(address)
        view = self._view(cart_token, address)
        return self._quotes(view, address)

    def _quotes(self, view: CartView, address: Address) -> list[ShippingQuote]:
        request = ShipmentRequest(destination=address, weight_grams=view.weight_grams, value=view.subtotal)
        quotes = [replace(q, plugin=plugin) for plugin, answer in self.host.call_each("shipping_quotes", shipment=request)
                  for q in answer if q.price.currency == view.currency]
        if not quotes:
            raise NoProvider(f"no carrier delivers to {address.country} {address.postal_code}; "
                             "enable a shipping plugin that covers this zone", field="address.country")
        return rank_quotes(quotes)

    def pickup_points(self, cart_token: str, quote_id: str, near: Address,
                      limit: int = PICKUP_LIST_LIMIT) -> list[PickupPoint]:
        """The points the shopper chooses from for ``quote_id``, nearest ``near`` first.

        Only relay carriers (plugins implementing ``shipping_pickup_points``) are asked
        for quotes, to find which one offers ``quote_id``; ``near`` may hold only a postal
        code and a country."""
        if len(near.country) != COUNTRY_LEN or not near.country.isalpha():
            raise ValidationFailed("country must be a 2-letter ISO code such as 'FR'", field="country")
        if not near.postal_code.strip():
            raise ValidationFailed("postal_code is required", field="postal_code")
        view = self._view(cart_token, near)
        request = ShipmentRequest(destination=near, weight_grams=view.weight_grams, value=view.subtotal)
        for rec in self.host.enabled():
            if not self.host.implements(rec.name, "shipping_pickup_points"):
                continue
            try:
                offered = self.host.call_one(rec.name, "shipping_quotes", shipment=request) or []
            except PluginError:
                continue  # journaled; another relay carrier may offer the quote
            quote = next((q for q in offered if q.id == quote_id and q.price.currency == view.currency), None)
            if quote is not None and quote.pickup_point_required:
                return self.points_for(replace(quote, plugin=rec.name), near, limit)
        raise ValidationFailed(f"shipping option {quote_id!r} is not delivered to a pickup point for this cart and "
                               "address; use the id of a quote with pickup_point_required", field="quote_id")

    def points_for(self, quote: ShippingQuote, near: Address, limit: int = PICKUP_LIST_LIMIT) -> list[PickupPoint]:
        """The points of ``quote``'s carrier (a quote from ``shipping_quotes``) near ``near``."""
        try:
            points = self.host.call_one(quote.plugin, "shipping_pickup_points", near=near, limit=limit)
        except PluginError:  # the plugin's own message stays in the journal, not in the shopper's face
            points = None
        if points is None:  # failed, or answered after its time budget
            raise PluginError(f"{quote.carrier} could not list its pickup points just now; try again in a moment "
                              "or choose another delivery option", plugin=quote.plugin, hook="shipping_pickup_points")
        return list(points)[:limit]

    def _chosen_point(self, quote: ShippingQuote, address: Address, point_id: str) -> PickupPoint | None:
        """The pickup point of the order, confirmed with the carrier, or None when the quote
        delivers to the address. Raises ``ValidationFailed`` naming ``pickup_point_id``."""
        point_id = (point_id or "").strip()
        if not quote.pickup_point_required:
            if point_id:
                raise ValidationFailed(f"shipping option {quote.id!r} delivers to the address, not to a pickup "
                                       "point; leave pickup_point_id empty", field="pickup_point_id")
            return None
        if not point_id:
            raise ValidationFailed(f"{quote.carrier} {quote.service} delivers to a pickup point: choose one of its "
                                   f"points near {address.postal_code}", field="pickup_point_id")
        point = next((p for p in self.points_for(quote, address, PICKUP_CONFIRM_LIMIT) if p.id == point_id), None)
        if point is None:
            raise ValidationFailed(f"pickup point {point_id[:60]!r} is not among {quote.carrier}'s points near "
                                   f"{address.postal_code} {address.country}; choose one from the list",
                                   field="pickup_point_id")
        return point

    def payment_methods(self, cart_token: str) -> list[PaymentMethod]:
        view = self._view(cart_token)
        return self._methods(view)

    def _methods(self, view: CartView) -> list[PaymentMethod]:
        return [replace(m, plugin=plugin) for plugin, answer in self.host.call_each("payment_methods", cart=view)
                for m in answer]

    # ---- placing the order ---------------------------------------------------
    def place(self, req: CheckoutRequest) -> PlacedOrder:
        """Place an order; idempotent on ``req.idempotency_key`` (a retry returns the same order)."""
        email = validate_email(req.email)
        validate_address(req.address)
        return_url = validate_return_url(req.return_url)
        key = req.idempotency_key or secrets.token_hex(16)
        if len(key) > 100:
            raise ValidationFailed("idempotency_key is at most 100 characters", field="idempotency_key")
        try:  # one read answers both "was this key used?" and "what is in the cart?"
            view = self._view(req.cart_token, req.address, replay_key=req.idempotency_key)  # a fresh key was never used
        except (_Replay, Conflict):
            earlier = self._replay(key)
            if earlier is not None:
                return earlier
            raise

        quote = next((q for q in self._quotes(view, req.address) if q.id == req.shipping_quote_id), None)
        if quote is None:
            raise ValidationFailed(f"shipping option {req.shipping_quote_id!r} is not offered for this cart and "
                                   "address any more; ask for quotes again", field="shipping_quote_id")
        method = next((m for m in self._methods(view) if m.id == req.payment_method_id), None)
        if method is None:
            raise ValidationFailed(f"payment method {req.payment_method_id!r} is not available",
                                   field="payment_method_id")
        point = self._chosen_point(quote, req.address, req.pickup_point_id)
        total = view.subtotal + quote.price
        reference = "CK-" + secrets.token_hex(6).upper()

        # 1. attempt + reservations
        expires = utcnow() + timedelta(seconds=self.kernel.settings.reservation_ttl_s)
        try:
            with write_conn(self.kernel.engine) as c:
                attempt_id = c.execute(_NEW_ATTEMPT, dict(
                    reference=reference, idempotency_key=key, cart_id=view.cart_id, status="authorizing",
                    payment_plugin=method.plugin, payment_method=method.id, amount=total.amount,
                    currency=total.currency, order_id=None, error="", created_at=utcnow())).scalar_one()
                stock.reserve(c, attempt_id, [(ln.variant_id, ln.quantity) for ln in view.lines], expires)
        except IntegrityError:  # the same idempotency key, written by a concurrent request
            replayed = self._replay(key)
            if replayed is not None:
                return replayed
            raise Conflict("a checkout with this idempotency key is in progress; retry in a moment",
                           field="idempotency_key") from None

        # 2. payment
        pay_key = f"pay-{key}"
        try:
            result: PaymentResult = self.host.call_one(
                method.plugin, "payment_authorize",
                request=PaymentRequest(method_id=method.id, amount=total, idempotency_key=pay_key,
                                       reference=reference, customer_email=email, return_url=return_url))
            if result is None:
                raise PluginError(f"plugin {method.plugin!r} gave no answer to payment_authorize",
                                  plugin=method.plugin, hook="payment_authorize")
        except Exception as exc:
            self._abandon(attempt_id, "failed", f"{type(exc).__name__}")
            if isinstance(exc, PluginError):
                raise PaymentDeclined(f"the payment provider could not be reached ({exc.plugin}); "
                                      "nothing was charged, try again or choose another method",
                                      field="payment_method_id") from None
            raise
        if result.status in ("declined", "failed", "voided"):
            self._abandon(attempt_id, "declined", result.message)
            raise PaymentDeclined(f"payment declined: {result.message or 'no reason given'}",
                                  field="payment_method_id")

        # 3. the order, in one transaction, inside the plugins' order_placement wrappers
        draft = OrderDraft(reference=reference, cart=view, shipping=quote, payment_method_id=method.id, total=total)
        try:
            order_id = self._write_order(attempt_id, draft, req, email, method, result, pay_key, point)
        except Exception:
            self._void_quietly(method, result, pay_key, total)
            self._abandon(attempt_id, "abandoned", "order write failed")
            raise
        if self.kernel.jobs_started:
            self.kernel.jobs.notify()  # deliver order.placed now rather than at the next poll
        status = "paid" if result.status == "captured" else "placed"
        if result.status == "authorized" and method.capture == "immediate":
            from comptoir.kernel.services.orders import OrderService

            status = OrderService(self.kernel).capture(order_id, actor="system").status
        return PlacedOrder(order_id=order_id, number=f"C{order_id:07d}", status=status, total=total,
                           payment_status=result.status, next_action_url=result.next_action_url,
                           reference=reference)

    def _write_order(self, attempt_id: int, draft: OrderDraft, req: CheckoutRequest, email: str,
                     method: PaymentMethod, result: PaymentResult, pay_key: str, point: PickupPoint | None) -> int:
        view, quote, total = draft.cart, draft.shipping, draft.total
        assert quote is not None
        shipping_quote: dict[str, Any] = {"id": quote.id, "carrier": quote.carrier, "service": quote.service,
                                          "price": quote.price.amount, "min_days": quote.min_days,
                                          "max_days": quote.max_days}
        if point is not None:  # kept with the quote: the label goes there, staff and shopper see where
            shipping_quote.update(pickup_point_required=True, pickup_point={
                "id": point.id, "name": point.name, "carrier": point.carrier,
                "address": _address_dict(point.address), "opening_hours": point.opening_hours})

        def write() -> int:
            now = utcnow()
            with write_conn(self.kernel.engine) as s:
                held = stock.commit_reservations(s, attempt_id)
                where = {h.variant_id: h.location_id for h in held}
                paid = result.status == "captured"
                order_id = s.execute(_NEW_ORDER, dict(
                    reference=draft.reference, customer_id=req.customer_id, email=email,
                    status="paid" if paid else "placed", channel=view.channel, currency=view.currency,
                    subtotal=view.subtotal.amount, shipping_total=quote.price.amount, total=total.amount,
                    payment_plugin=method.plugin, payment_method=method.id, capture_mode=method.capture,
                    shipping_plugin=quote.plugin, shipping_quote=shipping_quote,
                    shipping_address=_address_dict(req.address), placed_at=now, paid_at=now if paid else None,
                    discount_total=0, refunded_total=0, fulfilled_at=None, cancelled_at=None,
                )).scalar_one()
                s.execute(_NEW_LINES, [
                    {"order_id": order_id, "variant_id": ln.variant_id, "sku": ln.sku, "title": ln.title,
                     "quantity": ln.quantity, "unit_price": ln.unit_price.amount, "total": ln.total.amount,
                     "location_id": where[ln.variant_id], "refunded_quantity": 0} for ln in view.lines])
                s.execute(_NEW_PAYMENT, dict(
                    order_id=order_id, plugin=method.plugin, method=method.id, kind="authorize",
                    status=result.status, amount=total.amount, currency=total.currency,
                    provider_reference=result.provider_reference, idempotency_key=pay_key,
                    message=result.message[:500], created_at=now))
                s.execute(_CONVERT_CART, {"cid": view.cart_id, "now": now})
                s.execute(_ATTEMPT_PLACED, {"aid": attempt_id, "oid": order_id})
                payload = {"order_id": order_id, "reference": draft.reference, "total": total.amount,
                           "currency": total.currency, "email": email, "channel": view.channel,
                           "customer_id": req.customer_id}
                emit(s, "order.placed", payload)
                if paid:
                    emit(s, "order.paid", payload)
                    from comptoir.kernel.services.loyalty import earn_for_order

                    earn_for_order(s, order_id, req.customer_id, total, view.channel)
                return int(order_id)

        token = _pending_write.set(write)
        try:
            results = self.host.pm.hook.order_placement(ctx=None, draft=draft)
        finally:
            _pending_write.reset(token)
        return int(results[0]) if isinstance(results, list) else int(results)

    # ---- helpers ---------------------------------------------------------------
    def _replay(self, key: str) -> PlacedOrder | None:
        with self.factory() as s:
            att = s.scalars(select(CheckoutAttempt).where(CheckoutAttempt.idempotency_key == key)).first()
            if att is None:
                return None
            if att.status == "placed" and att.order_id is not None:
                order = s.get(Order, att.order_id)
                assert order is not None
                pay = s.scalars(select(PaymentTransaction.status).where(
                    PaymentTransaction.order_id == order.id).order_by(PaymentTransaction.id.desc())).first()  # type: ignore[union-attr]
                return PlacedOrder(order.id or 0, order.number, order.status, Money(order.total, order.currency),
                                   pay or "", replayed=True, reference=order.reference)
            if att.status in ("declined", "failed"):
                raise PaymentDeclined(f"this checkout was already declined: {att.error or 'no reason given'}; "
                                      "use a new idempotency key to try again", field="idempotency_key")
            if att.status == "abandoned":
                raise Conflict("this checkout was abandoned; use a new idempotency key", field="idempotency_key")
            raise Conflict("a checkout with this idempotency key is in progress; retry in a moment",
                           field="idempotency_key")

    def _abandon(self, attempt_id: int, status: str, error: str) -> None:
        with transaction(self.factory) as s:
            stock.release(s, attempt_id)
            s.execute(update(CheckoutAttempt).where(CheckoutAttempt.id == attempt_id)
                      .values(status=status, error=error[:500]))

    def _void_quietly(self, method: PaymentMethod, result: PaymentResult, pay_key: str, total: Money) -> None:
        try:
            self.host.call_one(method.plugin, "payment_void", payment=PaymentRef(
                method_id=method.id, provider_reference=result.provider_reference, idempotency_key=pay_key,
                amount=total))
        except ComptoirError:
            pass  # recorded in the journal; the recovery job retries stale attempts


def _address_dict(a: Address) -> dict[str, str]:
    return {"name": a.name, "line1": a.line1, "line2": a.line2, "postal_code": a.postal_code, "city": a.city,
            "country": a.country.upper(), "phone": a.phone}


_WRITER = _OrderWriter()

# Prebuilt statements of the hot path (see carts.py: building costs more than running).
_NEW_ATTEMPT = insert(CheckoutAttempt).returning(CheckoutAttempt.id)
_NEW_ORDER = insert(Order).returning(Order.id)
_NEW_LINES = insert(OrderLine)
_NEW_PAYMENT = insert(PaymentTransaction)
_CONVERT_CART = update(Cart).where(Cart.id == bindparam("cid")).values(status="converted", updated_at=bindparam("now"))
_ATTEMPT_PLACED = (update(CheckoutAttempt).where(CheckoutAttempt.id == bindparam("aid"))
                   .values(status="placed", order_id=bindparam("oid")))
_ATTEMPT_BY_KEY = select(CheckoutAttempt.id).where(CheckoutAttempt.idempotency_key == bindparam("key"))


def recover_stale_attempts(kernel: "Kernel", *, older_than_s: int | None = None) -> int:
    """Finish what a crash left: void the payment of attempts stuck in ``authorizing``
    and release their stock. Returns how many attempts were recovered."""
    age = kernel.settings.reservation_ttl_s if older_than_s is None else older_than_s
    cutoff = utcnow() - timedelta(seconds=age)
    with kernel.factory() as s:
        stale = list(s.scalars(select(CheckoutAttempt).where(CheckoutAttempt.status == "authorizing",
                                                             CheckoutAttempt.created_at <= cutoff)))
    done = 0
    for att in stale:
        try:
            kernel.host.call_one(att.payment_plugin, "payment_void", payment=PaymentRef(
                method_id=att.payment_method, provider_reference="", idempotency_key=f"pay-{att.idempotency_key}",
                amount=Money(att.amount, att.currency)))
        except ComptoirError:
            pass  # a provider that never saw the payment has nothing to void
        with transaction(kernel.factory) as s:
            res = s.execute(update(CheckoutAttempt).where(CheckoutAttempt.id == att.id,
                                                          CheckoutAttempt.status == "authorizing")
                            .values(status="abandoned", error="recovered after an interruption"))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                stock.release(s, att.id or 0)
                done += 1
    return done


def checkout_service(kernel: "Kernel") -> CheckoutService:
    svc = kernel.services.get("checkout")
    if svc is None:
        svc = kernel.services["checkout"] = CheckoutService(kernel)
    return svc


__all__ = ["CheckoutRequest", "CheckoutService", "PlacedOrder", "rank_quotes", "recover_stale_attempts",
           "checkout_service", "validate_return_url"]
