"""PayPal webhooks: verified by PayPal itself, then normalised.

A delivery carries ``PAYPAL-TRANSMISSION-ID``, ``-TIME``, ``-SIG``, ``PAYPAL-CERT-URL``
and ``PAYPAL-AUTH-ALGO``; the documented check is to post them, the webhook id and the
event to ``/v1/notifications/verify-webhook-signature`` and accept only
``verification_status: SUCCESS``
(https://developer.paypal.com/docs/api/webhooks/v1/#verify-webhook-signature_post).
"""
from __future__ import annotations

import json
from typing import Any

from comptoir.sdk import PaymentStatus, PaymentStatusUpdate, WebhookRequest

from comptoir_paypal_checkout.client import PayPalClient, from_value

HEADERS = {"auth_algo": "paypal-auth-algo", "cert_url": "paypal-cert-url", "transmission_id": "paypal-transmission-id",
           "transmission_sig": "paypal-transmission-sig", "transmission_time": "paypal-transmission-time"}
EVENTS: dict[str, PaymentStatus] = {
    "PAYMENT.AUTHORIZATION.CREATED": "authorized",
    "PAYMENT.AUTHORIZATION.VOIDED": "voided",
    "PAYMENT.CAPTURE.COMPLETED": "captured",
    "PAYMENT.CAPTURE.PENDING": "pending",
    "PAYMENT.CAPTURE.DENIED": "failed",
    "PAYMENT.CAPTURE.DECLINED": "declined",
    "PAYMENT.CAPTURE.REFUNDED": "refunded",
}


class WebhookRejected(Exception):
    """PayPal did not vouch for this delivery. Message safe to show."""


def verify(client: PayPalClient, request: WebhookRequest, webhook_id: str) -> dict[str, Any]:
    """Ask PayPal whether the delivery is genuine; returns the event."""
    if not webhook_id:
        raise WebhookRejected("set the PayPal webhook id in the plugin's settings to accept webhooks")
    headers = {k.lower(): v for k, v in request.headers.items()}
    missing = [h for h in HEADERS.values() if not headers.get(h)]
    if missing:
        raise WebhookRejected(f"not a PayPal delivery: missing header(s) {', '.join(missing)}")
    try:
        event = json.loads(request.body)
    except ValueError:
        raise WebhookRejected("webhook body is not JSON") from None
    answer = client.call("POST", "/v1/notifications/verify-webhook-signature", {
        **{field: headers[h] for field, h in HEADERS.items()}, "webhook_id": webhook_id, "webhook_event": event})
    if answer.get("verification_status") != "SUCCESS":
        raise WebhookRejected("PayPal did not verify the webhook signature")
    return dict(event)


def order_id_of(resource: dict[str, Any]) -> str:
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    return str(related.get("order_id") or "")


def normalize(event: dict[str, Any]) -> list[PaymentStatusUpdate]:
    """A payment event → one update keyed by the PayPal order id (others give none)."""
    status = EVENTS.get(str(event.get("event_type")))
    resource = dict(event.get("resource") or {})
    order_id = order_id_of(resource)
    if status is None or not order_id:
        return []
    amount = from_value(resource["amount"]) if resource.get("amount") else None
    return [PaymentStatusUpdate(provider_reference=order_id, status=status, event_id=str(event["id"]), amount=amount)]
