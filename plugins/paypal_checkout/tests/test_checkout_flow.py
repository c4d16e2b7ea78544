"""Kernel checkout with PayPal: pending at checkout, buyer approves, the verified
webhook authorizes, the order ships and is captured; repeats change nothing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

import comptoir_flat_rate_shipping.plugin as flat_rate
import comptoir_paypal_checkout.plugin as paypal_module
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order, PaymentTransaction
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from comptoir.kernel.services.webhooks import apply_webhook
from comptoir.sdk import Address, WebhookRequest, manifest_from_pyproject
from plugins.paypal_checkout.tests.conftest import MANIFEST, PLUGIN, connect
from plugins.paypal_checkout.tests.fake_paypal import FakePayPal

FLAT = manifest_from_pyproject(Path(flat_rate.__file__).resolve().parents[1] / "pyproject.toml")
ADDRESS = Address(name="Noé Petit", line1="8 quai Saint-Vincent", postal_code="69001", city="Lyon", country="FR")


@pytest.fixture
def shop(plugin_kernel: Any, fake: FakePayPal) -> Iterator[Any]:
    k = plugin_kernel((paypal_module, MANIFEST), (flat_rate, FLAT))
    connect(k, fake)
    yield k  # closed by plugin_kernel


def test_paypal_order_from_checkout_to_capture(shop: Any, fake: FakePayPal) -> None:
    with transaction(shop.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku="TEA-SENCHA", quantity=3)
        token = cart.token
    svc = checkout_service(shop)
    quote = svc.shipping_quotes(token, ADDRESS)[0]
    placed = svc.place(CheckoutRequest(cart_token=token, email="noe@example.com", address=ADDRESS,
                                       shipping_quote_id=quote.id, payment_method_id="paypal", idempotency_key="pp-1"))
    assert placed.payment_status == "pending" and "checkoutnow?token=" in placed.next_action_url
    order_id = next(iter(fake.orders))
    assert fake.orders[order_id]["purchase_units"][0]["amount"]["value"] == f"{placed.total.amount / 100:.2f}"

    fake.approve(order_id)
    event = fake.events[-1]
    request = WebhookRequest(headers=fake.delivery_headers(event), body=json.dumps(event).encode())
    assert [a.outcome for a in apply_webhook(shop, PLUGIN, request)] == ["applied"]
    assert [a.outcome for a in apply_webhook(shop, PLUGIN, request)] == ["duplicate"]

    OrderService(shop).fulfil(placed.order_id, actor="staff")
    with shop.factory() as s:
        assert s.scalars(select(Order.status).where(Order.id == placed.order_id)).one() == "fulfilled"
        kinds = [(t.kind, t.status) for t in s.scalars(select(PaymentTransaction).order_by(PaymentTransaction.id))]
    assert kinds == [("authorize", "pending"), ("webhook", "authorized"), ("capture", "captured")]
    for late in fake.events[-2:]:  # AUTHORIZATION.CREATED and CAPTURE.COMPLETED, after our capture: stale
        body = json.dumps(late).encode()
        outcomes = [a.outcome for a in apply_webhook(shop, PLUGIN, WebhookRequest(
            headers=fake.delivery_headers(late), body=body))]
        assert outcomes == ["stale"]
