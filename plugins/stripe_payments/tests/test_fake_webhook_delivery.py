"""The fake Stripe's webhook endpoints and deliveries: registered like at Stripe, signed
with each endpoint's own secret (checked here by the plugin's verifier), retried until
the shop answers 2xx."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import pytest

from comptoir_stripe_payments import webhooks
from plugins.stripe_payments.tests.fake_stripe import SECRET_KEY, FakeStripe

SECRET = {"Authorization": f"Bearer {SECRET_KEY}"}


class Receiver:
    """A shop stand-in: records deliveries; answers the statuses queued in ``answers`` first, then 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe-payments"

    def events(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.received]


@pytest.fixture
def shop() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def register(fake: FakeStripe, url: str, *events: str) -> dict[str, Any]:
    r = httpx.post(f"{fake.url}/v1/webhook_endpoints", headers=SECRET,
                   data={"url": url, "enabled_events[]": list(events)})
    assert r.status_code == 200, r.text
    return dict(r.json())


def pay(fake: FakeStripe) -> dict[str, Any]:
    pi = httpx.post(f"{fake.url}/v1/payment_intents", headers=SECRET,
                    data={"amount": "990", "currency": "eur"}).json()
    return dict(httpx.post(f"{fake.url}/v1/payment_intents/{pi['id']}/confirm", headers=SECRET,
                           data={"payment_method": "pm_card_visa"}).json())


def test_endpoint_secret_is_shown_once(fake: FakeStripe, shop: Receiver) -> None:
    we = register(fake, shop.url, "payment_intent.succeeded")
    assert we["id"].startswith("we_") and we["secret"].startswith("whsec_") and we["status"] == "enabled"
    listed = httpx.get(f"{fake.url}/v1/webhook_endpoints", headers=SECRET).json()
    assert [e["url"] for e in listed["data"]] == [shop.url] and "secret" not in listed["data"][0]
    assert "secret" not in httpx.get(f"{fake.url}/v1/webhook_endpoints/{we['id']}", headers=SECRET).json()
    bad = httpx.post(f"{fake.url}/v1/webhook_endpoints", headers=SECRET,
                     data={"url": shop.url, "enabled_events[]": "payment_intent.exploded"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "enabled_events[0]"
    assert httpx.get(f"{fake.url}/v1/webhook_endpoints").status_code == 401  # the secret key only


def test_signed_deliveries_of_the_wanted_events(fake: FakeStripe, shop: Receiver) -> None:
    we = register(fake, shop.url, "payment_intent.succeeded", "payment_intent.payment_failed")
    pi = pay(fake)
    assert fake.sender.wait_idle()
    assert shop.events() == ["payment_intent.succeeded"]  # payment_intent.created was not asked for
    headers, body = shop.received[0]
    event = webhooks.verify(body, headers["stripe-signature"], we["secret"])  # the plugin's own check
    assert event["data"]["object"]["id"] == pi["id"] and headers["content-type"].startswith("application/json")
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify(body, headers["stripe-signature"], "whsec_another_endpoint")
    assert [(d["type"], d["status"], d["attempt"]) for d in fake.deliveries] == [
        ("payment_intent.succeeded", 200, 1)]


def test_failed_deliveries_are_retried_until_2xx(fake: FakeStripe, shop: Receiver) -> None:
    fake.sender.retry_delays = (0.05, 0.05, 0.05)
    we = register(fake, shop.url, "payment_intent.succeeded")
    shop.answers = [500, 503]
    pay(fake)
    assert fake.sender.wait_idle()
    assert [(d["type"], d["status"], d["attempt"]) for d in fake.deliveries] == [
        ("payment_intent.succeeded", 500, 1), ("payment_intent.succeeded", 503, 2),
        ("payment_intent.succeeded", 200, 3)]
    assert len({json.loads(body)["id"] for _, body in shop.received}) == 1  # the same event each time
    for headers, body in shop.received:  # every attempt is signed anew, and verifies
        assert webhooks.verify(body, headers["stripe-signature"], we["secret"])["id"]


def test_an_unreachable_shop_is_given_up_after_the_retries(fake: FakeStripe) -> None:
    fake.sender.retry_delays = (0.05, 0.05)
    register(fake, "http://127.0.0.1:9/nowhere", "payment_intent.succeeded")
    pay(fake)
    assert fake.sender.wait_idle()
    assert [(d["status"], d["attempt"]) for d in fake.deliveries] == [(0, 1), (0, 2), (0, 3)]


def test_deleted_or_disabled_endpoints_get_nothing(fake: FakeStripe, shop: Receiver) -> None:
    we = register(fake, shop.url, "*")
    assert httpx.post(f"{fake.url}/v1/webhook_endpoints/{we['id']}", headers=SECRET,
                      data={"disabled": "true"}).json()["status"] == "disabled"
    pay(fake)
    gone = httpx.delete(f"{fake.url}/v1/webhook_endpoints/{we['id']}", headers=SECRET).json()
    assert gone == {"id": we["id"], "object": "webhook_endpoint", "deleted": True}
    pay(fake)
    assert fake.sender.wait_idle() and shop.received == []
    assert httpx.get(f"{fake.url}/v1/webhook_endpoints", headers=SECRET).json()["data"] == []
