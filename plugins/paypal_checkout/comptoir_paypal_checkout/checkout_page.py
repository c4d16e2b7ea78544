"""The buyer's side of a PayPal payment: the approve link on the order page.

At checkout the plugin creates a PayPal order that the buyer must approve (``pending``).
While it waits, the order page shows the order's ``payer-action`` link (Orders v2's
``approve`` link, HATEOAS). It opens PayPal in a new window, which PayPal sends back to
the checkout's ``return_url`` after approving (the storefront's leads to the order page);
for an order made without one, the buyer closes PayPal's window.
The approval reaches the shop as a ``CHECKOUT.ORDER.APPROVED`` webhook, on which the
plugin authorizes or captures; when the shopper comes back to the order page first, the
plugin completes the approved order right there, and the webhook that follows moves the
payment.
"""
from __future__ import annotations

from html import escape
from typing import Any

from comptoir.sdk import PaymentPage, PaymentRef

from comptoir_paypal_checkout.client import PayPalClient

WAITING = ("PAYER_ACTION_REQUIRED", "CREATED")


def payment_page(ctx: Any, payment: PaymentRef, order_number: str, complete: Any) -> PaymentPage | None:
    """The approve link while the buyer has not approved; completes an approved order."""
    if not payment.provider_reference:
        return None
    client = PayPalClient(ctx)
    order = client.call("GET", f"/v2/checkout/orders/{payment.provider_reference}")
    status = str(order.get("status"))
    if status == "APPROVED":  # approved, and the webhook has not completed it yet
        complete(client, payment.provider_reference)
        return None
    link = next((str(ln["href"]) for ln in order.get("links") or [] if ln.get("rel") in ("payer-action", "approve")),
                "")
    if status not in WAITING or not link.startswith(("https://", "http://")):
        return None
    html = (f'<div id="paypal-payment" class="paypal-payment"><p>Pay order {escape(order_number)} with PayPal.</p>'
            f'<a id="paypal-approve" class="button" href="{escape(link)}" target="_blank" rel="noopener">'
            "Pay with PayPal</a>"
            '<p class="muted">PayPal opens in a new window; this page follows the payment.</p></div>')
    return PaymentPage(html=html)
