"""Colis Express against a test kernel (run with `comptoir sdk test`)."""
from __future__ import annotations

from dataclasses import replace

from comptoir.sdk import Money, ShipmentRequest


def _shipment(customer, grams: int, country: str = "FR") -> ShipmentRequest:  # type: ignore[no-untyped-def]
    return ShipmentRequest(destination=replace(customer.address, country=country), weight_grams=grams,
                           value=Money(4000, "EUR"))


def test_next_day_in_france_by_weight_band(comptoir_kernel, comptoir_plugin, fake_customer) -> None:  # type: ignore[no-untyped-def]
    quotes = comptoir_kernel.host.call("shipping_quotes", shipment=_shipment(fake_customer, 1500))
    assert [(q.service, q.price, q.min_days) for q in quotes] == [("Express 24h", Money(590 + 150, "EUR"), 1)]


def test_europe_costs_more_and_the_world_is_not_served(comptoir_kernel, comptoir_plugin, fake_customer) -> None:  # type: ignore[no-untyped-def]
    eu = comptoir_kernel.host.call("shipping_quotes", shipment=_shipment(fake_customer, 400, "DE"))
    assert [q.price.amount for q in eu] == [590 + 700]
    assert comptoir_kernel.host.call("shipping_quotes", shipment=_shipment(fake_customer, 400, "US")) == []
    assert comptoir_kernel.host.call("shipping_quotes", shipment=_shipment(fake_customer, 40000)) == []


def test_label_is_stable_and_tracked(comptoir_kernel, comptoir_plugin, fake_customer) -> None:  # type: ignore[no-untyped-def]
    shipment = _shipment(fake_customer, 800)
    quote = comptoir_kernel.host.call("shipping_quotes", shipment=shipment)[0]
    one = comptoir_kernel.host.call_one("colis-express", "shipping_create_label", shipment=shipment, quote=quote,
                                        reference="C0000042")
    two = comptoir_kernel.host.call_one("colis-express", "shipping_create_label", shipment=shipment, quote=quote,
                                        reference="C0000042")
    assert one.tracking_number == two.tracking_number and one.pdf.startswith(b"%PDF")
    events = comptoir_kernel.host.call_one("colis-express", "shipping_track", tracking_number=one.tracking_number)
    assert [e.status for e in events] == ["label_created"]
