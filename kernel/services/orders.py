"""The order lifecycle after placement: capture, mark paid, cancel, refund, fulfil, returns.

Every change checks the state machine (``domain.orders.TRANSITIONS``), writes a
status-change row and an outbox event in the same transaction, and talks to the
payment or carrier plugin that owns the order (targeted hooks).
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlmodel import Session

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import (
    TRANSITIONS, Order, OrderLine, OrderStatusChange, PaymentTransaction, ReturnRequest, Shipment, Variant,
)
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ComptoirError, Conflict, InvalidTransition, NotFound, ValidationFailed
from comptoir.kernel.money import Money
from comptoir.kernel.services import loyalty, stock
from comptoir.kernel.services.outbox import emit
from comptoir.kernel.types import Address, PaymentRef, PaymentResult, ShipmentRequest, ShippingQuote

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel


def _move(session: Session, order: Order, to: str, actor: str, note: str = "") -> None:
    if to not in TRANSITIONS.get(order.status, frozenset()) and not (to == order.status == "partially_refunded"):
        raise InvalidTransition(f"order {order.number} is {order.status} and cannot become {to}", field="status")
    session.add(OrderStatusChange(order_id=order.id or 0, from_status=order.status, to_status=to, actor=actor,
                                  note=note))
    order.status = to


def _payload(order: Order) -> dict[str, object]:
    return {"order_id": order.id, "reference": order.reference, "total": order.total, "currency": order.currency,
            "email": order.email, "channel": order.channel, "customer_id": order.customer_id, "status": order.status}


# Orders paid in person (POS: cash or the store's card terminal) have no provider to
# call: the money moved at the till, and refunds go back the same way. The kernel
# records these payments itself.
IN_PERSON = frozenset({"pos"})
_IN_PERSON_STATUS = {"payment_capture": "captured", "payment_void": "voided", "payment_refund": "refunded"}


class OrderService:
    def __init__(self, kernel: "Kernel") -> None:
        self.kernel = kernel
        self.host = kernel.host
        self.factory = kernel.factory

    def get(self, session: Session, order_id: int, *, lock: bool = False) -> Order:
        q = select(Order).where(Order.id == order_id)
        if lock:
            q = q.with_for_update()
        order = session.scalars(q).first()
        if order is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        return order

    def _auth(self, session: Session, order: Order) -> PaymentTransaction:
        tx = session.scalars(select(PaymentTransaction).where(
            PaymentTransaction.order_id == order.id, PaymentTransaction.kind == "authorize")).first()
        if tx is None:
            raise Conflict(f"order {order.number} has no payment to act on", field="order_id")
        return tx

    def _provider(self, order: Order, hook: str, **kwargs: object) -> PaymentResult:
        """Ask the order's payment plugin, or record an in-person payment ourselves."""
        if order.payment_plugin in IN_PERSON:
            payment = kwargs.get("payment")
            return PaymentResult(status=_IN_PERSON_STATUS[hook],  # type: ignore[arg-type]
                                 provider_reference=getattr(payment, "provider_reference", ""),
                                 message=f"{order.payment_method} at the till")
        return self.host.call_one(order.payment_plugin, hook, **kwargs)  # type: ignore[no-any-return]

    def _record(self, session: Session, order: Order, kind: str, result: PaymentResult, amount: int, key: str) -> None:
        session.add(PaymentTransaction(order_id=order.id, plugin=order.payment_plugin, method=order.payment_method,
                                       kind=kind, status=result.status, amount=amount, currency=order.currency,
                                       provider_reference=result.provider_reference, idempotency_key=key,
                                       message=result.message[:500]))

    def capture(self, order_id: int, *, actor: str) -> Order:
        """Capture the authorized payment (card orders) and mark the order paid."""
        with self.factory() as s:
            order = self.get(s, order_id)
            auth = self._auth(s, order)
        if order.status != "placed":
            raise InvalidTransition(f"order {order.number} is {order.status}; only placed orders are captured",
                                    field="status")
        key = f"capture-{order.id}"
        if order.capture_mode == "manual":
            raise InvalidTransition(f"order {order.number} is paid by {order.payment_method}; mark it paid when "
                                    "the money arrives", field="status")
        result: PaymentResult = self._provider(
            order, "payment_capture",
            payment=PaymentRef(order.payment_method, auth.provider_reference, key, Money(order.total, order.currency)),
            amount=Money(order.total, order.currency))
        if result.status != "captured":
            raise ComptoirError(f"the provider refused the capture: {result.message or result.status}")
        return self._paid(order_id, actor, lambda s, o: self._record(s, o, "capture", result, o.total, key))

    def mark_paid(self, order_id: int, *, actor: str, note: str = "") -> Order:
        """Staff confirm the money arrived (bank transfer, cash on delivery)."""
        with self.factory() as s:
            order = self.get(s, order_id)
        if order.status != "placed":
            raise InvalidTransition(f"order {order.number} is {order.status}, not awaiting payment", field="status")
        result: PaymentResult = self._provider(
            order, "payment_capture",
            payment=PaymentRef(order.payment_method, "", f"capture-{order.id}", Money(order.total, order.currency)),
            amount=Money(order.total, order.currency))
        return self._paid(order_id, actor, lambda s, o: self._record(s, o, "capture", result, o.total,
                                                                     f"capture-{o.id}"), note)

    def _paid(self, order_id: int, actor: str, record, note: str = "") -> Order:  # type: ignore[no-untyped-def]
        with transaction(self.factory) as s:
            order = self.get(s, order_id, lock=True)
            if order.status != "placed":
                return order  # someone else got there first: capture is idempotent
            record(s, order)
            _move(s, order, "paid", actor, note)
            order.paid_at = utcnow()
            loyalty.earn_for_order(s, order.id or 0, order.customer_id, Money(order.total, order.currency),
                                   order.channel)
            emit(s, "order.paid", _payload(order))
            return order

    def cancel(self, order_id: int, *, actor: str, reason: str = "") -> Order:
        """Cancel before fulfilment: void or refund the payment, put the stock back."""
        with self.factory() as s:
            order = self.get(s, order_id)
            auth = self._auth(s, order)
        if "cancelled" not in TRANSITIONS[order.status]:
            raise InvalidTransition(f"order {order.number} is {order.status} and can no longer be cancelled; "
                                    "refund it instead", field="status")
        amount = Money(order.total, order.currency)
        if order.status == "paid":
            result = self._provider(order, "payment_refund",
                                        payment=PaymentRef(order.payment_method, auth.provider_reference,
                                                           f"refund-cancel-{order.id}", amount),
                                        amount=amount, idempotency_key=f"refund-cancel-{order.id}")
            kind, key = "refund", f"refund-cancel-{order.id}"
        else:
            result = self._provider(order, "payment_void",
                                        payment=PaymentRef(order.payment_method, auth.provider_reference,
                                                           f"void-{order.id}", amount))
            kind, key = "void", f"void-{order.id}"
        with transaction(self.factory) as s:
            order = self.get(s, order_id, lock=True)
            if order.status == "cancelled":
                return order
            was_paid = order.status == "paid"
            self._record(s, order, kind, result, order.total, key)
            _move(s, order, "cancelled", actor, reason)
            order.cancelled_at = utcnow()
            for line in s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)):
                stock.restock(s, line.variant_id, line.location_id, line.quantity, reason="cancellation")
            if was_paid:
                order.refunded_total = order.total
                loyalty.reverse_for_refund(s, order.id or 0, order.customer_id, amount)
            emit(s, "order.cancelled", _payload(order))
            return order

    def refund(self, order_id: int, amount: int, *, actor: str, reason: str = "",
               idempotency_key: str | None = None) -> Order:
        """Refund part or all of a paid order (integer minor units)."""
        if not isinstance(amount, int) or amount <= 0:
            raise ValidationFailed("amount must be a positive whole number of minor units", field="amount")
        with self.factory() as s:
            order = self.get(s, order_id)
            auth = self._auth(s, order)
        if order.status not in ("paid", "fulfilled", "partially_refunded"):
            raise InvalidTransition(f"order {order.number} is {order.status}; only paid orders are refunded",
                                    field="status")
        if amount > order.total - order.refunded_total:
            raise ValidationFailed(f"at most {order.total - order.refunded_total} can still be refunded",
                                   field="amount")
        key = idempotency_key or f"refund-{order.id}-{secrets.token_hex(6)}"
        with self.factory() as s:
            if s.scalars(select(PaymentTransaction.id).where(PaymentTransaction.idempotency_key == key)).first():
                return self.get(s, order_id)  # this refund was already applied
        money = Money(amount, order.currency)
        result = self._provider(order, "payment_refund",
                                    payment=PaymentRef(order.payment_method, auth.provider_reference, key, money),
                                    amount=money, idempotency_key=key)
        if result.status != "refunded":
            raise ComptoirError(f"the provider refused the refund: {result.message or result.status}")
        with transaction(self.factory) as s:
            order = self.get(s, order_id, lock=True)
            if amount > order.total - order.refunded_total:
                raise Conflict("another refund was applied meanwhile; reload the order", field="amount")
            self._record(s, order, "refund", result, amount, key)
            order.refunded_total += amount
            _move(s, order, "refunded" if order.refunded_total == order.total else "partially_refunded", actor, reason)
            loyalty.reverse_for_refund(s, order.id or 0, order.customer_id, money)
            emit(s, "order.refunded", {**_payload(order), "amount": amount})
            return order

    def fulfil(self, order_id: int, *, actor: str) -> Shipment:
        """Buy the label from the order's carrier, store the PDF, mark the order fulfilled.

        Orders paid on fulfilment are captured first."""
        with self.factory() as s:
            order = self.get(s, order_id)
        if order.status == "placed" and order.capture_mode == "on_fulfilment":
            order = self.capture(order_id, actor=actor)
        if order.status not in ("paid", "partially_refunded"):
            raise InvalidTransition(f"order {order.number} is {order.status}; it must be paid before shipping",
                                    field="status")
        q = order.shipping_quote
        addr = Address(**{k: v for k, v in order.shipping_address.items() if k in Address.__dataclass_fields__})
        with self.factory() as s:
            weight = sum(qty * grams for qty, grams in s.execute(
                select(OrderLine.quantity, Variant.weight_grams).join(Variant, Variant.id == OrderLine.variant_id)
                .where(OrderLine.order_id == order.id)))
        point = q.get("pickup_point") or {}  # chosen at checkout for relay carriers
        request = ShipmentRequest(destination=addr, weight_grams=weight, value=Money(order.subtotal, order.currency),
                                  pickup_point_id=str(point.get("id", "")))
        quote = ShippingQuote(id=q["id"], carrier=q["carrier"], service=q["service"],
                              price=Money(q["price"], order.currency), min_days=q["min_days"], max_days=q["max_days"],
                              pickup_point_required=bool(q.get("pickup_point_required")), plugin=order.shipping_plugin)
        label = self.host.call_one(order.shipping_plugin, "shipping_create_label", shipment=request, quote=quote,
                                   reference=order.number)
        labels = self.kernel.settings.data_dir / "labels"
        labels.mkdir(parents=True, exist_ok=True)
        rel = f"labels/{order.number}-{label.tracking_number}.pdf"
        (self.kernel.settings.data_dir / rel).write_bytes(label.pdf)
        with transaction(self.factory) as s:
            order = self.get(s, order_id, lock=True)
            shipment = Shipment(order_id=order.id or 0, plugin=order.shipping_plugin, carrier=q["carrier"],
                                service=q["service"], tracking_number=label.tracking_number,
                                tracking_url=label.tracking_url, label_path=rel, cost=q["price"],
                                currency=order.currency)
            s.add(shipment)
            _move(s, order, "fulfilled", actor)
            order.fulfilled_at = utcnow()
            s.flush()
            emit(s, "order.fulfilled", {**_payload(order), "tracking_number": label.tracking_number,
                                        "tracking_url": label.tracking_url})
            return shipment

    def request_return(self, order_id: int, lines: list[dict[str, int]], *, reason: str = "") -> ReturnRequest:
        """Record a return of some lines; the refund happens when the goods are received."""
        with transaction(self.factory) as s:
            order = self.get(s, order_id)
            if order.status not in ("fulfilled", "partially_refunded"):
                raise InvalidTransition(f"order {order.number} is {order.status}; only shipped orders are returned",
                                        field="status")
            own = {ln.id: ln for ln in s.scalars(select(OrderLine).where(OrderLine.order_id == order_id))}
            amount = 0
            for item in lines:
                line = own.get(item.get("order_line_id", -1))
                qty = item.get("quantity", 0)
                if line is None:
                    raise ValidationFailed(f"order line {item.get('order_line_id')} is not in this order",
                                           field="lines")
                if not 0 < qty <= line.quantity - line.refunded_quantity:
                    raise ValidationFailed(f"at most {line.quantity - line.refunded_quantity} of {line.sku} can be "
                                           "returned", field="lines")
                amount += line.unit_price * qty
            ret = ReturnRequest(order_id=order_id, lines=lines, reason=reason, refund_amount=amount)
            s.add(ret)
            s.flush()
            emit(s, "return.requested", {"order_id": order_id, "return_id": ret.id, "amount": amount})
            return ret

    def receive_return(self, return_id: int, *, actor: str) -> Order:
        """Goods are back: restock them and refund their value."""
        with transaction(self.factory) as s:
            ret = s.get(ReturnRequest, return_id)
            if ret is None:
                raise NotFound(f"no return {return_id}", field="return_id")
            if ret.status != "requested":
                raise InvalidTransition(f"return {return_id} is already {ret.status}", field="status")
            for item in ret.lines:
                line = s.get(OrderLine, item["order_line_id"])
                assert line is not None
                stock.restock(s, line.variant_id, line.location_id, item["quantity"], reason="return")
                s.execute(update(OrderLine).where(OrderLine.id == line.id)
                          .values(refunded_quantity=OrderLine.refunded_quantity + item["quantity"]))
            ret.status = "received"
            order_id, amount = ret.order_id, ret.refund_amount
        order = self.refund(order_id, amount, actor=actor, reason=f"return {return_id}",
                            idempotency_key=f"return-{return_id}")
        with transaction(self.factory) as s:
            s.execute(update(ReturnRequest).where(ReturnRequest.id == return_id).values(status="refunded"))
        return order
