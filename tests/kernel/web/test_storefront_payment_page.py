"""The storefront order page with a provider's payment form (``payment_page``): shown for a
trusted plugin while the payment is open, scripts only from its granted hosts, the page's
own Content-Security-Policy naming exactly them, the state followed live, the order the
buyer's own."""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.kernel.manifest import parse_manifest
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.webhooks import apply_update
from comptoir.kernel.types import Money, PaymentMethod, PaymentPage, PaymentResult, PaymentStatusUpdate
from comptoir.kernel.web.app import create_app
from comptoir.sdk import hookimpl

PROVIDER = "127.0.0.1:9"  # never contacted: the browser would load the script from there
GLUE = "document.getElementById('pay').textContent = 'ready';"


class CardProvider:
    """A payment plugin whose shopper confirms in the browser, like Stripe's card element."""

    def __init__(self) -> None:
        self.page = PaymentPage(html=f'<div id="card-form"><button id="pay">Pay</button></div><script>{GLUE}</script>',
                                scripts=(f"http://{PROVIDER}/v3/",))
        self.asked: list[tuple[str, str, str]] = []

    @hookimpl
    def payment_methods(self, ctx: Any, cart: Any) -> list[PaymentMethod]:
        return [PaymentMethod(id="test-card", title="Card (test)", capture="immediate")]

    @hookimpl
    def payment_authorize(self, ctx: Any, request: Any) -> PaymentResult:
        return PaymentResult(status="pending", provider_reference=f"intent-{request.idempotency_key}",
                             amount=request.amount, message="awaiting confirmation by the customer")

    @hookimpl
    def payment_page(self, ctx: Any, payment: Any, order_number: str, return_url: str) -> PaymentPage | None:
        self.asked.append((payment.provider_reference, order_number, return_url))
        return self.page


def install(kernel: Kernel, *, trusted: bool = True, hosts: tuple[str, ...] = (PROVIDER,)) -> CardProvider:
    plugin = CardProvider()
    manifest = parse_manifest({"id": "card-test", "name": "Card test", "version": "1.0.0", "vendor": "tests",
                               "trusted": trusted, "capabilities": ["payments"], "scopes": {"hosts": list(hosts)}})
    kernel.host.add(plugin, manifest)
    kernel.host.enable("card-test", persist=False)
    kernel.services["credentials"].grant("card-test", manifest.requested_rights(), "test-admin")
    return plugin


@pytest.fixture
def app(shop: Kernel) -> Iterator[TestClient]:
    with TestClient(create_app(shop, start_jobs=False)) as c:
        yield c


def place(c: TestClient) -> str:
    """Check out in the storefront with the test card; returns the order page's path."""
    home = c.get("/").text
    slug = home.split('data-product="', 1)[1].split('"', 1)[0]
    product = c.get(f"/shop/p/{slug}").text
    sku = product.split('name="sku" value="', 1)[1].split('"', 1)[0]
    csrf = product.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    c.post("/shop/cart", data={"csrf": csrf, "sku": sku, "quantity": "1"})
    addr = {"csrf": csrf, "step": "quote", "email": "buyer@example.com", "name": "Buyer", "line1": "1 rue A",
            "postal_code": "75001", "city": "Paris", "country": "FR"}
    choose = c.post("/shop/checkout", data=addr).text
    quote = choose.split('name="quote" value="', 1)[1].split('"', 1)[0]
    done = c.post("/shop/checkout", data={**addr, "step": "place", "quote": quote, "method": "test-card",
                                          "idem": "pay-page-1"}, follow_redirects=False)
    assert done.status_code == 303
    return str(done.headers["location"])


def csp_of(response: Any) -> dict[str, list[str]]:
    [policy] = response.headers.get_list("content-security-policy")  # one policy, not the default on top
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_the_providers_form_with_a_policy_naming_exactly_it(shop: Kernel, app: TestClient) -> None:
    plugin = install(shop)
    path = place(app)
    page = app.get(path)
    assert page.status_code == 200 and '<div id="card-form">' in page.text
    assert f'<script src="http://{PROVIDER}/v3/"></script>' in page.text
    digest = base64.b64encode(hashlib.sha256(GLUE.encode()).digest()).decode()
    csp = csp_of(page)
    assert csp["script-src"] == ["'self'", f"http://{PROVIDER}", f"'sha256-{digest}'"]
    assert csp["frame-src"] == [f"http://{PROVIDER}"] and f"http://{PROVIDER}" in csp["connect-src"]
    assert "'unsafe-inline'" not in csp["script-src"] and csp["frame-ancestors"] == ["'none'"]
    assert page.headers["cache-control"] == "no-store"
    reference, number, back = plugin.asked[-1]
    assert reference == "intent-pay-pay-page-1" and back == f"http://testserver{path}" and number.startswith("C")
    assert app.get(path).text == page.text  # a reload shows the form again
    other = app.get("/")  # every other page keeps the default policy
    assert "'unsafe-inline'" in other.headers["content-security-policy"]


def test_paid_by_webhook_turns_the_page(shop: Kernel, app: TestClient) -> None:
    install(shop)
    path = place(app)
    live = app.get(path + "/status")
    assert 'hx-trigger="every 1500ms"' in live.text and "Waiting for your payment." in live.text
    assert app.get(path + "/status", headers={"Accept": "application/json"}).json() == {
        "status": "placed", "payment": "pending", "payable": True}
    failed = apply_update(shop, "card-test", PaymentStatusUpdate("intent-pay-pay-page-1", "failed", "evt-1"))
    assert failed.outcome == "applied"
    assert app.get(path + "/status", headers={"Accept": "application/json"}).json()["payable"] is True
    assert '<div id="card-form">' in app.get(path).text  # a declined card leaves the order payable
    apply_update(shop, "card-test", PaymentStatusUpdate("intent-pay-pay-page-1", "captured", "evt-2",
                                                        Money(1, "EUR")))
    settled = app.get(path + "/status")
    assert 'id="order-status" class="badge paid">paid<' in settled.text and "hx-trigger" not in settled.text
    assert '<section id="payment-page" hx-swap-oob="outerHTML" hidden>' in settled.text
    assert '<div id="card-form">' not in app.get(path).text


@pytest.mark.parametrize("change,journaled", [
    ({"trusted": False}, "not trusted"),
    ({"hosts": ()}, "script host 127.0.0.1:9 is not granted"),
    ({"scripts": ("https://user:pw@cdn.example/x.js",)}, "not a plain http(s) URL"),
    ({"scripts": ("http://cdn.example/x.js",)}, "must use https"),
    ({"html": '<script src="https://cdn.example/x.js"></script>'}, "<script src> in payment_page html"),
])
def test_refused_pages_show_nothing_of_the_plugin(shop: Kernel, app: TestClient, change: dict[str, Any],
                                                   journaled: str) -> None:
    plugin = install(shop, **{k: v for k, v in change.items() if k in ("trusted", "hosts")})
    if "scripts" in change or "html" in change:
        plugin.page = PaymentPage(html=change.get("html", plugin.page.html),
                                  scripts=change.get("scripts", plugin.page.scripts))
    page = app.get(place(app))
    assert page.status_code == 200 and 'id="payment-unavailable"' in page.text
    assert "card-form" not in page.text and "cdn.example" not in page.text and PROVIDER not in page.text
    assert csp_of(page)["script-src"] == ["'self'"]
    shop.host.journal.flush()
    denied = [e for e in shop.host.journal.entries(plugin="card-test", limit=50) if e.outcome == "denied" and e.hook == "payment_page"]
    assert denied and journaled in denied[0].error


def test_another_browser_sees_no_order(shop: Kernel, app: TestClient) -> None:
    install(shop)
    path = place(app)
    with TestClient(app.app) as stranger:
        assert stranger.get(path).status_code == 404
        assert stranger.get(path + "/status", headers={"Accept": "application/json"}).status_code == 404
    assert path != "/shop/orders/1" and app.get("/shop/orders/1/status").status_code == 404  # a seeded order
