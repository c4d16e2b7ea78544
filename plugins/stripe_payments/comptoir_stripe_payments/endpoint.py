"""Registering the shop's webhook endpoint at Stripe when the secret key is connected.

``POST /v1/webhook_endpoints`` (https://stripe.com/docs/api/webhook_endpoints) returns the
endpoint's signing secret once, at creation; it goes straight into the plugin's
``webhook_secret`` account (``ctx.credentials.store_secret``), which ``payment_webhook``
then reads to check each delivery. Connecting again reuses the endpoint this plugin
registered (its id is kept in the plugin's storage) instead of adding a second one. An
endpoint for the same address that we cannot vouch for is replaced: Stripe never shows
its secret again, and without it its deliveries could not be checked.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from comptoir_stripe_payments.client import API_VERSION, StripeClient, StripeError

SECRET_ACCOUNT = "webhook_secret"
# The events payment_webhook turns into payment statuses (webhooks.PI_EVENTS and refunds).
EVENTS = ("payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.processing",
          "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded")


def _record(ctx: Any) -> Path:
    return Path(ctx.storage_dir) / "webhook_endpoint.json"


def _recorded_id(ctx: Any) -> str:
    try:
        return str(json.loads(_record(ctx).read_text()).get("id") or "")
    except (OSError, ValueError):
        return ""


def _remember(ctx: Any, endpoint: dict[str, Any]) -> None:
    path = _record(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": endpoint["id"], "url": endpoint["url"]}))  # no secret in here


def register(ctx: Any, shop_url: str) -> list[str]:
    """Create or reuse the endpoint for ``shop_url``; returns lines for the admin."""
    if ctx.credentials is None:
        raise StripeError("the credential store is not available: the webhook signing secret could not be kept")
    client = StripeClient(ctx)
    url = f"{shop_url.rstrip('/')}/webhooks/{ctx.plugin}"
    listed = client.get("/v1/webhook_endpoints", {"limit": 100})
    same = [e for e in listed.get("data") or [] if e.get("url") == url]
    ours = next((e for e in same if e.get("id") == _recorded_id(ctx)), None)
    if ours is not None and ctx.credentials.connected(SECRET_ACCOUNT):
        wanted = set(EVENTS) | set(ours.get("enabled_events") or [])
        if "*" not in wanted and (wanted != set(ours.get("enabled_events") or []) or ours.get("status") != "enabled"):
            ours = client.post(f"/v1/webhook_endpoints/{ours['id']}",
                               {"enabled_events": sorted(wanted), "disabled": False},
                               idempotency_key=f"webhook-endpoint-update-{uuid.uuid4().hex}")
        return [f"Webhook endpoint already registered: {url} ({ours['id']})"]
    lines = []
    for stale in same:
        client.delete(f"/v1/webhook_endpoints/{stale['id']}")
        lines.append(f"Replaced webhook endpoint {stale['id']}: Stripe does not show its signing secret again")
    # A fresh key per registration: reusing one within Stripe's 24 h replay window would
    # return the (possibly deleted) endpoint of an earlier call.
    created = client.post("/v1/webhook_endpoints", {
        "url": url, "enabled_events": list(EVENTS), "api_version": API_VERSION,
        "description": "Comptoir shop", "metadata": {"comptoir_plugin": ctx.plugin}},
        idempotency_key=f"webhook-endpoint-{uuid.uuid4().hex}")
    secret = str(created.get("secret") or "")
    if not secret.startswith("whsec_"):
        raise StripeError(f"Stripe registered webhook endpoint {created.get('id')} without a signing secret")
    ctx.credentials.store_secret(SECRET_ACCOUNT, secret)
    _remember(ctx, created)
    return [*lines, f"Webhook endpoint registered: {url} ({created['id']}), {len(EVENTS)} event types",
            f"Its signing secret is kept in the {SECRET_ACCOUNT} account"]
