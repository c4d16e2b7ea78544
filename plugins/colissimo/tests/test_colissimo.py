"""Colissimo through the plugin's hooks against the local SLS and Suivi services."""
from __future__ import annotations

import json
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import Address, Money, ShipmentRequest, ShippingQuote
from plugins.colissimo.tests.conftest import PLUGIN
from plugins.colissimo.tests.fake_colissimo import API_KEY, FakeColissimo

LYON = Address(name="Camille Martin", line1="12 rue des Lilas", postal_code="69003", city="Lyon", country="FR",
               email="camille@example.com", phone="0612345678")


def shipment(dest: Address = LYON, grams: int = 700) -> ShipmentRequest:
    return ShipmentRequest(destination=dest, weight_grams=grams, value=Money(4500, "EUR"))


def quotes(kernel: Any, s: ShipmentRequest) -> list[ShippingQuote]:
    return kernel.host.call(  # collect: as the checkout asks every carrier
        "shipping_quotes", shipment=s)


def test_quotes_from_the_grid(kernel: Any) -> None:
    got = quotes(kernel, shipment())
    assert [(q.id, q.price.amount, q.min_days) for q in got] == [("colissimo:DOM", 849, 2), ("colissimo:DOS", 979, 2)]
    be = Address(name="An Peeters", line1="Rue Haute 1", postal_code="1000", city="Bruxelles", country="BE")
    assert [q.id for q in quotes(kernel, shipment(be))] == ["colissimo:DOS"]  # Europe ships with signature
    assert quotes(kernel, shipment(grams=31000)) == []
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "rates": json.dumps(
        {"currency": "EUR", "zones": {"FR": {"countries": ["FR"], "services": {"DOM": [[30000, 590]]}}}})})
    assert [(q.id, q.price.amount) for q in quotes(kernel, shipment())] == [("colissimo:DOM", 590)]


def test_label_return_label_and_tracking(kernel: Any, fake: FakeColissimo) -> None:
    quote = quotes(kernel, shipment())[0]
    label = kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(), quote=quote,
                                 reference="C0000042")
    assert label.pdf.startswith(b"%PDF") and label.tracking_number.encode() in label.pdf
    assert label.tracking_url.endswith(label.tracking_number)
    sent = fake.requests[-1]
    assert sent["headers"]["apikey"] == API_KEY
    letter = json.loads(sent["body"])["letter"]
    assert letter["service"]["productCode"] == "DOM" and letter["service"]["orderNumber"] == "C0000042"
    assert letter["parcel"]["weight"] == 0.7
    assert letter["addressee"]["address"]["zipCode"] == "69003"
    assert letter["sender"]["address"]["companyName"] == "Atelier Lumière"

    ret = kernel.host.call_one(PLUGIN, "shipping_return_label", shipment=shipment(), reference="C0000042")
    back = fake.labels[ret.tracking_number]
    assert back["service"]["productCode"] == "CORE" and back["addressee"]["address"]["city"] == "Nantes"
    assert back["sender"]["address"]["lastName"] == "Martin"

    assert [e.status for e in kernel.host.call_one(PLUGIN, "shipping_track",
                                                   tracking_number=label.tracking_number)] == ["label_created"]
    assert kernel.host.call_one(PLUGIN, "shipping_cancel_label", tracking_number=label.tracking_number) is True
    fake.progress(label.tracking_number, "PC1", "Pris en charge", "Nantes PFC")
    fake.progress(label.tracking_number, "MD2", "En cours de livraison", "Lyon 03")
    fake.progress(label.tracking_number, "DI1", "Livré", "Lyon 03")
    events = kernel.host.call_one(PLUGIN, "shipping_track", tracking_number=label.tracking_number)
    assert [e.status for e in events] == ["label_created", "in_transit", "out_for_delivery", "delivered"]
    assert events[-1].location == "Lyon 03"
    assert kernel.host.call_one(PLUGIN, "shipping_cancel_label", tracking_number=label.tracking_number) is False


def test_service_errors_reach_the_journal(kernel: Any, fake: FakeColissimo) -> None:
    bad = Address(name="X Y", line1="1 rue", postal_code="690", city="Lyon", country="FR")
    quote = quotes(kernel, shipment())[0]
    with pytest.raises(PluginError, match="Le code postal du destinataire n'est pas valide \\(30221\\)"):
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(bad), quote=quote, reference="C1")
    with pytest.raises(PluginError, match="inconnu"):
        kernel.host.call_one(PLUGIN, "shipping_track", tracking_number="6A99999999999")
    kernel.services["credentials"].store.put(PLUGIN, "api_key", "api_key", "stale-key-000000000000")
    with pytest.raises(PluginError, match="Identifiant ou mot de passe invalide"):
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(), quote=quote, reference="C2")
    kernel.host.journal.flush()
    errors = [e.error for e in kernel.host.journal.entries(plugin=PLUGIN, limit=50) if e.outcome == "error"]
    assert any("30221" in e for e in errors) and all("stale-key" not in e for e in errors)


def test_slow_tracking_is_retried_once(kernel: Any, fake: FakeColissimo) -> None:
    quote = quotes(kernel, shipment())[0]
    label = kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(), quote=quote, reference="C3")
    fake.slow_next = 1
    assert kernel.host.call_one(PLUGIN, "shipping_track", tracking_number=label.tracking_number)
    fake.slow_next = 2
    with pytest.raises(PluginError, match="Timeout"):
        kernel.host.call_one(PLUGIN, "shipping_track", tracking_number=label.tracking_number)


def test_missing_shop_address_is_named(kernel: Any) -> None:
    kernel.host.configure(PLUGIN, {"api_base": "http://127.0.0.1:1", "sender_name": "Shop"})
    quote = ShippingQuote(id="colissimo:DOM", carrier="Colissimo", service="x", price=Money(1, "EUR"),
                          min_days=1, max_days=2)
    with pytest.raises(PluginError, match="sender_line1, sender_postal_code, sender_city"):
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(), quote=quote, reference="C4")
