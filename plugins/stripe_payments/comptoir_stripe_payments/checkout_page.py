"""The shopper's side of a card payment: Stripe.js's card element on the order page.

At checkout the plugin creates the PaymentIntent without a payment method (``pending``).
The order page then shows Stripe.js's card element bound to the intent's
``client_secret`` (read back with ``GET /v1/payment_intents/{id}`` through the broker);
the shopper's browser confirms the intent directly at Stripe (``confirmCardPayment``,
3-D Secure included) and Stripe tells the shop by webhook. The client secret is meant for
the shopper's browser (https://stripe.com/docs/payments/accept-a-payment) and is put
nowhere else: not in a log line, not in an error.
"""
from __future__ import annotations

from html import escape
from typing import Any

from comptoir.sdk import PaymentPage, PaymentRef

from comptoir_stripe_payments.client import StripeClient

# Intent statuses in which the shopper still has something to do in the browser.
PAYABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}
DEFAULT_JS_BASE = "https://js.stripe.com"

# Mounts the card element and confirms the intent; every value comes from data-* attributes
# of the block, so this text never changes and the kernel can allow it by its hash.
GLUE = """(function () {
  var box = document.getElementById("stripe-payment");
  if (!box || !window.Stripe) return;
  var secret = box.getAttribute("data-client-secret");
  var stripe = Stripe(box.getAttribute("data-publishable-key"));
  var card = stripe.elements({clientSecret: secret}).create("card");
  var button = document.getElementById("stripe-pay"), message = document.getElementById("stripe-message");
  card.mount("#stripe-card-element");
  card.on("change", function (ev) { if (!ev.error) message.textContent = ""; });
  button.addEventListener("click", function () {
    button.disabled = true;
    message.textContent = "";
    stripe.confirmCardPayment(secret, {payment_method: {card: card}, return_url: box.getAttribute("data-return-url")})
      .then(function (result) {
        if (result.error) { message.textContent = result.error.message; button.disabled = false; return; }
        var status = result.paymentIntent.status;
        box.setAttribute("data-status", status);
        message.textContent = status === "processing" ? "Your bank is processing the payment."
          : "Payment accepted; the shop is confirming your order.";
      });
  });
})();"""


def js_url(ctx: Any) -> str:
    """Stripe.js for this account (``js_base`` points tests at a local server)."""
    return str(ctx.setting("js_base") or DEFAULT_JS_BASE).rstrip("/") + "/v3/"


def payment_page(ctx: Any, payment: PaymentRef, order_number: str, return_url: str) -> PaymentPage | None:
    """The card element for a pending card payment; None when there is nothing to do."""
    key = str(ctx.setting("publishable_key") or "").strip()
    if payment.method_id != "card" or not payment.provider_reference:
        return None  # SEPA mandates are signed at checkout; nothing for the browser here
    if not key.startswith("pk_"):
        ctx.log.warning("stripe-payments: no publishable key (pk_…) in the settings, so shoppers cannot "
                        "confirm card payments on the order page")
        return None
    pi = StripeClient(ctx).get(f"/v1/payment_intents/{payment.provider_reference}")
    secret = str(pi.get("client_secret") or "")
    if pi.get("status") not in PAYABLE or not secret:
        return None
    last_error = str((pi.get("last_payment_error") or {}).get("message") or "")
    html = (
        f'<div id="stripe-payment" class="stripe-payment" data-publishable-key="{escape(key)}" '
        f'data-client-secret="{escape(secret)}" data-return-url="{escape(return_url)}">'
        f'<p>Pay order {escape(order_number)} by card.</p>'
        '<div id="stripe-card-element" class="card-element"></div>'
        '<button id="stripe-pay" type="button">Pay now</button>'
        f'<p id="stripe-message" class="payment-message" role="alert">{escape(last_error)}</p></div>'
        f"<script>{GLUE}</script>")
    return PaymentPage(html=html, scripts=(js_url(ctx),))
