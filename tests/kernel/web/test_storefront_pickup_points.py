"""The demo storefront's checkout with a relay carrier: the chosen quote's pickup points
are listed in ``#pickup-points`` (``input[name=pickup_point]``), placing the order without
one shows the same choices again with the reason, the chosen point is kept with the
order and shown on the shopper's and the staff's order pages; the payment provider gets a
return address that leads back to the order page."""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.kernel.domain import Order
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.web.app import create_app
from tests.kernel.web.helpers import sign_in
from tests.kernel.web.test_api_pickup_points import HoursRelay
from tests.plugins.kernel_fixtures import FakeCard, RelayCarrier, manifest

ADDRESS = {"email": "buyer@example.com", "name": "Buyer", "line1": "1 rue A", "postal_code": "75011",
           "city": "Paris", "country": "FR"}


@pytest.fixture
def app(shop: Kernel, relay_and_card: Any) -> Iterator[TestClient]:
    with TestClient(create_app(shop, start_jobs=False)) as c:
        yield c


def _to_choices(c: TestClient) -> tuple[str, str]:
    """Fill a cart and the address; returns the choose step's page and the CSRF token."""
    home = c.get("/").text
    slug = home.split('data-product="', 1)[1].split('"', 1)[0]
    product = c.get(f"/shop/p/{slug}").text
    sku = product.split('name="sku" value="', 1)[1].split('"', 1)[0]
    csrf = product.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    c.post("/shop/cart", data={"csrf": csrf, "sku": sku, "quantity": "1"})
    page = c.post("/shop/checkout", data={"csrf": csrf, "step": "quote", **ADDRESS})
    assert page.status_code == 200, page.text
    return page.text, csrf


def _place(c: TestClient, csrf: str, page: str, **choice: str) -> Any:
    idem = page.split('name="idem" value="', 1)[1].split('"', 1)[0]
    relay_quotes = re.findall(r'name="pickup_quote" value="([^"]+)"', page)
    form: dict[str, Any] = {"csrf": csrf, "step": "place", "idem": idem, "method": "card", "pickup_quote": relay_quotes,
                            **ADDRESS, **choice}
    return c.post("/shop/checkout", data=form, follow_redirects=False)


def test_the_relay_quotes_points_are_listed(app: TestClient) -> None:
    page, _ = _to_choices(app)
    assert re.search(r'<input type="radio" name="quote" value="relay:point" data-pickup="(\d+)" +checked>', page)
    index = re.search(r'value="relay:point" data-pickup="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert f'form:has(input[name=quote][data-pickup="{index}"]:checked) #pickup-points .pickup-for[data-for="{index}"]' \
        in page  # shown while its quote is checked (the browser test sees it)
    box = page.split('<div id="pickup-points">', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'name="pickup_point" value="([^"]+)"', box) == ["FR-000001", "FR-000002", "FR-000003"]
    assert "RELAIS 2</strong> — 2 rue Oberkampf, 75011 PARIS <span class=\"muted\">(200 m)</span>" in box
    assert page.count('name="pickup_point"') == 3  # home delivery quotes have no list


def test_no_point_shows_the_choices_again_then_the_point_is_kept(shop: Kernel, app: TestClient) -> None:
    page, csrf = _to_choices(app)
    refused = _place(app, csrf, page, quote="relay:point")
    assert refused.status_code == 422
    assert 'data-field="pickup_point_id"' in refused.text and "delivers to a pickup point" in refused.text
    assert re.search(r'value="relay:point" data-pickup="\d+" +checked>', refused.text)
    assert 'id="pickup-points"' in refused.text and 'name="method" value="card" checked' in refused.text

    done = _place(app, csrf, refused.text, quote="relay:point", pickup_point="FR-000002")
    assert done.status_code == 303, done.text
    oid = int(done.headers["location"].rsplit("/", 1)[1])
    with shop.factory() as s:
        order = s.get(Order, oid)
        assert order is not None and order.shipping_quote["pickup_point"]["id"] == "FR-000002"


def test_a_point_left_checked_for_home_delivery_is_ignored(shop: Kernel, app: TestClient) -> None:
    page, csrf = _to_choices(app)
    home = next(q for q in re.findall(r'name="quote" value="([^"]+)"', page) if q != "relay:point")
    done = _place(app, csrf, page, quote=home, pickup_point="FR-000001")
    assert done.status_code == 303, done.text
    with shop.factory() as s:
        order = s.get(Order, int(done.headers["location"].rsplit("/", 1)[1]))
        assert order is not None and "pickup_point" not in order.shipping_quote


def test_the_provider_is_given_a_way_back_to_the_order_page(app: TestClient,
                                                            relay_and_card: tuple[RelayCarrier, FakeCard]) -> None:
    _, card = relay_and_card
    page, csrf = _to_choices(app)
    done = _place(app, csrf, page, quote="relay:point", pickup_point="FR-000001")
    order_page = done.headers["location"]
    [request] = card.requests
    idem = page.split('name="idem" value="', 1)[1].split('"', 1)[0]
    assert request.return_url == f"http://testserver/shop/checkout/return/{idem}"
    back = app.get(request.return_url + "?token=EC-1&PayerID=P1", follow_redirects=False)  # as PayPal comes back
    assert back.status_code == 303 and back.headers["location"] == order_page
    assert app.get(order_page).status_code == 200
    with TestClient(app.app) as stranger:  # another browser: the order is not theirs
        assert stranger.get(request.return_url, follow_redirects=False).status_code == 404
    assert app.get("/shop/checkout/return/never-used", follow_redirects=False).status_code == 404


def test_the_order_pages_say_where_the_parcel_goes(shop: Kernel) -> None:
    """The shopper's order page and the staff order page show the chosen point, escaped;
    an order delivered to the address shows none."""
    for obj, pid in ((HoursRelay(), "relay-carrier"), (FakeCard(), "fake-card")):
        shop.host.add(obj, manifest(pid))
        shop.host.enable(pid, persist=False)
    with TestClient(create_app(shop, start_jobs=False)) as c:
        page, csrf = _to_choices(c)
        relay = _place(c, csrf, page, quote="relay:point", pickup_point="FR-000002")
        assert relay.status_code == 303, relay.text
        shown = c.get(relay.headers["location"]).text
        point = shown.split('<p id="pickup-point">', 1)[1].split("</p>", 1)[0]
        assert point == ("Delivered to pickup point <strong>&lt;b&gt;RELAIS 2&lt;/b&gt; &amp; Co</strong>, "
                         "2 rue Oberkampf, 75011 PARIS, opening hours Lun 09:00-19:00; Sam 09:00-12:00.")
        assert "<b>RELAIS" not in shown

        page, csrf = _to_choices(c)
        home = _place(c, csrf, page, quote=next(q for q in re.findall(r'name="quote" value="([^"]+)"', page)
                                               if q != "relay:point"))
        assert home.status_code == 303, home.text
        home_page = c.get(home.headers["location"])
        assert home_page.status_code == 200 and 'id="pickup-point"' not in home_page.text

        relay_id, home_id = (int(r.headers["location"].rsplit("/", 1)[1]) for r in (relay, home))
        sign_in(c, "picker@shop.test")  # the one who packs the parcel
        staff = c.get(f"/admin/orders/{relay_id}")
        assert staff.status_code == 200, staff.text
        block = staff.text.split('<p id="pickup-point">', 1)[1].split("</p>", 1)[0]
        assert "<strong>&lt;b&gt;RELAIS 2&lt;/b&gt; &amp; Co</strong>" in block and "RelayCo FR-000002" in block
        assert "2 rue Oberkampf<br>75011 PARIS FR" in block and "Lun 09:00-19:00; Sam 09:00-12:00" in block
        assert 'id="pickup-point"' not in c.get(f"/admin/orders/{home_id}").text
