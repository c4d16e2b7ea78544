"""In Chromium, against the local PayPal: the shopper picks PayPal, the order page shows
the approve link, PayPal's approval page opens in a new window, "Pay Now" there sends that
window back to the shop (the checkout's return_url) and on to the order page, and PayPal's
own signed webhooks (to the webhook account_connected registered) capture the payment:
the order page turns paid. No test code approves or posts a webhook."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import place_order, seeded_kernel, serve, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_paypal_checkout")

from plugins.paypal_checkout.tests.conftest import connect as connect_paypal  # noqa: E402
from plugins.paypal_checkout.tests.fake_paypal import FakePayPal  # noqa: E402


@pytest.fixture(scope="module")
def paypal() -> Iterator[FakePayPal]:
    fake = FakePayPal().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, paypal: FakePayPal) -> Iterator[str]:
    with seeded_kernel(tmp_path_factory.mktemp("paypal")) as kernel:
        kernel.host.enable("paypal-checkout")
        connect_paypal(kernel, paypal, intent="CAPTURE", webhook_id="")
        with serve(kernel, start_jobs=False) as base:
            kernel.host.call_one("paypal-checkout", "account_connected", account="client", shop_url=base)
            yield base


def test_approved_on_paypal_and_the_page_turns_paid(page: Any, shop: str, paypal: FakePayPal) -> None:
    to_checkout_options(page, shop, {"email": "shopper@example.com", "name": "Noé Petit",
                                      "line1": "8 quai Saint-Vincent", "postal_code": "69001", "city": "Lyon"})
    place_order(page, method="paypal")
    page.wait_for_selector("#paypal-approve")
    assert page.inner_text("#order-status") == "placed"
    with page.expect_popup() as opened:
        page.click("#paypal-approve")
    window = opened.value
    window.click("#payment-submit-btn")
    window.wait_for_url(page.url)  # PayPal -> /shop/checkout/return/<key>?token=… -> the order page
    window.wait_for_selector("#order-number")
    page.wait_for_selector("#order-status:text('paid')")
    assert page.locator("#paypal-approve").count() == 0
    assert paypal.sender.wait_idle()
    assert [(d["type"], d["status"]) for d in paypal.deliveries][:2] == [
        ("CHECKOUT.ORDER.APPROVED", 200), ("PAYMENT.CAPTURE.COMPLETED", 200)]
