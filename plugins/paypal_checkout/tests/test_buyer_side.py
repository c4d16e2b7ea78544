"""The buyer's side against the local PayPal: the approve link on the order page, PayPal's
approval page, the webhook registered by account_connected and PayPal's own signed
deliveries paying the order (no test code posts a webhook)."""
from __future__ import annotations

from typing import Any

import httpx

from comptoir.sdk import Money, PaymentRef
from plugins.paypal_checkout.tests.conftest import PLUGIN
from plugins.paypal_checkout.tests.fake_paypal import FakePayPal
from plugins.paypal_checkout.tests.test_checkout_flow import ADDRESS, shop  # noqa: F401 (fixture)

SHOP = "https://shop.example"


def connected(kernel: Any, shop_url: str = SHOP) -> list[str]:
    return list(kernel.host.call_one(PLUGIN, "account_connected", account="client", shop_url=shop_url))


def pending(kernel: Any, key: str = "pp-page-1") -> PaymentRef:
    from comptoir.sdk import PaymentRequest

    result = kernel.host.call_one(PLUGIN, "payment_authorize", request=PaymentRequest(
        method_id="paypal", amount=Money(3120, "EUR"), idempotency_key=key, reference="CK-31"))
    assert result.status == "pending"
    return PaymentRef("paypal", result.provider_reference, key, Money(3120, "EUR"))


def page(kernel: Any, ref: PaymentRef) -> Any:
    return kernel.host.call_one(PLUGIN, "payment_page", payment=ref, order_number="C0000031",
                                return_url=f"{SHOP}/shop/orders/31")


def test_approve_link_then_completed_when_the_buyer_comes_back(kernel: Any, fake: FakePayPal) -> None:
    ref = pending(kernel)
    shown = page(kernel, ref)
    link = f"{fake.url}/checkoutnow?token={ref.provider_reference}"
    assert shown is not None and shown.scripts == () and f'href="{link}"' in shown.html
    approval = httpx.get(link)
    assert approval.status_code == 200 and 'id="payment-submit-btn"' in approval.text and "31.20 EUR" in approval.text
    done = httpx.post(link, data={"action": "approve"})  # no return_url on this order: PayPal says close the window
    assert 'id="done"' in done.text and fake.orders[ref.provider_reference]["status"] == "APPROVED"
    assert page(kernel, ref) is None  # the buyer came back before the webhook: completed right here
    order = fake.orders[ref.provider_reference]
    assert order["status"] == "COMPLETED" and order["purchase_units"][0]["payments"]["authorizations"]
    assert page(kernel, ref) is None


def test_cancel_leaves_the_order_waiting(kernel: Any, fake: FakePayPal) -> None:
    ref = pending(kernel, "pp-page-2")
    httpx.post(f"{fake.url}/checkoutnow?token={ref.provider_reference}", data={"action": "cancel"})
    assert fake.orders[ref.provider_reference]["status"] == "PAYER_ACTION_REQUIRED"
    assert page(kernel, ref) is not None


def test_webhook_registered_once(kernel: Any, fake: FakePayPal) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "webhook_id": ""})
    first = connected(kernel)
    [hook] = fake.webhooks.values()
    assert first == [f"Webhook registered at PayPal: {SHOP}/webhooks/{PLUGIN} ({hook['id']}), 8 event types"]
    assert connected(kernel) == [f"Webhook already registered at PayPal: {SHOP}/webhooks/{PLUGIN} ({hook['id']})"]
    assert len(fake.webhooks) == 1
    assert kernel.host.call_one(PLUGIN, "account_connected", account="other", shop_url=SHOP) == []


def test_paypal_delivers_and_the_order_is_paid(shop: Any, fake: FakePayPal) -> None:  # noqa: F811
    from sqlalchemy import select

    from comptoir.kernel.db import transaction
    from comptoir.kernel.domain import Order
    from comptoir.kernel.services.carts import add_item, create_cart
    from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
    from tests.browser.conftest import serve

    shop.host.configure(PLUGIN, {**shop.host.records[PLUGIN].settings, "webhook_id": "", "intent": "CAPTURE"})
    with serve(shop, start_jobs=False) as base:
        connected(shop, base)
        with transaction(shop.factory) as s:
            cart = create_cart(s, "EUR")
            add_item(s, cart, sku="TEA-SENCHA", quantity=1)
            token = cart.token
        svc = checkout_service(shop)
        quote = svc.shipping_quotes(token, ADDRESS)[0]
        placed = svc.place(CheckoutRequest(cart_token=token, email="noe@example.com", address=ADDRESS,
                                           shipping_quote_id=quote.id, payment_method_id="paypal",
                                           idempotency_key="pp-live"))
        httpx.post(placed.next_action_url, data={"action": "approve"})  # the buyer on PayPal's page
        assert fake.sender.wait_idle()
    assert [(d["type"], d["status"]) for d in fake.deliveries] == [
        ("CHECKOUT.ORDER.APPROVED", 200), ("PAYMENT.CAPTURE.COMPLETED", 200)]
    with shop.factory() as s:
        assert s.scalars(select(Order.status).where(Order.id == placed.order_id)).one() == "paid"
