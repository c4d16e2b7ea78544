"""PayPal Checkout (Orders v2) as Comptoir payment hooks.

- authorize: ``POST /v2/checkout/orders`` (intent AUTHORIZE or CAPTURE, one purchase
  unit with the amount and the kernel's reference). The buyer must approve it on
  PayPal: the result is ``pending`` with the ``payer-action`` link as
  ``next_action_url``; the payment's reference is the PayPal order id.
- when the buyer approved (webhook ``CHECKOUT.ORDER.APPROVED``, or the kernel calling
  capture), the plugin completes the order: ``POST /v2/checkout/orders/{id}/authorize``
  (or ``/capture`` for intent CAPTURE), idempotent by ``PayPal-Request-Id``;
- capture: ``POST /v2/payments/authorizations/{id}/capture``;
- void: ``POST /v2/payments/authorizations/{id}/void`` (an order never approved just
  expires at PayPal: nothing to release);
- refund: ``POST /v2/payments/captures/{id}/refund``;
- webhooks: verified by PayPal (``POST /v1/notifications/verify-webhook-signature``)
  and normalised; the PayPal order id is the reference in every update;
- payment_page: the approve link on the order page (see ``checkout_page``);
- account_connected: the shop's webhook registered at PayPal (see ``webhook_setup``).
"""
from __future__ import annotations

from typing import Any

from comptoir.sdk import (
    CartView, Money, PaymentMethod, PaymentPage, PaymentRef, PaymentRequest, PaymentResult, PaymentStatusUpdate,
    WebhookRequest, hookimpl,
)

from comptoir_paypal_checkout import checkout_page, webhook_setup, webhooks
from comptoir_paypal_checkout.client import PayPalClient, PayPalError, from_value, to_value

# Currencies PayPal accepts for payments (https://developer.paypal.com/api/rest/reference/currency-codes/).
CURRENCIES = {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN", "TWD",
              "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"}


def _intent(ctx: Any) -> str:
    return "CAPTURE" if ctx.setting("intent", "AUTHORIZE") == "CAPTURE" else "AUTHORIZE"


@hookimpl
def payment_methods(ctx: Any, cart: CartView) -> list[PaymentMethod]:
    if cart.currency not in CURRENCIES:
        return []
    return [PaymentMethod(id="paypal", title="PayPal", description="Pay with your PayPal account or a card via PayPal.",
                          capture="on_fulfilment" if _intent(ctx) == "AUTHORIZE" else "immediate")]


@hookimpl
def payment_authorize(ctx: Any, request: PaymentRequest) -> PaymentResult:
    client = PayPalClient(ctx)
    context: dict[str, Any] = {"user_action": "PAY_NOW", "shipping_preference": "SET_PROVIDED_ADDRESS"}
    if request.return_url:
        context.update(return_url=request.return_url, cancel_url=request.return_url)
    if ctx.setting("brand_name"):
        context["brand_name"] = str(ctx.setting("brand_name"))[:127]
    order = client.call("POST", "/v2/checkout/orders", {
        "intent": _intent(ctx),
        "purchase_units": [{"reference_id": request.reference, "custom_id": request.reference,
                            "invoice_id": request.reference, "amount": to_value(request.amount)}],
        "payment_source": {"paypal": {"experience_context": context,
                                      **({"email_address": request.customer_email} if request.customer_email else {})}},
    }, request_id=request.idempotency_key)
    return _order_result(order, request.amount)


def _order_result(order: dict[str, Any], amount: Money) -> PaymentResult:
    status = str(order.get("status"))
    link = next((str(ln["href"]) for ln in order.get("links", []) if ln.get("rel") in ("payer-action", "approve")), "")
    if status in ("PAYER_ACTION_REQUIRED", "CREATED"):
        return PaymentResult(status="pending", provider_reference=str(order["id"]), amount=amount,
                             message="awaiting approval by the buyer on PayPal", next_action_url=link)
    if status == "VOIDED":
        return PaymentResult(status="voided", provider_reference=str(order["id"]), amount=amount)
    payments = (order.get("purchase_units") or [{}])[0].get("payments") or {}
    captures, auths = payments.get("captures") or [], payments.get("authorizations") or []
    if captures:
        c = captures[-1]
        state = {"COMPLETED": "captured", "PENDING": "pending", "DECLINED": "declined"}.get(str(c["status"]), "failed")
        return PaymentResult(status=state, provider_reference=str(order["id"]),  # type: ignore[arg-type]
                             amount=from_value(c["amount"]), message=_reason(c))
    if auths:
        a = auths[-1]
        state = {"CREATED": "authorized", "CAPTURED": "captured", "VOIDED": "voided", "PENDING": "pending",
                 "DENIED": "declined"}.get(str(a["status"]), "failed")
        return PaymentResult(status=state, provider_reference=str(order["id"]),  # type: ignore[arg-type]
                             amount=from_value(a["amount"]), message=_reason(a))
    return PaymentResult(status="pending", provider_reference=str(order["id"]), amount=amount,
                         message=f"PayPal order is {status.lower()}")


def _reason(payment: dict[str, Any]) -> str:
    details = payment.get("status_details") or {}
    return str(details.get("reason") or "").replace("_", " ").lower()


def complete(client: PayPalClient, order_id: str) -> dict[str, Any]:
    """Authorize or capture an approved order (idempotent); returns the order."""
    order = client.call("GET", f"/v2/checkout/orders/{order_id}")
    if order.get("status") != "APPROVED":
        return order
    action = "capture" if order.get("intent") == "CAPTURE" else "authorize"
    return client.call("POST", f"/v2/checkout/orders/{order_id}/{action}", {}, request_id=f"{action}-{order_id}")


def _payments(order: dict[str, Any]) -> dict[str, Any]:
    return dict((order.get("purchase_units") or [{}])[0].get("payments") or {})


@hookimpl
def payment_capture(ctx: Any, payment: PaymentRef, amount: Money) -> PaymentResult:
    client = PayPalClient(ctx)
    order = complete(client, payment.provider_reference)
    pays = _payments(order)
    if pays.get("captures"):
        return _order_result(order, amount)
    auths = pays.get("authorizations") or []
    if not auths:
        raise PayPalError(f"PayPal order {payment.provider_reference} is {str(order.get('status')).lower()}: "
                          "the buyer has not approved the payment yet")
    cap = client.call("POST", f"/v2/payments/authorizations/{auths[-1]['id']}/capture",
                      {"amount": to_value(amount), "final_capture": True, "invoice_id": payment.idempotency_key},
                      request_id=payment.idempotency_key)
    state = {"COMPLETED": "captured", "PENDING": "pending", "DECLINED": "declined"}.get(str(cap["status"]), "failed")
    return PaymentResult(status=state, provider_reference=payment.provider_reference,  # type: ignore[arg-type]
                         amount=from_value(cap["amount"]) if cap.get("amount") else amount, message=_reason(cap))


@hookimpl
def payment_void(ctx: Any, payment: PaymentRef) -> PaymentResult:
    client = PayPalClient(ctx)
    if not payment.provider_reference:  # the order was never recorded: the buyer never saw it approved
        return PaymentResult(status="voided", message="no PayPal order to release")
    order = client.call("GET", f"/v2/checkout/orders/{payment.provider_reference}")
    auths = [a for a in _payments(order).get("authorizations") or [] if a.get("status") == "CREATED"]
    for auth in auths:
        client.call("POST", f"/v2/payments/authorizations/{auth['id']}/void", {},
                    request_id=f"void-{auth['id']}")
    return PaymentResult(status="voided", provider_reference=payment.provider_reference,
                         message="authorization voided" if auths else "nothing was authorized at PayPal")


@hookimpl
def payment_refund(ctx: Any, payment: PaymentRef, amount: Money, idempotency_key: str) -> PaymentResult:
    client = PayPalClient(ctx)
    order = client.call("GET", f"/v2/checkout/orders/{payment.provider_reference}")
    captures = [c for c in _payments(order).get("captures") or [] if c.get("status") in
                ("COMPLETED", "PARTIALLY_REFUNDED")]
    if not captures:
        raise PayPalError(f"PayPal order {payment.provider_reference} has no completed capture to refund")
    refund = client.call("POST", f"/v2/payments/captures/{captures[-1]['id']}/refund",
                         {"amount": to_value(amount), "invoice_id": idempotency_key}, request_id=idempotency_key)
    if refund.get("status") in ("CANCELLED", "FAILED"):
        return PaymentResult(status="failed", provider_reference=payment.provider_reference, amount=amount,
                             message=_reason(refund) or "PayPal could not refund")
    return PaymentResult(status="refunded", provider_reference=payment.provider_reference,
                         amount=from_value(refund["amount"]) if refund.get("amount") else amount,
                         message="refund pending at PayPal" if refund.get("status") == "PENDING" else
                         f"refund {refund.get('id')}")


@hookimpl
def payment_webhook(ctx: Any, request: WebhookRequest) -> list[PaymentStatusUpdate]:
    client = PayPalClient(ctx)
    event = webhooks.verify(client, request, webhook_setup.webhook_id(ctx))
    if event.get("event_type") == "CHECKOUT.ORDER.APPROVED":
        # The buyer approved: take the money now (authorize or capture), so the order
        # moves on even if the shopper closed the window before coming back.
        order_id = str(event["resource"]["id"])
        try:
            order = complete(client, order_id)
        except PayPalError as exc:
            if exc.issue != "INSTRUMENT_DECLINED":
                raise
            return [PaymentStatusUpdate(provider_reference=order_id, status="declined", event_id=str(event["id"]))]
        result = _order_result(order, from_value(order["purchase_units"][0]["amount"]))
        if result.status == "pending":
            return []
        return [PaymentStatusUpdate(provider_reference=result.provider_reference, status=result.status,
                                    event_id=str(event["id"]), amount=result.amount)]
    return webhooks.normalize(event)


@hookimpl
def payment_page(ctx: Any, payment: PaymentRef, order_number: str, return_url: str) -> PaymentPage | None:
    return checkout_page.payment_page(ctx, payment, order_number, complete)


@hookimpl
def account_connected(ctx: Any, account: str, shop_url: str) -> list[str]:
    return webhook_setup.register(ctx, shop_url) if account == "client" else []
