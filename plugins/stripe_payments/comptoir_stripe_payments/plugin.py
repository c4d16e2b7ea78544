"""Stripe PaymentIntents as Comptoir payment hooks.

Flow (https://stripe.com/docs/api/payment_intents):

- authorize: ``POST /v1/payment_intents`` (amount, currency, ``capture_method`` manual
  when the merchant captures at shipping, automatic otherwise), then
  ``POST /v1/payment_intents/{id}/confirm`` with the payment method the storefront got
  from Stripe.js (``request.metadata["payment_method"]``). Without one, the intent is
  created and the customer confirms it in the browser: the result is ``pending``.
- capture: ``POST /v1/payment_intents/{id}/capture`` (``amount_to_capture``);
- void: ``POST /v1/payment_intents/{id}/cancel``; when the kernel crashed before
  recording the intent's id, it is found by ``GET /v1/payment_intents/search`` on the
  idempotency key kept in the intent's metadata;
- refund: ``POST /v1/refunds`` (``payment_intent``, ``amount``);
- webhooks: signature checked, events normalised (see ``webhooks``);
- recurring: SEPA mandates and off-session charges (see ``recurring``);
- payment_page: Stripe.js's card element on the order page, bound to the intent's
  ``client_secret``; the shopper confirms in the browser (see ``checkout_page``);
- account_connected: the shop's webhook endpoint registered at Stripe and its signing
  secret kept in the ``webhook_secret`` account (see ``endpoint``).

Every POST carries an ``Idempotency-Key`` derived from the kernel's key, so retries
(ours after a timeout, or the kernel's) never charge twice.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from comptoir.sdk import (
    CartView, Money, PaymentMethod, PaymentPage, PaymentRef, PaymentRequest, PaymentResult, PaymentStatusUpdate,
    WebhookRequest, hookimpl,
)

from comptoir_stripe_payments import checkout_page, endpoint, recurring, webhooks
from comptoir_stripe_payments.client import StripeClient, StripeError

TITLES = {
    "card": ("Card", "Visa, Mastercard, American Express; 3-D Secure when your bank asks for it."),
    "sepa_debit": ("SEPA Direct Debit", "Pay from a euro bank account (IBAN); you sign a mandate once."),
}
# Stripe's PaymentIntent status → the kernel's payment status.
STATUS = {
    "requires_capture": "authorized",
    "succeeded": "captured",
    "processing": "pending",
    "requires_action": "pending",
    "requires_confirmation": "pending",
    "requires_payment_method": "declined",
    "canceled": "voided",
}
# Stripe supports card payments in many currencies, SEPA only in euros.
SEPA_CURRENCIES = {"EUR"}


def _offered(ctx: Any) -> list[str]:
    raw = str(ctx.setting("methods", "card") or "card")
    return [m.strip() for m in raw.split(",") if m.strip() in TITLES]


def _capture_mode(ctx: Any, method: str) -> str:
    if method == "sepa_debit":
        return "immediate"  # a debit cannot be authorized and captured later
    return "on_fulfilment" if ctx.setting("capture", "on_fulfilment") == "on_fulfilment" else "immediate"


def result_of(pi: dict[str, Any], *, message: str = "") -> PaymentResult:
    """A PaymentIntent object → PaymentResult (amount in the currency of the intent)."""
    status = STATUS.get(str(pi.get("status")), "failed")
    currency = str(pi.get("currency") or "eur").upper()
    amount = pi.get("amount_received") if status == "captured" and pi.get("amount_received") else pi.get("amount")
    action = pi.get("next_action") or {}
    url = str((action.get("redirect_to_url") or {}).get("url") or "")
    error = pi.get("last_payment_error") or {}
    if not message:
        message = str(error.get("message") or "") if status in ("declined", "failed") else ""
    if status == "pending" and not message:
        message = {"processing": "processing by the bank", "requires_action": "the customer must authenticate"}.get(
            str(pi.get("status")), "awaiting confirmation by the customer")
    return PaymentResult(status=status, provider_reference=str(pi.get("id") or ""),  # type: ignore[arg-type]
                         amount=Money(int(amount or 0), currency), message=message, next_action_url=url)


def _declined(exc: StripeError) -> PaymentResult | None:
    """A card error is an answer (declined), not a failure of the plugin."""
    if exc.error_type != "card_error":
        return None
    pi = exc.payment_intent
    currency = str(pi.get("currency") or "eur").upper()
    return PaymentResult(status="declined", provider_reference=str(pi.get("id") or ""),
                         amount=Money(int(pi.get("amount") or 0), currency), message=exc.message)


@hookimpl
def payment_methods(ctx: Any, cart: CartView) -> list[PaymentMethod]:
    out = []
    for method in _offered(ctx):
        if method == "sepa_debit" and cart.currency not in SEPA_CURRENCIES:
            continue
        title, description = TITLES[method]
        out.append(PaymentMethod(id=method, title=title, description=description,
                                 capture=_capture_mode(ctx, method)))  # type: ignore[arg-type]
    return out


@hookimpl
def payment_authorize(ctx: Any, request: PaymentRequest) -> PaymentResult:
    client = StripeClient(ctx)
    method = request.method_id if request.method_id in TITLES else "card"
    manual = _capture_mode(ctx, method) == "on_fulfilment"
    params: dict[str, Any] = {
        "amount": request.amount.amount, "currency": request.amount.currency.lower(),
        "capture_method": "manual" if manual else "automatic",
        "payment_method_types": [method], "description": f"Order {request.reference}",
        "metadata": {"comptoir_reference": request.reference, "comptoir_key": request.idempotency_key},
    }
    if request.customer_email:
        params["receipt_email"] = request.customer_email
    if request.metadata.get("customer"):
        params["customer"] = request.metadata["customer"]
    if ctx.setting("statement_descriptor") and method == "card":
        params["statement_descriptor_suffix"] = str(ctx.setting("statement_descriptor"))[:22]
    try:
        pi = client.post("/v1/payment_intents", params, idempotency_key=f"{request.idempotency_key}:create")
        payment_method = request.metadata.get("payment_method", "")
        if not payment_method:  # the customer confirms in the browser (Stripe.js); webhooks follow
            return replace(result_of(pi), status="pending", message="awaiting confirmation by the customer")
        confirm: dict[str, Any] = {"payment_method": payment_method}
        if request.return_url:
            confirm["return_url"] = request.return_url
        if method == "sepa_debit":
            confirm["mandate_data"] = recurring.acceptance(request.metadata)
        pi = client.post(f"/v1/payment_intents/{pi['id']}/confirm", confirm,
                         idempotency_key=f"{request.idempotency_key}:confirm")
    except StripeError as exc:
        declined = _declined(exc)
        if declined is None:
            raise
        return declined
    return result_of(pi)


@hookimpl
def payment_capture(ctx: Any, payment: PaymentRef, amount: Money) -> PaymentResult:
    client = StripeClient(ctx)
    path = f"/v1/payment_intents/{payment.provider_reference}"
    try:
        pi = client.post(path + "/capture", {"amount_to_capture": amount.amount},
                         idempotency_key=payment.idempotency_key)
    except StripeError as exc:
        if exc.code != "payment_intent_unexpected_state":
            raise
        pi = client.get(path)  # captured already (automatic capture, or a webhook was faster)
        if pi.get("status") != "succeeded":
            raise
    return result_of(pi)


def _find_by_key(client: StripeClient, key: str) -> dict[str, Any] | None:
    found = client.get("/v1/payment_intents/search", {"query": f"metadata['comptoir_key']:'{key}'"})
    data = found.get("data") or []
    return dict(data[0]) if data else None


@hookimpl
def payment_void(ctx: Any, payment: PaymentRef) -> PaymentResult:
    client = StripeClient(ctx)
    reference = payment.provider_reference
    if not reference:
        pi = _find_by_key(client, payment.idempotency_key)
        if pi is None:  # the crash came before Stripe created anything: nothing to release
            return PaymentResult(status="voided", message="no payment was created at Stripe")
        reference = str(pi["id"])
    try:
        pi = client.post(f"/v1/payment_intents/{reference}/cancel", {"cancellation_reason": "abandoned"},
                         idempotency_key=f"void-{payment.idempotency_key}")
    except StripeError as exc:
        if exc.code != "payment_intent_unexpected_state":
            raise
        pi = client.get(f"/v1/payment_intents/{reference}")
        if pi.get("status") != "canceled":
            raise
    return result_of(pi)


@hookimpl
def payment_refund(ctx: Any, payment: PaymentRef, amount: Money, idempotency_key: str) -> PaymentResult:
    client = StripeClient(ctx)
    refund = client.post("/v1/refunds", {"payment_intent": payment.provider_reference, "amount": amount.amount,
                                         "metadata": {"comptoir_key": idempotency_key}},
                         idempotency_key=idempotency_key)
    status = str(refund.get("status"))
    currency = str(refund.get("currency") or amount.currency).upper()
    if status in ("failed", "canceled"):
        return PaymentResult(status="failed", provider_reference=payment.provider_reference,
                             amount=Money(int(refund.get("amount") or 0), currency),
                             message=str(refund.get("failure_reason") or "the refund failed at Stripe"))
    return PaymentResult(status="refunded", provider_reference=payment.provider_reference,
                         amount=Money(int(refund.get("amount") or 0), currency),
                         message="refund pending at the bank" if status == "pending" else f"refund {refund.get('id')}")


@hookimpl
def payment_webhook(ctx: Any, request: WebhookRequest) -> list[PaymentStatusUpdate]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if ctx.credentials is None:
        raise webhooks.SignatureError("the credential store is not available to read the signing secret")
    secret = ctx.credentials.raw("webhook_secret")
    event = webhooks.verify(request.body, headers.get("stripe-signature", ""), secret,
                            tolerance_s=int(ctx.setting("webhook_tolerance_s", 300) or 0),
                            now=ctx.now().timestamp())
    return webhooks.normalize(event)


@hookimpl
def payment_charge_stored_method(ctx: Any, customer_ref: str, amount: Money, idempotency_key: str) -> PaymentResult:
    try:
        return recurring.charge(StripeClient(ctx), customer_ref, amount, idempotency_key)
    except StripeError as exc:
        declined = _declined(exc)
        if declined is None:
            raise
        return declined


@hookimpl
def web_routes(ctx: Any) -> list[Any]:
    return recurring.routes(ctx)


@hookimpl
def payment_page(ctx: Any, payment: PaymentRef, order_number: str, return_url: str) -> PaymentPage | None:
    return checkout_page.payment_page(ctx, payment, order_number, return_url)


@hookimpl
def account_connected(ctx: Any, account: str, shop_url: str) -> list[str]:
    if account != "secret_key":
        return []  # a signing secret entered by hand needs nothing more at Stripe
    return endpoint.register(ctx, shop_url)
