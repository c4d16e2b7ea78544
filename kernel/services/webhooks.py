"""Applying provider webhooks to payments and orders: each event once, never backwards.

The plugin named in ``/webhooks/<plugin-id>`` verifies the provider's signature and
normalises the delivery (``payment_webhook``); this module applies the updates. An
event id is recorded in ``webhook_receipt`` in the same transaction as its effect,
so a repeated delivery changes nothing. Payment statuses have a rank (pending <
authorized < captured < refunded; voided and failed end a payment that was never
captured): an update ranked below what the payment already reached is recorded as
received and ignored, so events arriving out of order cannot move an order back. A
failed try is not final: the shopper may pay the same payment with another card.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order, PaymentTransaction, WebhookReceipt
from comptoir.kernel.services.outbox import emit
from comptoir.kernel.types import PaymentStatusUpdate, WebhookRequest

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

RANK = {"pending": 0, "authorized": 1, "captured": 2, "refunded": 3, "failed": 1, "declined": 1, "voided": 1}
# Statuses a payment may end in from a lower rank only (a captured payment cannot fail).
TERMINAL_BEFORE_CAPTURE = {"failed", "declined", "voided"}
# A failed or declined try does not end a payment that waits for the shopper: they may
# confirm the same payment again with another card (Stripe's intent goes back to
# requires_payment_method). Only voided is final.
RETRYABLE = {"failed", "declined"}


@dataclass(frozen=True)
class Applied:
    """What one update did: ``applied``, ``duplicate``, ``stale`` or ``unknown`` (no such payment)."""

    event_id: str
    provider_reference: str
    status: str
    outcome: str
    order_id: int | None = None


def _reached(txs: list[Any]) -> str:
    """The furthest status a payment reached, from its transactions (oldest first)."""
    best = "pending"
    for tx in txs:
        if tx.status not in RANK or tx.status == "pending":
            continue
        if (best in RETRYABLE or RANK[tx.status] > RANK[best]
                or (tx.status in TERMINAL_BEFORE_CAPTURE and RANK[best] < RANK["captured"])):
            best = tx.status
    return best


def _stale(status: str, reached: str) -> bool:
    """Would ``status`` move a payment that reached ``reached`` backwards (or nowhere)?"""
    if status == "refunded":
        return False  # partial refunds repeat, and a refund is money gone whatever came before
    if reached in RETRYABLE:
        return status in RETRYABLE or status == "pending"  # the shopper tried another card: a success counts
    if reached in TERMINAL_BEFORE_CAPTURE:
        return status != "captured"  # money that moved after all is still recorded
    if status in RETRYABLE:  # an authorized payment cannot fail any more: an older event, late
        return RANK[reached] >= RANK["authorized"] and reached != "pending"
    if status in TERMINAL_BEFORE_CAPTURE:
        return RANK[reached] >= RANK["captured"]
    return RANK[status] <= RANK[reached]


def apply_webhook(kernel: "Kernel", plugin: str, request: WebhookRequest) -> list[Applied]:
    """Verify a delivery through ``plugin`` and apply its updates (raises on a bad signature)."""
    updates: list[PaymentStatusUpdate] = kernel.host.call_one(plugin, "payment_webhook", request=request) or []
    return [apply_update(kernel, plugin, u) for u in updates]


def apply_update(kernel: "Kernel", plugin: str, update: PaymentStatusUpdate) -> Applied:
    """Apply one normalised update exactly once."""
    try:
        with transaction(kernel.factory) as s:
            if s.get(WebhookReceipt, (plugin, update.event_id)) is not None:
                return Applied(update.event_id, update.provider_reference, update.status, "duplicate")
            s.add(WebhookReceipt(plugin=plugin, event_id=update.event_id))
            s.flush()  # a concurrent delivery of the same event fails here, not after the effect
            txs = list(s.execute(select(  # columns only: a payment may have many refund rows
                PaymentTransaction.order_id, PaymentTransaction.status, PaymentTransaction.method,
                PaymentTransaction.amount, PaymentTransaction.currency).where(
                PaymentTransaction.plugin == plugin, PaymentTransaction.provider_reference == update.provider_reference)
                .order_by(PaymentTransaction.id)))
            order_id = next((t.order_id for t in txs if t.order_id is not None), None)
            if not txs or order_id is None:
                return Applied(update.event_id, update.provider_reference, update.status, "unknown")
            reached = _reached(txs)
            if _stale(update.status, reached):
                return Applied(update.event_id, update.provider_reference, update.status, "stale", order_id)
            order_status = s.scalars(select(Order.status).where(Order.id == order_id)).one()
            first = txs[0]
            amount = update.amount.amount if update.amount is not None else first.amount
            s.add(PaymentTransaction(order_id=order_id, plugin=plugin, method=first.method, kind="webhook",
                                     status=update.status, amount=amount, currency=first.currency,
                                     provider_reference=update.provider_reference,
                                     idempotency_key=f"webhook-{plugin}-{update.event_id}"[:160],
                                     message=f"webhook {update.event_id}"))
            emit(s, f"payment.{update.status}", {"order_id": order_id, "plugin": plugin, "amount": amount,
                                                 "provider_reference": update.provider_reference,
                                                 "event_id": update.event_id})
    except IntegrityError:  # the same event applied by a concurrent delivery
        return Applied(update.event_id, update.provider_reference, update.status, "duplicate")
    if update.status == "captured" and order_status == "placed":
        _mark_paid(kernel, order_id, update)
    return Applied(update.event_id, update.provider_reference, update.status, "applied", order_id)


def _mark_paid(kernel: "Kernel", order_id: int, update: PaymentStatusUpdate) -> None:
    """A payment settled after checkout (SEPA, 3-D Secure, redirect): the order is paid."""
    from comptoir.kernel.services.orders import OrderService

    # The transaction row was written above; _paid moves the order, earns loyalty points
    # and emits order.paid in one transaction (it does nothing if the order moved already).
    OrderService(kernel)._paid(order_id, "webhook", lambda s, o: None, f"event {update.event_id}")
