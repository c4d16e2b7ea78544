"""Bank transfer and cash on delivery.

No money moves through a provider: authorization answers ``pending`` (the order is
placed and awaits payment), and "capture" is the merchant confirming the money came
(``comptoir orders mark-paid`` or the admin). Refunds are bookkeeping: the merchant
pays back by transfer, and the kernel records it.
"""
from __future__ import annotations

from typing import Any

from comptoir.sdk import CartView, Money, PaymentMethod, PaymentRef, PaymentRequest, PaymentResult, hookimpl

TITLES = {
    "bank_transfer": ("Bank transfer", "Pay by transfer; we ship when the money arrives."),
    "cash_on_delivery": ("Cash on delivery", "Pay the courier when the parcel arrives."),
}


def _offered(ctx: Any) -> list[str]:
    raw = str(ctx.setting("methods", "bank_transfer,cash_on_delivery"))
    return [m.strip() for m in raw.split(",") if m.strip() in TITLES]


@hookimpl(trylast=True)
def payment_methods(ctx: Any, cart: CartView) -> list[PaymentMethod]:
    out = []
    cod_max = int(ctx.setting("cod_max_amount", 0) or 0)
    for method in _offered(ctx):
        if method == "cash_on_delivery" and cod_max and cart.subtotal.amount > cod_max:
            continue
        title, description = TITLES[method]
        if method == "bank_transfer" and ctx.setting("bank_details"):
            description = f"{description} {ctx.setting('bank_details')}"
        out.append(PaymentMethod(id=method, title=title, description=description, capture="manual"))
    return out


@hookimpl
def payment_authorize(ctx: Any, request: PaymentRequest) -> PaymentResult:
    # Deterministic reference: a retry with the same key gives the same answer.
    return PaymentResult(status="pending", provider_reference=f"manual:{request.reference}", amount=request.amount,
                         message="awaiting payment")


@hookimpl
def payment_capture(ctx: Any, payment: PaymentRef, amount: Money) -> PaymentResult:
    return PaymentResult(status="captured", provider_reference=payment.provider_reference, amount=amount,
                         message="payment received")


@hookimpl
def payment_void(ctx: Any, payment: PaymentRef) -> PaymentResult:
    return PaymentResult(status="voided", provider_reference=payment.provider_reference)


@hookimpl
def payment_refund(ctx: Any, payment: PaymentRef, amount: Money, idempotency_key: str) -> PaymentResult:
    return PaymentResult(status="refunded", provider_reference=payment.provider_reference, amount=amount,
                         message="refund to be paid back by transfer")
