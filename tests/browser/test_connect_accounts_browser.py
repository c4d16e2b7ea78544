"""In Chromium: an owner points Colissimo at the local service (approving its host), types
both keys on the Connect accounts page, and the plugin's next label carries them."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import seeded_kernel, serve
from tests.kernel.web.helpers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_colissimo")

from comptoir.sdk import Address, Money, ShipmentRequest  # noqa: E402
from plugins.colissimo.tests.fake_colissimo import API_KEY, OKAPI_KEY, FakeColissimo  # noqa: E402


@pytest.fixture(scope="module")
def colissimo() -> Iterator[FakeColissimo]:
    server = FakeColissimo().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    with seeded_kernel(tmp_path_factory.mktemp("connect")) as kernel:
        kernel.host.enable("colissimo")
        with serve(kernel, start_jobs=False) as base:
            yield kernel, base


def test_owner_connects_colissimo_in_the_browser(page: Any, shop: tuple[Any, str], colissimo: FakeColissimo) -> None:
    kernel, base = shop
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", "owner@shop.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/admin/plugins")

    form = page.locator("#settings-colissimo")
    page.click("#plugin-colissimo summary")
    for key, value in (("api_base", colissimo.url), ("tracking_base", colissimo.url), ("sender_name", "Atelier"),
                       ("sender_line1", "5 rue du Port"), ("sender_postal_code", "44000"), ("sender_city", "Nantes")):
        form.locator(f"input[name=set_{key}]").fill(value)
    page.click("#save-settings-colissimo")
    page.wait_for_selector("#approve-hosts-colissimo")
    page.locator("#settings-colissimo input[name=approve_host]").first.check()
    page.click("#save-settings-colissimo")
    page.wait_for_selector(".flash.ok")
    assert kernel.host.records["colissimo"].settings["api_base"] == colissimo.url

    page.click("#connect-link-colissimo")
    for account, value in (("api_key", API_KEY), ("okapi_key", OKAPI_KEY)):
        page.fill(f"#connect-{account} input[name=secret]", value)
        page.click(f"#save-{account}")
        page.wait_for_selector(f"#state-{account} >> text=connected on")
    assert "…abf7" in page.inner_text("#state-api_key")
    assert API_KEY not in page.content() and OKAPI_KEY not in page.content()

    s = ShipmentRequest(destination=Address(name="Camille Martin", line1="12 rue des Lilas", postal_code="69003",
                                            city="Lyon", country="FR", phone="0612345678"),
                        weight_grams=700, value=Money(4500, "EUR"))
    quote = next(q for q in kernel.host.call("shipping_quotes", shipment=s) if q.id == "colissimo:DOM")
    label = kernel.host.call_one("colissimo", "shipping_create_label", shipment=s, quote=quote, reference="B1")
    assert label.tracking_number in colissimo.labels
    assert colissimo.requests[-1]["headers"]["apikey"] == API_KEY
