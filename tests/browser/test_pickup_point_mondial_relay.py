"""In Chromium, against the local Mondial Relay: the shopper picks "Point Relais", the
points near their postcode show under the quote (and hide for home delivery), placing
without a point is refused with the reason, the chosen point is kept; staff mark the
transfer received and ship, and the label Mondial Relay creates is addressed to that
point."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.conftest import place_order, seeded_kernel, serve, staff_sign_in, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_mondial_relay")

from plugins.mondial_relay.tests.conftest import connect as connect_mondial_relay  # noqa: E402
from plugins.mondial_relay.tests.fake_mondial_relay import FakeMondialRelay  # noqa: E402

RELAY = "input[name=quote][value='mondial-relay:24R']"


@pytest.fixture(scope="module")
def relay() -> Iterator[FakeMondialRelay]:
    fake = FakeMondialRelay().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, relay: FakeMondialRelay) -> Iterator[str]:
    with seeded_kernel(tmp_path_factory.mktemp("relay")) as kernel:
        kernel.host.enable("mondial-relay")  # as an admin does after installing it
        connect_mondial_relay(kernel, relay)
        with serve(kernel, start_jobs=False) as base:
            yield base


def test_shopper_picks_a_pickup_point_and_the_label_goes_there(page: Any, shop: str,
                                                               relay: FakeMondialRelay) -> None:
    to_checkout_options(page, shop, {"email": "shopper@example.com", "name": "Louise Garnier",
                                     "line1": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon"})

    points = page.locator("#pickup-points input[name=pickup_point]")
    page.check(RELAY)
    assert points.count() == 3 and points.first.is_visible()
    assert page.locator("#pickup-points").inner_text().count("LYON") == 3
    page.check("input[name=quote]:not([data-pickup]) >> nth=0")  # home delivery: no list
    assert not points.first.is_visible()
    page.check(RELAY)
    page.check("input[name=method][value=bank_transfer]")
    page.click("#place-order")  # no point chosen
    page.wait_for_selector(".flash.error[data-field=pickup_point_id]")
    assert page.is_checked(RELAY) and page.is_checked("input[name=method][value=bank_transfer]")

    page.check("input[name=pickup_point][value='FR-020140']")
    number = place_order(page)

    staff_sign_in(page, shop)
    page.click("nav.side >> text=Orders")
    page.click(f"text={number}")
    page.click("button[data-action=mark-paid]")
    page.wait_for_selector("#order-status:text('paid')")
    page.click("button[data-action=fulfil]")
    page.wait_for_selector("#order-status:text('fulfilled')")
    [sent] = relay.shipments.values()
    assert (sent["ModeLiv"], sent["LIV_Rel_Pays"], sent["LIV_Rel"]) == ("24R", "FR", "020140")
    assert sent["Dest_Ad1"] == "LOUISE GARNIER"
