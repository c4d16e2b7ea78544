"""Stripe webhooks: signature check and normalisation to the kernel's payment statuses.

Stripe signs each delivery with ``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=…]``,
where ``v1`` is HMAC-SHA256 over ``"<t>.<raw body>"`` keyed with the endpoint's
signing secret (https://stripe.com/docs/webhooks#verify-manually). Several ``v1``
values appear while a secret is being rolled; any one matching is enough. A timestamp
older than the tolerance is refused, so a captured delivery cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from comptoir.sdk import Money, PaymentStatus, PaymentStatusUpdate


class SignatureError(Exception):
    """The webhook did not come from Stripe (or is too old). Message safe to show."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send (used by tests and the fake)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(payload: bytes, header: str, secret: str, *, tolerance_s: int = 300, now: float | None = None) -> dict[str, Any]:
    """Check the signature and age of a delivery; returns the parsed event."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed Stripe-Signature header (needs t= and v1=)")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("Stripe-Signature does not match the webhook signing secret")
    age = (time.time() if now is None else now) - timestamp
    if tolerance_s and abs(age) > tolerance_s:
        raise SignatureError(f"webhook signed {int(age)} s ago, beyond the {tolerance_s} s tolerance")
    try:
        event = json.loads(payload)
    except ValueError:
        raise SignatureError("webhook body is not JSON") from None
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise SignatureError("webhook body is not a Stripe event")
    return event


PI_EVENTS: dict[str, PaymentStatus] = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "captured",
    "payment_intent.processing": "pending",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "voided",
}


def normalize(event: dict[str, Any]) -> list[PaymentStatusUpdate]:
    """Stripe event → zero or more status updates (unknown types give none)."""
    kind = str(event["type"])
    obj = dict(event.get("data", {}).get("object") or {})
    currency = str(obj.get("currency") or "eur").upper()
    if kind in PI_EVENTS:
        status = PI_EVENTS[kind]
        amount = {"authorized": obj.get("amount_capturable"), "captured": obj.get("amount_received")}.get(
            status, obj.get("amount"))
        return [PaymentStatusUpdate(provider_reference=str(obj["id"]), status=status, event_id=str(event["id"]),
                                    amount=Money(int(amount), currency) if amount is not None else None)]
    if kind == "charge.refunded" and obj.get("payment_intent"):
        return [PaymentStatusUpdate(provider_reference=str(obj["payment_intent"]), status="refunded",
                                    event_id=str(event["id"]),
                                    amount=Money(int(obj.get("amount_refunded") or 0), currency))]
    return []
