"""Payment hooks: offer methods, authorize, capture, void, refund, webhooks, recurring."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.money import Money
from comptoir.kernel.types import (
    CartView, PaymentMethod, PaymentPage, PaymentRef, PaymentRequest, PaymentResult, PaymentStatusUpdate, WebhookRequest,
)


@spec("collect", timeout_ms=2000)
def payment_methods(ctx: Any, cart: CartView) -> list[PaymentMethod]:
    """Payment methods this plugin offers for ``cart``.

    Collect-all: every payment plugin answers; the kernel shows them all and remembers
    which plugin offered which method id.

    :param ctx: the plugin's own context.
    :param cart: the cart being checked out.
    :returns: a list of :class:`PaymentMethod` (empty when none applies).
    """


@spec("targeted", side_effects=True)
def payment_authorize(ctx: Any, request: PaymentRequest) -> PaymentResult:
    """Authorize (or directly capture) ``request.amount``.

    Targeted: called only on the plugin that offered ``request.method_id``. Must be
    idempotent on ``request.idempotency_key``: a retry with the same key returns the
    first answer and never charges twice.

    :param ctx: the plugin's own context.
    :param request: method, amount, idempotency key, checkout reference.
    :returns: a :class:`PaymentResult`; ``declined`` leaves no order behind.
    """


@spec("targeted", side_effects=True)
def payment_capture(ctx: Any, payment: PaymentRef, amount: Money) -> PaymentResult:
    """Capture ``amount`` (at most the authorized amount) of an authorized payment.

    Targeted at the plugin that authorized it. Idempotent on ``payment.idempotency_key``.

    :returns: a :class:`PaymentResult` with status ``captured`` or ``failed``.
    """


@spec("targeted", side_effects=True)
def payment_void(ctx: Any, payment: PaymentRef) -> PaymentResult:
    """Release an authorization that will not be captured (cancel, crash recovery).

    Targeted. ``payment.provider_reference`` may be empty when the kernel crashed before
    recording it: the plugin then finds the payment by ``payment.idempotency_key``.

    :returns: a :class:`PaymentResult` with status ``voided``.
    """


@spec("targeted", side_effects=True)
def payment_refund(ctx: Any, payment: PaymentRef, amount: Money, idempotency_key: str) -> PaymentResult:
    """Refund ``amount`` of a captured payment (partial refunds allowed).

    Targeted; idempotent on ``idempotency_key``.

    :returns: a :class:`PaymentResult` with status ``refunded`` or ``failed``.
    """


@spec("targeted")
def payment_webhook(ctx: Any, request: WebhookRequest) -> list[PaymentStatusUpdate]:
    """Verify and normalise a provider webhook posted to ``/webhooks/<plugin-id>``.

    Targeted at the plugin named in the URL. Must verify the provider's signature and
    raise on a bad one. Webhooks may arrive twice or out of order: the kernel applies
    each ``event_id`` once and never moves a payment backwards.

    :returns: zero or more :class:`PaymentStatusUpdate`.
    """


@spec("targeted", side_effects=True)
def payment_charge_stored_method(ctx: Any, customer_ref: str, amount: Money, idempotency_key: str) -> PaymentResult:
    """Charge a customer's stored method or mandate (subscriptions, recurring orders).

    Targeted at the plugin holding the mandate; idempotent on ``idempotency_key``.
    """


@spec("targeted", timeout_ms=2000)
def payment_page(ctx: Any, payment: PaymentRef, order_number: str, return_url: str) -> PaymentPage | None:
    """The shopper-facing part of a payment still ``pending`` after checkout.

    Targeted: called on the plugin that authorized ``payment`` when the storefront shows
    the order to its shopper, as long as the payment is pending. Return the provider's
    card form (e.g. its JavaScript element bound to the payment's client secret) or an
    approve button; the provider confirms the payment with the shopper's browser and
    reports it by webhook (``payment_webhook``). Only trusted plugins' pages are shown.

    :param ctx: the plugin's own context.
    :param payment: the pending payment (method, provider reference, amount).
    :param order_number: the order's number, to show or to put in metadata.
    :param return_url: where the provider should send the shopper back (the order page).
    :returns: a :class:`PaymentPage`, or None when the shopper has nothing to do.
    """
