"""Storefront API, delivery to a pickup point: the relay quote says so, its points are
listed for the shipping postcode, checkout refuses the quote without a point (naming
``pickup_point_id``) and keeps the chosen one; an optional ``return_url`` is checked and
handed to the payment provider."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.kernel.domain import Order
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.types import Address, PickupPoint
from comptoir.kernel.web.app import create_app
from tests.plugins.kernel_fixtures import FakeCard, RelayCarrier, manifest

ADDRESS = {"name": "Ada Martin", "line1": "3 rue du Commerce", "postal_code": "75011", "city": "Paris",
           "country": "FR"}


@pytest.fixture
def api(shop: Kernel, relay_and_card: Any) -> Iterator[TestClient]:
    with TestClient(create_app(shop, start_jobs=False)) as c:
        yield c


def _cart(c: TestClient) -> str:
    p = c.get("/api/v1/products", params={"in_stock": "true", "limit": 1}).json()["items"][0]
    sku = c.get(f"/api/v1/products/{p['slug']}").json()["variants"][0]["sku"]
    tok = c.post("/api/v1/carts", json={"currency": "EUR"}).json()["token"]
    c.post(f"/api/v1/carts/{tok}/items", json={"sku": sku, "quantity": 1})
    return str(tok)


def _checkout(c: TestClient, tok: str, quote: str, **extra: str) -> Any:
    return c.post("/api/v1/checkout", json={"cart_token": tok, "email": "ada@example.com", "address": ADDRESS,
                                            "shipping_quote_id": quote, "payment_method_id": "card", **extra})


def test_relay_quote_points_and_checkout(shop: Kernel, api: TestClient,
                                         relay_and_card: tuple[RelayCarrier, FakeCard]) -> None:
    relay, _ = relay_and_card
    tok = _cart(api)
    quotes = {q["id"]: q for q in api.post(f"/api/v1/carts/{tok}/shipping-quotes", json={"address": ADDRESS}).json()}
    assert quotes["relay:point"]["pickup_point_required"] is True
    assert not any(q["pickup_point_required"] for qid, q in quotes.items() if qid != "relay:point")

    r = api.get(f"/api/v1/carts/{tok}/pickup-points",
                params={"quote_id": "relay:point", "postal_code": "75011", "country": "fr"})
    assert r.status_code == 200, r.text
    assert r.json()[:2] == [
        {"id": f"FR-00000{i}", "name": f"RELAIS {i}", "carrier": "RelayCo", "opening_hours": "", "distance_m": 100 * i,
         "address": {"name": f"RELAIS {i}", "line1": f"{i} rue Oberkampf", "line2": "", "postal_code": "75011",
                     "city": "PARIS", "country": "FR"}} for i in (1, 2)]
    assert len(r.json()) == 3 and relay.searches[-1] == ("75011", 10)
    home = next(qid for qid in quotes if qid != "relay:point")
    wrong = api.get(f"/api/v1/carts/{tok}/pickup-points",
                    params={"quote_id": home, "postal_code": "75011", "country": "FR"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "quote_id"
    missing = api.get(f"/api/v1/carts/{tok}/pickup-points", params={"quote_id": "relay:point", "country": "FR"})
    assert missing.status_code == 422 and missing.json()["field"] == "postal_code"

    none = _checkout(api, tok, "relay:point")
    assert none.status_code == 422 and none.json()["field"] == "pickup_point_id"
    assert "pickup point" in none.json()["detail"]
    unknown = _checkout(api, tok, "relay:point", pickup_point_id="FR-424242")
    assert unknown.status_code == 422 and unknown.json()["field"] == "pickup_point_id"

    placed = _checkout(api, tok, "relay:point", pickup_point_id="FR-000003")
    assert placed.status_code == 201, placed.text
    with shop.factory() as s:
        order = s.get(Order, placed.json()["order_id"])
        assert order is not None
        assert order.shipping_quote["pickup_point"]["name"] == "RELAIS 3"

    relay.mode = "down"  # the carrier cannot list its points: a 502 problem that keeps its secrets
    down = api.get(f"/api/v1/carts/{_cart(api)}/pickup-points",
                   params={"quote_id": "relay:point", "postal_code": "75011", "country": "FR"})
    assert down.status_code == 502 and "RelayCo could not list" in down.json()["detail"]
    assert "abc123" not in down.text


def test_return_url_is_checked_and_reaches_the_provider(api: TestClient,
                                                        relay_and_card: tuple[RelayCarrier, FakeCard]) -> None:
    _, card = relay_and_card
    home = "flat-rate:domestic:standard"
    for bad in ("javascript:alert(1)", "/shop/orders/1", "https://" + "a" * 2000):
        r = _checkout(api, _cart(api), home, return_url=bad)
        assert r.status_code == 422 and r.json()["field"] == "return_url", (bad, r.text)
    ok = _checkout(api, _cart(api), home, return_url="https://app.example/orders/after-payment?k=1")
    assert ok.status_code == 201, ok.text
    assert [req.return_url for req in card.requests] == ["https://app.example/orders/after-payment?k=1"]


class HoursRelay(RelayCarrier):
    """RelayCarrier whose points have opening hours and markup in their names (escaping)."""

    @hookimpl
    def shipping_pickup_points(self, ctx: Any, near: Address, limit: int) -> list[PickupPoint]:
        return [replace(p, name=f"<b>{p.name}</b> & Co", opening_hours="Lun 09:00-19:00; Sam 09:00-12:00")
                for p in super().shipping_pickup_points(ctx, near, limit)]


def test_the_order_json_shows_the_pickup_point_or_null(shop: Kernel, owner_token: str) -> None:
    relay, card = HoursRelay(), FakeCard()
    for obj, pid in ((relay, "relay-carrier"), (card, "fake-card")):
        shop.host.add(obj, manifest(pid))
        shop.host.enable(pid, persist=False)
    with TestClient(create_app(shop, start_jobs=False)) as c:
        placed = [_checkout(c, _cart(c), "relay:point", pickup_point_id="FR-000002"),
                  _checkout(c, _cart(c), "flat-rate:domestic:standard")]
        assert [r.status_code for r in placed] == [201, 201], [r.text for r in placed]
        relay_order, home_order = (r.json() for r in placed)
        point = {"id": "FR-000002", "name": "<b>RELAIS 2</b> & Co", "carrier": "RelayCo",
                 "opening_hours": "Lun 09:00-19:00; Sam 09:00-12:00",
                 "address": {"name": "RELAIS 2", "line1": "2 rue Oberkampf", "line2": "", "postal_code": "75011",
                             "city": "PARIS", "country": "FR"}}
        mine = c.get(f"/api/v1/orders/{relay_order['reference']}", params={"email": "ada@example.com"})
        assert mine.status_code == 200, mine.text
        assert mine.json()["pickup_point"] == point
        home = c.get(f"/api/v1/orders/{home_order['reference']}", params={"email": "ada@example.com"}).json()
        assert home["pickup_point"] is None

        auth = {"Authorization": f"Bearer {owner_token}"}
        admin = c.get(f"/api/admin/v1/orders/{relay_order['order_id']}", headers=auth).json()
        assert admin["pickup_point"] == point
        assert c.get(f"/api/admin/v1/orders/{home_order['order_id']}", headers=auth).json()["pickup_point"] is None
        page = c.get("/api/admin/v1/orders", headers=auth, params={"limit": 100}).json()
        listed = {o["id"]: o for o in page["items"]}
        assert listed[relay_order["order_id"]]["pickup_point"] == point
        assert listed[home_order["order_id"]]["pickup_point"] is None


def test_the_order_schema_declares_the_pickup_point(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    order = doc["components"]["schemas"]["OrderOut"]
    assert "pickup_point" in order["required"]
    refs = [alt.get("$ref") for alt in order["properties"]["pickup_point"]["anyOf"]]
    assert refs == ["#/components/schemas/OrderPickupPointOut", None]
    point = doc["components"]["schemas"]["OrderPickupPointOut"]
    assert set(point["required"]) == {"id", "name", "carrier", "address", "opening_hours"}
