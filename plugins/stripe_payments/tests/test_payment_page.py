"""payment_page: the card element bound to the intent's client_secret, for as long as the
shopper has something to do; never the secret anywhere but in the page."""
from __future__ import annotations

from typing import Any

import httpx

from comptoir.sdk import Money, PaymentPage, PaymentRef, PaymentRequest
from plugins.stripe_payments.tests.conftest import PLUGIN
from plugins.stripe_payments.tests.fake_stripe import PUBLISHABLE_KEY, FakeStripe

RETURN = "http://shop.test/shop/orders/12"


def pending(kernel: Any, key: str = "pay-page-1") -> Any:
    result = kernel.host.call_one(PLUGIN, "payment_authorize", request=PaymentRequest(
        method_id="card", amount=Money(2450, "EUR"), idempotency_key=key, reference="CK-12"))
    assert result.status == "pending"
    return PaymentRef("card", result.provider_reference, key, Money(2450, "EUR"))


def page(kernel: Any, ref: PaymentRef) -> PaymentPage | None:
    return kernel.host.call_one(PLUGIN, "payment_page", payment=ref, order_number="C0000012", return_url=RETURN)


def confirm_in_browser(fake: FakeStripe, pi_id: str, number: str) -> httpx.Response:
    pi = fake.objects[pi_id]
    return httpx.post(f"{fake.url}/v1/payment_intents/{pi_id}/confirm", data={
        "payment_method_data[type]": "card", "payment_method_data[card][number]": number,
        "payment_method_data[card][exp_month]": "4", "payment_method_data[card][exp_year]": "2040",
        "payment_method_data[card][cvc]": "314", "key": PUBLISHABLE_KEY, "client_secret": pi["client_secret"]})


def test_card_element_bound_to_the_intent(kernel: Any, fake: FakeStripe) -> None:
    ref = pending(kernel)
    shown = page(kernel, ref)
    assert shown is not None and shown.scripts == (f"{fake.url}/v3/",)
    secret = fake.objects[ref.provider_reference]["client_secret"]
    assert f'data-client-secret="{secret}"' in shown.html and f'data-publishable-key="{PUBLISHABLE_KEY}"' in shown.html
    assert f'data-return-url="{RETURN}"' in shown.html and 'id="stripe-card-element"' in shown.html
    assert "confirmCardPayment" in shown.html
    assert page(kernel, ref) == shown  # a reload shows the same intent: nothing new at Stripe
    assert [o for o in fake.objects.values() if o["object"] == "payment_intent"] == [fake.objects[ref.provider_reference]]
    kernel.host.journal.flush()
    entries = kernel.host.journal.entries(plugin=PLUGIN, limit=100)
    assert entries and secret not in repr(entries)


def test_a_decline_keeps_the_page_with_stripes_message(kernel: Any, fake: FakeStripe) -> None:
    ref = pending(kernel, "pay-page-2")
    assert confirm_in_browser(fake, ref.provider_reference, "4000000000000002").status_code == 402
    again = page(kernel, ref)
    assert again is not None and "Your card was declined." in again.html
    assert confirm_in_browser(fake, ref.provider_reference, "4242424242424242").json()["status"] == "requires_capture"
    assert page(kernel, ref) is None  # authorized: nothing left for the shopper


def test_nothing_to_show_without_a_publishable_key_or_for_sepa(kernel: Any, fake: FakeStripe) -> None:
    ref = pending(kernel, "pay-page-3")
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "publishable_key": ""})
    assert page(kernel, ref) is None
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "publishable_key": PUBLISHABLE_KEY})
    assert page(kernel, PaymentRef("sepa_debit", ref.provider_reference, ref.idempotency_key, ref.amount)) is None
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "js_base": ""})
    shown = page(kernel, ref)
    assert shown is not None and shown.scripts == ("https://js.stripe.com/v3/",)  # the real one by default
