"""Delivery to a pickup point: the shopper lists a relay carrier's points, checkout refuses
a relay quote without one (naming ``pickup_point_id``) or with one the carrier does not
know, keeps the chosen point with the order, and the label request carries it."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from comptoir.kernel.domain import CheckoutAttempt, Order
from comptoir.kernel.errors import PluginError, ValidationFailed
from comptoir.kernel.money import Money
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from comptoir.kernel.types import Address, Label, ShipmentRequest, ShippingQuote
from comptoir.sdk import hookimpl
from tests.kernel.services.helpers import ADDRESS, make_shop, new_cart
from tests.plugins.kernel_fixtures import FakeCard, RelayCarrier, manifest

RELAY = "relay-carrier"


@pytest.fixture
def relay(kernel: Kernel) -> RelayCarrier:
    carrier = RelayCarrier()
    kernel.host.add(carrier, manifest(RELAY))
    kernel.host.enable(RELAY)
    kernel.host.add(FakeCard(), manifest("fake-card"))
    kernel.host.enable("fake-card")
    make_shop(kernel)
    return carrier


def _place(kernel: Kernel, token: str, point: str = "", quote: str = "relay:point", key: str = "") -> Any:
    return checkout_service(kernel).place(CheckoutRequest(
        cart_token=token, email="ada@example.com", address=ADDRESS, shipping_quote_id=quote,
        payment_method_id="card", pickup_point_id=point, idempotency_key=key))


def test_points_are_listed_for_the_relay_quote_only(kernel: Kernel, relay: RelayCarrier) -> None:
    svc = checkout_service(kernel)
    token = new_cart(kernel)
    quotes = {q.id: q for q in svc.shipping_quotes(token, ADDRESS)}
    assert quotes["relay:point"].pickup_point_required and quotes["relay:point"].plugin == RELAY
    near = Address(name="", line1="", postal_code="75011", city="", country="FR")
    points = svc.pickup_points(token, "relay:point", near, limit=2)
    assert [p.id for p in points] == ["FR-000001", "FR-000002"] and relay.searches == [("75011", 2)]
    home = next(q.id for q in quotes.values() if not q.pickup_point_required)
    with pytest.raises(ValidationFailed) as info:
        svc.pickup_points(token, home, near)
    assert info.value.field == "quote_id"
    with pytest.raises(ValidationFailed) as info:
        svc.pickup_points(token, "relay:point", Address(name="", line1="", postal_code="", city="", country="FR"))
    assert info.value.field == "postal_code"


def test_a_relay_quote_without_a_point_is_refused_before_anything_is_written(kernel: Kernel,
                                                                            relay: RelayCarrier) -> None:
    with pytest.raises(ValidationFailed, match="delivers to a pickup point") as info:
        _place(kernel, new_cart(kernel))
    assert info.value.field == "pickup_point_id"
    with pytest.raises(ValidationFailed, match="not among RelayCo's points near 75011") as info:
        _place(kernel, new_cart(kernel), point="FR-999999")
    assert info.value.field == "pickup_point_id"
    with kernel.factory() as s:
        assert s.scalars(select(CheckoutAttempt)).first() is None  # no reservation, no payment


def test_a_point_for_a_home_delivery_quote_is_refused(kernel: Kernel, relay: RelayCarrier) -> None:
    token = new_cart(kernel)
    home = next(q.id for q in checkout_service(kernel).shipping_quotes(token, ADDRESS)
                if not q.pickup_point_required)
    with pytest.raises(ValidationFailed, match="delivers to the address") as info:
        _place(kernel, token, point="FR-000001", quote=home)
    assert info.value.field == "pickup_point_id"


def test_the_chosen_point_is_kept_with_the_order_and_reaches_the_label(kernel: Kernel, relay: RelayCarrier) -> None:
    placed = _place(kernel, new_cart(kernel), point="FR-000002")
    assert placed.status == "paid"
    with kernel.factory() as s:
        order = s.get(Order, placed.order_id)
        assert order is not None
        q = order.shipping_quote
    assert q["pickup_point_required"] is True
    assert q["pickup_point"]["id"] == "FR-000002" and q["pickup_point"]["name"] == "RELAIS 2"
    assert q["pickup_point"]["address"]["line1"] == "2 rue Oberkampf"
    assert order.shipping_address["line1"] == ADDRESS.line1  # the customer's own address is kept as well

    shipment = OrderService(kernel).fulfil(placed.order_id, actor="staff")
    assert shipment.tracking_number == "RL1"
    [(request, quote)] = relay.labels
    assert request.pickup_point_id == "FR-000002" and quote.pickup_point_required
    assert request.destination.line1 == ADDRESS.line1


def test_a_carrier_that_cannot_confirm_the_point_stops_checkout_without_its_secrets(
        kernel: Kernel, relay: RelayCarrier) -> None:
    relay.mode = "down"
    with pytest.raises(PluginError, match="RelayCo could not list its pickup points") as info:
        _place(kernel, new_cart(kernel), point="FR-000001")
    assert "abc123" not in info.value.message
    with kernel.factory() as s:
        assert s.scalars(select(CheckoutAttempt)).first() is None


def test_home_delivery_orders_send_no_point_to_the_carrier(kernel: Kernel) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.requests: list[ShipmentRequest] = []

        @hookimpl
        def shipping_quotes(self, ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
            return [ShippingQuote(id="home:std", carrier="HomeCo", service="Home", price=Money(1, "EUR"),
                                  min_days=1, max_days=2)]

        @hookimpl
        def shipping_create_label(self, ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote,
                                  reference: str) -> Label:
            self.requests.append(shipment)
            return Label(tracking_number="H1", pdf=b"%PDF")

    rec = Recorder()
    kernel.host.add(rec, manifest("home-carrier"))
    kernel.host.enable("home-carrier")
    kernel.host.add(FakeCard(), manifest("fake-card"))
    kernel.host.enable("fake-card")
    make_shop(kernel)
    placed = _place(kernel, new_cart(kernel), quote="home:std")
    with kernel.factory() as s:
        order = s.get(Order, placed.order_id)
        assert order is not None and "pickup_point" not in order.shipping_quote
    OrderService(kernel).fulfil(placed.order_id, actor="staff")
    assert rec.requests[0].pickup_point_id == ""
