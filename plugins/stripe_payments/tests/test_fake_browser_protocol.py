"""The fake Stripe's browser side, called as Stripe.js calls it: publishable key and
client_secret in a form-encoded body, test card numbers deciding the outcome, the
3-D Secure test page. (The browser test drives the same through the served script.)"""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from plugins.stripe_payments.tests.fake_stripe import PUBLISHABLE_KEY, SECRET_KEY, FakeStripe

SECRET = {"Authorization": f"Bearer {SECRET_KEY}"}


def intent(fake: FakeStripe, capture: str = "automatic") -> dict[str, Any]:
    r = httpx.post(f"{fake.url}/v1/payment_intents", headers=SECRET, data={
        "amount": "1850", "currency": "eur", "capture_method": capture, "metadata[comptoir_reference]": "CK-9"})
    assert r.status_code == 200
    return dict(r.json())


def confirm(fake: FakeStripe, pi: dict[str, Any], number: str, *, key: str = PUBLISHABLE_KEY,
            secret: str | None = None, **extra: str) -> httpx.Response:
    """What Stripe.js posts for ``confirmCardPayment(clientSecret, {payment_method: {card}})``."""
    return httpx.post(f"{fake.url}/v1/payment_intents/{pi['id']}/confirm", data={
        "payment_method_data[type]": "card", "payment_method_data[card][number]": number,
        "payment_method_data[card][exp_month]": "12", "payment_method_data[card][exp_year]": "34",
        "payment_method_data[card][cvc]": "123", "expected_payment_method_type": "card", "use_stripe_sdk": "true",
        "key": key, "client_secret": pi["client_secret"] if secret is None else secret, **extra})


def test_intents_carry_a_client_secret_shown_to_the_secret_key(fake: FakeStripe) -> None:
    pi = intent(fake)
    assert pi["client_secret"].startswith(pi["id"] + "_secret_") and len(pi["client_secret"]) > len(pi["id"]) + 20
    assert intent(fake)["client_secret"] != pi["client_secret"]


def test_the_good_card_succeeds_with_the_publishable_key(fake: FakeStripe) -> None:
    pi = intent(fake)
    r = confirm(fake, pi, "4242 4242 4242 4242")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["status"] == "succeeded" and "metadata" not in body and "customer" not in body
    assert fake.objects[pi["id"]]["amount_received"] == 1850
    assert fake.events[-1]["type"] == "payment_intent.succeeded"
    read = httpx.get(f"{fake.url}/v1/payment_intents/{pi['id']}",
                     params={"key": PUBLISHABLE_KEY, "client_secret": pi["client_secret"]})
    assert read.json()["status"] == "succeeded" and "metadata" not in read.json()


@pytest.mark.parametrize("key,secret,status,message", [
    ("pk_test_someoneelse000000", None, 401, "Invalid API Key provided: pk_test_****"),
    (PUBLISHABLE_KEY, "pi_000999FAKE_secret_guess", 400, "does not match the client_secret"),
    (PUBLISHABLE_KEY, "", 400, "does not match the client_secret"),
])
def test_wrong_key_or_client_secret_is_refused(fake: FakeStripe, key: str, secret: str | None, status: int,
                                               message: str) -> None:
    pi = intent(fake)
    r = confirm(fake, pi, "4242424242424242", key=key, secret=secret)
    assert r.status_code == status and message in r.json()["error"]["message"]
    assert fake.objects[pi["id"]]["status"] == "requires_payment_method"


def test_the_publishable_key_does_only_what_a_browser_may(fake: FakeStripe) -> None:
    pi = intent(fake)
    for method, path in (("POST", "/v1/payment_intents"), ("POST", f"/v1/payment_intents/{pi['id']}/capture"),
                         ("GET", "/v1/webhook_endpoints"), ("POST", "/v1/refunds")):
        data = {"key": PUBLISHABLE_KEY, "client_secret": pi["client_secret"], "amount": "100", "currency": "eur"}
        r = (httpx.post(fake.url + path, data=data) if method == "POST" else httpx.get(fake.url + path, params=data))
        assert r.status_code == 403 and "publishable API key" in r.json()["error"]["message"], path
    assert httpx.get(f"{fake.url}/v1/payment_intents/{pi['id']}").status_code == 401  # no key at all


@pytest.mark.parametrize("number,code,message", [
    ("4000000000000002", "card_declined", "Your card was declined."),
    ("4000000000009995", "card_declined", "Your card has insufficient funds."),
    ("4012888888881881", "card_declined", "used a non test card"),  # a valid number that is not a test card
    ("4242424242424241", "incorrect_number", "Your card number is incorrect."),
])
def test_declines_follow_stripes_test_cards(fake: FakeStripe, number: str, code: str, message: str) -> None:
    pi = intent(fake)
    r = confirm(fake, pi, number)
    error = r.json()["error"]
    assert r.status_code == 402 and error["type"] == "card_error" and error["code"] == code
    assert message in error["message"]
    assert fake.objects[pi["id"]]["status"] == "requires_payment_method"
    assert confirm(fake, pi, "4242424242424242").json()["status"] == "succeeded"  # the shopper tries again


def test_three_d_secure_through_the_test_page(fake: FakeStripe) -> None:
    pi = intent(fake, capture="manual")
    body = confirm(fake, pi, "4000002500003155", return_url="http://shop.test/shop/orders/7").json()
    assert body["status"] == "requires_action" and body["next_action"]["type"] == "use_stripe_sdk"
    url = body["next_action"]["use_stripe_sdk"]["stripe_js"]
    assert url.startswith(f"{fake.url}/3ds/") and "Complete authentication" in httpx.get(url).text
    done = httpx.post(url, data={"outcome": "complete"}).text
    assert "stripe-3ds-complete" in done and "http://shop.test/shop/orders/7?payment_intent=" in done
    assert fake.objects[pi["id"]]["status"] == "requires_capture"
    assert fake.events[-1]["type"] == "payment_intent.amount_capturable_updated"

    failing = intent(fake)
    url = confirm(fake, failing, "4000002500003155").json()["next_action"]["use_stripe_sdk"]["stripe_js"]
    httpx.post(url, data={"outcome": "fail"})
    assert fake.objects[failing["id"]]["status"] == "requires_payment_method"
    assert fake.objects[failing["id"]]["last_payment_error"]["code"] == "payment_intent_authentication_failure"


def test_stripe_js_is_served_for_this_fake(fake: FakeStripe) -> None:
    r = httpx.get(f"{fake.url}/v3/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert f'var API = "{fake.url}"' in r.text and "confirmCardPayment" in r.text and "window.Stripe" in r.text
    preflight = httpx.options(f"{fake.url}/v1/payment_intents/pi_x/confirm")
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
