"""account_connected: the shop's webhook endpoint registered at the fake Stripe, its
signing secret kept in the webhook_secret account, and the fake's own deliveries then
accepted by payment_webhook. Connecting twice leaves one endpoint."""
from __future__ import annotations

from typing import Any

import httpx

from comptoir.kernel.credentials import audit
from plugins.stripe_payments.tests.conftest import PLUGIN, WEBHOOK_SECRET
from plugins.stripe_payments.tests.fake_stripe import SECRET_KEY, FakeStripe

SHOP = "https://shop.example"


def connected(kernel: Any, account: str = "secret_key") -> list[str]:
    return list(kernel.host.call_one(PLUGIN, "account_connected", account=account, shop_url=SHOP + "/"))


def endpoints(fake: FakeStripe) -> list[dict[str, Any]]:
    return list(httpx.get(f"{fake.url}/v1/webhook_endpoints",
                          headers={"Authorization": f"Bearer {SECRET_KEY}"}).json()["data"])


def signing_secret(kernel: Any) -> str:
    return str(kernel.services["credentials"].store.read(PLUGIN, "webhook_secret", "api_key", actor="test"))


def test_registers_the_endpoint_and_keeps_its_secret(kernel: Any, fake: FakeStripe) -> None:
    lines = connected(kernel)
    [we] = endpoints(fake)
    assert we["url"] == f"{SHOP}/webhooks/{PLUGIN}" and "payment_intent.succeeded" in we["enabled_events"]
    assert lines[0] == f"Webhook endpoint registered: {SHOP}/webhooks/{PLUGIN} ({we['id']}), 6 event types"
    secret = signing_secret(kernel)
    assert secret.startswith("whsec_") and secret != WEBHOOK_SECRET
    assert secret == fake.webhooks._secrets[we["id"]]  # the one Stripe showed once
    assert all(secret not in line for line in lines)
    writes = audit.entries(kernel.factory, plugin=PLUGIN, action="secret.write")
    assert writes[0]["actor"] == f"plugin:{PLUGIN}"


def test_connecting_twice_keeps_one_endpoint(kernel: Any, fake: FakeStripe) -> None:
    connected(kernel)
    first, secret = endpoints(fake), signing_secret(kernel)
    assert connected(kernel) == [f"Webhook endpoint already registered: {SHOP}/webhooks/{PLUGIN} ({first[0]['id']})"]
    assert endpoints(fake) == first and signing_secret(kernel) == secret
    assert connected(kernel, "webhook_secret") == []  # a secret typed in by hand needs nothing at Stripe
    assert len(endpoints(fake)) == 1


def test_an_endpoint_we_cannot_vouch_for_is_replaced(kernel: Any, fake: FakeStripe) -> None:
    made_by_hand = httpx.post(f"{fake.url}/v1/webhook_endpoints", headers={"Authorization": f"Bearer {SECRET_KEY}"},
                              data={"url": f"{SHOP}/webhooks/{PLUGIN}", "enabled_events[]": ["*"]}).json()
    lines = connected(kernel)
    assert lines[0].startswith(f"Replaced webhook endpoint {made_by_hand['id']}")
    [we] = endpoints(fake)
    assert we["id"] != made_by_hand["id"] and signing_secret(kernel) == fake.webhooks._secrets[we["id"]]
