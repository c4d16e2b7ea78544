"""Issue #9's "done means", in Chromium, all through the UI against the local protocol
servers: the owner installs Stripe and Colissimo from the App store (approving their
rights), points them at the providers and connects the accounts (Stripe's webhook
endpoint is registered by the plugin itself); a shopper picks Colissimo, pays on the
order page with Stripe.js's card element, Stripe's own signed webhook marks the order
paid; staff fulfil it and get Colissimo's label and tracking link. No test code calls
a plugin, stores a secret or posts a webhook."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser.conftest import place_order, seeded_kernel, serve, staff_sign_in, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_stripe_payments")
pytest.importorskip("comptoir_colissimo")

from comptoir.kernel.web import demo_market  # noqa: E402
from plugins.colissimo.tests.fake_colissimo import API_KEY, OKAPI_KEY, FakeColissimo  # noqa: E402
from plugins.stripe_payments.tests.fake_stripe import PUBLISHABLE_KEY, SECRET_KEY, FakeStripe  # noqa: E402

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
CARD = "#stripe-card-element input[name={}]"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A shop whose marketplace (the demo's, in process) lists the two first-party plugins;
    neither is enabled in the shop yet."""
    root = tmp_path_factory.mktemp("first-party")
    for name in ("stripe_payments", "colissimo"):  # two plugins keep the wheel builds short
        shutil.copytree(PLUGINS / name, root / name,
                        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "tests"))
    real_root = demo_market.plugins_root
    demo_market.plugins_root = lambda: root  # type: ignore[assignment]
    try:
        with seeded_kernel(tmp_path_factory.mktemp("merchant")) as kernel:
            assert not kernel.host.records["stripe-payments"].enabled
            assert not kernel.host.records["colissimo"].enabled
            list(demo_market.start(kernel, force=True))
            with serve(kernel, start_jobs=False) as base:
                yield kernel, base
    finally:
        demo_market.stop()
        demo_market.plugins_root = real_root  # type: ignore[assignment]


def install(page: Any, base: str, plugin: str) -> None:
    """App store → listing → review its rights → approve all → lands on Connect accounts."""
    page.goto(f"{base}/admin/appstore")
    page.click(f"#listing-{plugin} a")
    page.click("a.btn[href$='/review']")
    for box in page.locator("#requested-rights input[name=right]").all():
        box.check()
    page.click("#approve button")
    page.wait_for_url(re.compile(rf".*/admin/plugins/{plugin}/connect$"))


def save_settings(page: Any, base: str, plugin: str, values: dict[str, str]) -> None:
    """Fill the plugin's settings; approve the new provider addresses when asked."""
    page.goto(f"{base}/admin/plugins")
    page.click(f"#plugin-{plugin} summary")
    form = page.locator(f"#settings-{plugin}")
    for key, value in values.items():
        field = form.locator(f"[name=set_{key}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click(f"#save-settings-{plugin}")
    page.wait_for_selector(f"#approve-hosts-{plugin}, .flash.ok")
    if page.locator(f"#approve-hosts-{plugin}").count():
        for box in page.locator(f"#approve-hosts-{plugin} input[name=approve_host]").all():
            box.check()
        page.click(f"#save-settings-{plugin}")
        page.wait_for_selector(".flash.ok")


def connect(page: Any, base: str, plugin: str, account: str, secret: str) -> str:
    """Type one key on the Connect accounts page; returns what the plugin set up."""
    page.goto(f"{base}/admin/plugins/{plugin}/connect")
    page.fill(f"#connect-{account} input[name=secret]", secret)
    page.click(f"#save-{account}")
    page.wait_for_selector(f"#state-{account} >> text=connected on")
    return str(page.inner_text("#setup-result")) if page.locator("#setup-result").count() else ""


def test_merchant_installs_connects_and_a_shopper_pays_and_ships(
        browser: Any, shop: tuple[Any, str], providers: tuple[FakeStripe, FakeColissimo]) -> None:
    kernel, base = shop
    stripe, colissimo = providers
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = staff.new_page()
    admin.set_default_timeout(20_000)
    staff_sign_in(admin, base)

    # the merchant: install, point at the providers, connect the accounts
    install(admin, base, "stripe-payments")
    save_settings(admin, base, "stripe-payments", {"api_base": stripe.url, "js_base": stripe.url,
                                                    "publishable_key": PUBLISHABLE_KEY, "capture": "on_fulfilment"})
    setup = connect(admin, base, "stripe-payments", "secret_key", SECRET_KEY)
    assert f"{base}/webhooks/stripe-payments" in setup  # the plugin registered the shop's endpoint
    assert [e["url"] for e in stripe.webhooks.endpoints.values()] == [f"{base}/webhooks/stripe-payments"]

    install(admin, base, "colissimo")
    save_settings(admin, base, "colissimo", {
        "api_base": colissimo.url, "tracking_base": colissimo.url, "sender_name": "Atelier Lumière",
        "sender_line1": "5 rue du Port", "sender_postal_code": "44000", "sender_city": "Nantes"})
    connect(admin, base, "colissimo", "api_key", API_KEY)
    connect(admin, base, "colissimo", "okapi_key", OKAPI_KEY)
    for secret in (SECRET_KEY, API_KEY, OKAPI_KEY):
        assert secret not in admin.content()

    # a shopper: Colissimo next to the shop's own rates, then the card on the order page
    shopper = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
    shopper.set_default_timeout(20_000)
    to_checkout_options(shopper, base)
    assert shopper.locator("input[name=quote]").count() >= 3  # a comparator: every carrier's offers
    number = place_order(shopper, quote="colissimo:DOM", method="card")
    shopper.wait_for_selector(CARD.format("cardnumber"))
    shopper.type(CARD.format("cardnumber"), "4242424242424242")
    shopper.fill(CARD.format("exp-date"), "12 / 34")
    shopper.fill(CARD.format("cvc"), "123")
    shopper.click("#stripe-pay")
    # authorized now, captured when the parcel ships: the order waits for fulfilment
    shopper.wait_for_selector("#payment-state >> text=Payment authorized")

    # staff ship it: Stripe captures, Colissimo makes the label, the tracking link appears
    admin.click("nav.side >> text=Orders")
    admin.click(f"text={number}")
    admin.click("button[data-action=fulfil]")
    admin.wait_for_selector("#order-status:text('fulfilled')")
    link = admin.locator("a[href*='laposte.fr/outils/suivre-vos-envois']")
    tracking = link.inner_text()
    assert colissimo.labels[tracking]["addressee"]["address"]["zipCode"] == "75009"
    intent = next(o for o in stripe.objects.values() if o["object"] == "payment_intent")
    assert intent["status"] == "succeeded" and intent["amount_received"] == intent["amount"]
    staff.close()
