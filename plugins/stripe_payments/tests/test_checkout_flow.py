"""The whole loop in a kernel: checkout → customer confirms at Stripe → signed webhooks
(twice, out of order) → order paid → label. Uses the kernel's checkout and webhook
services, the flat-rate carrier, and the local Stripe."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

import comptoir_flat_rate_shipping.plugin as flat_rate
import comptoir_stripe_payments.plugin as stripe_module
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order, OutboxEvent
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from comptoir.kernel.services.webhooks import apply_webhook
from comptoir.sdk import Address, WebhookRequest, manifest_from_pyproject
from comptoir_stripe_payments import webhooks
from plugins.stripe_payments.tests.conftest import MANIFEST, PLUGIN, WEBHOOK_SECRET, connect
from plugins.stripe_payments.tests.fake_stripe import FakeStripe

FLAT = manifest_from_pyproject(Path(flat_rate.__file__).resolve().parents[1] / "pyproject.toml")
ADDRESS = Address(name="Ada Martin", line1="3 rue des Lilas", postal_code="75011", city="Paris", country="FR")


@pytest.fixture
def shop(plugin_kernel: Any, fake: FakeStripe) -> Iterator[Any]:
    k = plugin_kernel((stripe_module, MANIFEST), (flat_rate, FLAT))
    connect(k, fake)
    yield k  # closed by plugin_kernel


def place(kernel: Any, key: str) -> Any:
    with transaction(kernel.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku="MUG-ENAMEL", quantity=2)
        token = cart.token
    svc = checkout_service(kernel)
    quote = svc.shipping_quotes(token, ADDRESS)[0]
    return svc.place(CheckoutRequest(cart_token=token, email="ada@example.com", address=ADDRESS,
                                     shipping_quote_id=quote.id, payment_method_id="card", idempotency_key=key))


def deliver(kernel: Any, event: dict[str, Any]) -> list[Any]:
    body = json.dumps(event).encode()
    sig = webhooks.sign(body, WEBHOOK_SECRET, int(time.time()))
    return apply_webhook(kernel, PLUGIN, WebhookRequest(headers={"Stripe-Signature": sig}, body=body))


def status(kernel: Any, order_id: int) -> str:
    with kernel.factory() as s:
        return str(s.scalars(select(Order.status).where(Order.id == order_id)).one())


def test_card_confirmed_in_browser_then_captured_at_shipping(shop: Any, fake: FakeStripe) -> None:
    placed = place(shop, "web-1")
    assert placed.payment_status == "pending" and placed.status == "placed"
    pi = next(o for o in fake.objects.values() if o["object"] == "payment_intent")
    assert pi["amount"] == placed.total.amount and pi["capture_method"] == "manual"
    fake.confirm(pi, {"payment_method": "pm_card_visa"})  # what Stripe.js does in the customer's browser
    authorized = next(e for e in fake.events if e["type"] == "payment_intent.amount_capturable_updated")
    assert [a.outcome for a in deliver(shop, authorized)] == ["applied"]
    assert [a.outcome for a in deliver(shop, authorized)] == ["duplicate"]
    assert status(shop, placed.order_id) == "placed"  # authorized: captured when the parcel ships

    shipment = OrderService(shop).fulfil(placed.order_id, actor="staff")
    assert status(shop, placed.order_id) == "fulfilled" and shipment.tracking_number
    assert pi["status"] == "succeeded" and pi["amount_received"] == placed.total.amount
    succeeded = next(e for e in fake.events if e["type"] == "payment_intent.succeeded")
    assert [a.outcome for a in deliver(shop, succeeded)] == ["stale"]  # our capture got there first
    assert [a.outcome for a in deliver(shop, authorized)] == ["duplicate"]


def test_immediate_payment_paid_by_webhook_whatever_the_order(shop: Any, fake: FakeStripe) -> None:
    shop.host.configure(PLUGIN, {**shop.host.records[PLUGIN].settings, "capture": "immediate"})
    placed = place(shop, "web-2")
    pi = next(o for o in fake.objects.values() if o["object"] == "payment_intent")
    fake.confirm(pi, {"payment_method": "pm_card_visa"})
    created, succeeded = fake.events[0], fake.events[-1]
    assert succeeded["type"] == "payment_intent.succeeded"
    assert [a.outcome for a in deliver(shop, succeeded)] == ["applied"]
    assert status(shop, placed.order_id) == "paid"
    # a late "processing" (sent before, delivered after) must not move the payment back
    late = {**succeeded, "id": "evt_late", "type": "payment_intent.processing"}
    assert [a.outcome for a in deliver(shop, late)] == ["stale"]
    assert deliver(shop, created) == []  # payment_intent.created carries no status change
    assert [a.outcome for a in deliver(shop, succeeded)] == ["duplicate"]
    with shop.factory() as s:
        topics = [e.topic for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert topics.count("order.paid") == 1 and topics.count("payment.captured") == 1


def test_forged_webhook_changes_nothing(shop: Any, fake: FakeStripe) -> None:
    placed = place(shop, "web-3")
    pi = next(o for o in fake.objects.values() if o["object"] == "payment_intent")
    event = {"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {
        **pi, "status": "succeeded", "amount_received": pi["amount"]}}}
    body = json.dumps(event).encode()
    from comptoir.kernel.errors import PluginError

    with pytest.raises(PluginError, match="does not match"):
        apply_webhook(shop, PLUGIN, WebhookRequest(headers={"Stripe-Signature": webhooks.sign(
            body, "whsec_attacker", int(time.time()))}, body=body))
    assert status(shop, placed.order_id) == "placed"


def test_stripe_itself_delivers_to_the_shop_after_account_connected(shop: Any, fake: FakeStripe) -> None:
    """No test code signs anything: the endpoint is registered by account_connected, the
    fake posts its signed events to the running shop, the shop checks them with the
    secret the plugin kept, and the order is paid."""
    from tests.browser.conftest import serve

    shop.host.configure(PLUGIN, {**shop.host.records[PLUGIN].settings, "capture": "immediate"})
    with serve(shop, start_jobs=False) as base:
        lines = shop.host.call_one(PLUGIN, "account_connected", account="secret_key", shop_url=base)
        assert lines[0].startswith(f"Webhook endpoint registered: {base}/webhooks/{PLUGIN}")
        placed = place(shop, "web-4")
        pi = next(o for o in fake.objects.values() if o["object"] == "payment_intent")
        fake.confirm(pi, {"payment_method": "pm_card_visa"})  # what Stripe.js does in the browser
        assert fake.sender.wait_idle()
    assert [(d["type"], d["status"]) for d in fake.deliveries] == [("payment_intent.succeeded", 200)]
    assert status(shop, placed.order_id) == "paid"
