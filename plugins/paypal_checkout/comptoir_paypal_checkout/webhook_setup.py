"""Registering the shop's webhook at PayPal when the REST app is connected.

``POST /v1/notifications/webhooks`` (https://developer.paypal.com/docs/api/webhooks/v1/)
answers the webhook's id, which verification needs; PayPal allows one webhook per URL,
so connecting again finds it by listing and reuses it. The id is no secret: it is kept
in the plugin's storage and used when the ``webhook_id`` setting is empty.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from comptoir_paypal_checkout.client import PayPalClient

EVENTS = ("CHECKOUT.ORDER.APPROVED", "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED",
          "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED",
          "PAYMENT.CAPTURE.DECLINED", "PAYMENT.CAPTURE.REFUNDED")


def _record(ctx: Any) -> Path:
    return Path(ctx.storage_dir) / "webhook.json"


def webhook_id(ctx: Any) -> str:
    """The id to verify deliveries with: the setting, else the webhook this plugin registered."""
    configured = str(ctx.setting("webhook_id") or "")
    if configured:
        return configured
    try:
        return str(json.loads(_record(ctx).read_text()).get("id") or "")
    except (OSError, ValueError):
        return ""


def register(ctx: Any, shop_url: str) -> list[str]:
    """Create or reuse the webhook for ``shop_url``; returns lines for the admin."""
    client = PayPalClient(ctx)
    url = f"{shop_url.rstrip('/')}/webhooks/{ctx.plugin}"
    found = next((h for h in client.call("GET", "/v1/notifications/webhooks").get("webhooks") or []
                  if h.get("url") == url), None)
    if found is None:
        found = client.call("POST", "/v1/notifications/webhooks",
                            {"url": url, "event_types": [{"name": e} for e in EVENTS]},
                            request_id=f"webhook-{uuid.uuid4().hex}")
        line = f"Webhook registered at PayPal: {url} ({found['id']}), {len(EVENTS)} event types"
    else:
        line = f"Webhook already registered at PayPal: {url} ({found['id']})"
    path = _record(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": found["id"], "url": url}))
    if ctx.setting("webhook_id") and ctx.setting("webhook_id") != found["id"]:
        return [line, f"The webhook_id setting ({ctx.setting('webhook_id')}) differs: clear it to use this webhook"]
    return [line]
