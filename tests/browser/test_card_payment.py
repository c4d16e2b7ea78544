"""In Chromium, against the local fake Stripe: the shopper pays on the order page with
Stripe.js's card element (served by the fake), Stripe's own signed webhook reaches the
shop (the endpoint registered by account_connected), and the page turns to paid. No
test code confirms an intent or posts a webhook. A declined card leaves the order
payable; a 3-D Secure card goes through the test challenge."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import place_order, seeded_kernel, serve, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_stripe_payments")

from plugins.stripe_payments.tests.conftest import connect as connect_stripe  # noqa: E402
from plugins.stripe_payments.tests.fake_stripe import FakeStripe  # noqa: E402

# The card element's inputs, as Stripe names them in its own frames.
CARD_NUMBER = "#stripe-card-element input[name=cardnumber]"
EXPIRY = "#stripe-card-element input[name=exp-date]"
CVC = "#stripe-card-element input[name=cvc]"


@pytest.fixture(scope="module")
def stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, stripe: FakeStripe) -> Iterator[str]:
    with seeded_kernel(tmp_path_factory.mktemp("card")) as kernel:
        kernel.host.enable("stripe-payments")
        connect_stripe(kernel, stripe, capture="immediate")
        with serve(kernel, start_jobs=False) as base:
            # what the admin's "connect account" page does after the secret key is stored
            lines = kernel.host.call_one("stripe-payments", "account_connected", account="secret_key", shop_url=base)
            assert lines[0].startswith(f"Webhook endpoint registered: {base}/webhooks/stripe-payments")
            yield base


def checkout_with_card(page: Any, shop: str) -> str:
    """Cart → checkout → order page; returns the order number."""
    to_checkout_options(page, shop)
    return place_order(page, method="card")


def type_card(page: Any, number: str) -> None:
    page.wait_for_selector(CARD_NUMBER)
    page.fill(CARD_NUMBER, "")
    page.type(CARD_NUMBER, number)
    page.fill(EXPIRY, "12 / 34")
    page.fill(CVC, "123")
    page.click("#stripe-pay")


def watch_csp(page: Any) -> list[str]:
    """Console messages about the Content-Security-Policy (there should be none)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def delivered(stripe: FakeStripe, kind: str) -> list[int]:
    assert stripe.sender.wait_idle()
    return [d["status"] for d in stripe.deliveries if d["type"] == kind]


def test_pays_by_card_and_the_page_turns_paid(page: Any, shop: str, stripe: FakeStripe) -> None:
    csp = watch_csp(page)
    checkout_with_card(page, shop)
    assert page.inner_text("#order-status") == "placed"
    assert page.get_attribute("#stripe-card-element", "class") == "card-element StripeElement"  # mounted by Stripe.js
    before = len(delivered(stripe, "payment_intent.succeeded"))
    type_card(page, "4242 4242 4242 4242")
    page.wait_for_selector("#order-status:text('paid')")
    assert page.locator("#stripe-payment").count() == 0  # the form is gone once paid
    assert "Payment received" in page.inner_text("#payment-state")
    assert delivered(stripe, "payment_intent.succeeded")[before:] == [200]  # Stripe → shop, nobody else
    page.reload()
    assert page.inner_text("#order-status") == "paid" and page.locator(CARD_NUMBER).count() == 0
    assert csp == []


def test_a_declined_card_leaves_the_order_payable(page: Any, shop: str, stripe: FakeStripe) -> None:
    csp = watch_csp(page)
    checkout_with_card(page, shop)
    type_card(page, "4000 0000 0000 0002")
    page.wait_for_selector("#stripe-message:text('Your card was declined.')")
    assert page.inner_text("#order-status") == "placed"
    page.wait_for_selector("#payment-state:text('did not go through')")  # the webhook of the failure came
    page.reload()  # still payable, and the reason is still shown
    page.wait_for_selector(CARD_NUMBER)
    assert page.inner_text("#stripe-message") == "Your card was declined."
    type_card(page, "4242424242424242")
    page.wait_for_selector("#order-status:text('paid')")
    assert csp == []


def test_three_d_secure_in_the_challenge_frame(page: Any, shop: str, stripe: FakeStripe) -> None:
    checkout_with_card(page, shop)
    type_card(page, "4000 0025 0000 3155")
    challenge = page.frame_locator("iframe[name=stripe-challenge-frame]")
    challenge.locator("#test-source-authorize-3ds").click()
    page.wait_for_selector("#order-status:text('paid')")
    assert page.locator("iframe[name=stripe-challenge-frame]").count() == 0
