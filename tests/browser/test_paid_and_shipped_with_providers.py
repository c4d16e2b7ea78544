"""In Chromium, against the local Stripe and Colissimo servers: a shopper picks
Colissimo and pays by card on the order page (Stripe.js's card element, served by the
local Stripe), Stripe's own signed webhook reaches /webhooks/stripe-payments (the
endpoint registered by account_connected) and the page turns paid; then staff ship the
order and get Colissimo's label and tracking link."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import place_order, seeded_kernel, serve, staff_sign_in, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_stripe_payments")
pytest.importorskip("comptoir_colissimo")

from plugins.colissimo.tests.conftest import connect as connect_colissimo  # noqa: E402
from plugins.colissimo.tests.fake_colissimo import FakeColissimo  # noqa: E402
from plugins.stripe_payments.tests.conftest import connect as connect_stripe  # noqa: E402
from plugins.stripe_payments.tests.fake_stripe import FakeStripe  # noqa: E402


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, providers: tuple[FakeStripe, FakeColissimo]) -> Iterator[str]:
    stripe, colissimo = providers
    with seeded_kernel(tmp_path_factory.mktemp("providers")) as kernel:
        for plugin in ("stripe-payments", "colissimo"):  # as an admin does after installing them
            kernel.host.enable(plugin)
        connect_stripe(kernel, stripe, capture="immediate")
        connect_colissimo(kernel, colissimo)
        with serve(kernel, start_jobs=False) as base:
            kernel.host.call_one("stripe-payments", "account_connected", account="secret_key", shop_url=base)
            yield base


def test_card_and_colissimo_from_checkout_to_tracking(page: Any, shop: str,
                                                      providers: tuple[FakeStripe, FakeColissimo]) -> None:
    stripe, colissimo = providers
    to_checkout_options(page, shop)
    assert page.locator("input[name=quote]").count() >= 3  # Colissimo quoted next to the shop's own rates
    number = place_order(page, quote="colissimo:DOM", method="card")

    # the shopper confirms the card in Stripe.js; Stripe then calls the shop's webhook
    page.fill("#stripe-card-element input[name=cardnumber]", "4242 4242 4242 4242")
    page.fill("#stripe-card-element input[name=exp-date]", "12 / 34")
    page.fill("#stripe-card-element input[name=cvc]", "123")
    page.click("#stripe-pay")
    page.wait_for_selector("#order-status:text('paid')")
    assert stripe.sender.wait_idle()
    assert [d["status"] for d in stripe.deliveries if d["type"] == "payment_intent.succeeded"] == [200]

    staff_sign_in(page, shop)
    page.click("nav.side >> text=Orders")
    page.click(f"text={number}")
    assert page.inner_text("#order-status") == "paid"
    page.click("button[data-action=fulfil]")
    page.wait_for_selector("#order-status:text('fulfilled')")
    link = page.locator("a[href*='laposte.fr/outils/suivre-vos-envois']")
    tracking = link.inner_text()
    assert tracking in colissimo.labels and colissimo.labels[tracking]["addressee"]["address"]["zipCode"] == "75009"
