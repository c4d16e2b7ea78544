"""Mondial Relay through the plugin's hooks against the local WSI service."""
from __future__ import annotations

from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import Address, Money, ShipmentRequest
from comptoir_mondial_relay.wsi import security
from plugins.mondial_relay.tests.conftest import PLUGIN
from plugins.mondial_relay.tests.fake_mondial_relay import FakeMondialRelay

LYON = Address(name="Camille Martin", line1="12 rue des Lilas", postal_code="69003", city="Lyon", country="FR",
               email="camille@example.com", phone="+33612345678")


def shipment(dest: Address = LYON, grams: int = 800, point: str = "") -> ShipmentRequest:
    return ShipmentRequest(destination=dest, weight_grams=grams, value=Money(3000, "EUR"), pickup_point_id=point)


def test_security_is_mondial_relays_md5() -> None:
    # Example of Mondial Relay's documentation: Enseigne BDTEST13, Pays FR, CP 75010, key PrivateK.
    import hashlib

    assert security(["BDTEST13", "FR", "75010"], "PrivateK") == hashlib.md5(
        b"BDTEST13FR75010PrivateK").hexdigest().upper()


def test_pickup_points_nearest_first(kernel: Any, fake: FakeMondialRelay) -> None:
    points = kernel.host.call("shipping_pickup_points", near=LYON, limit=2)
    assert [(p.id, p.distance_m) for p in points] == [("FR-066974", 350), ("FR-020140", 820)]
    assert points[0].address.city == "LYON" and points[0].opening_hours.startswith("Lun 09:00-12:30 14:00-19:00")
    assert "Dim" not in points[0].opening_hours
    body = fake.requests[-1]["body"].decode()
    assert "<CP>69003</CP>" in body and "<Security>" in body
    assert fake.requests[-1]["headers"]["soapaction"] == '"http://www.mondialrelay.fr/webservice/WSI4_PointRelais_Recherche"'


def test_quote_label_to_the_chosen_point_tracking_and_cancel(kernel: Any, fake: FakeMondialRelay) -> None:
    [quote] = kernel.host.call("shipping_quotes", shipment=shipment())
    assert quote.pickup_point_required and quote.price == Money(449, "EUR")
    label = kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(point="FR-071301"),
                                 quote=quote, reference="C0000077")
    sent = fake.shipments[label.tracking_number]
    assert (sent["LIV_Rel_Pays"], sent["LIV_Rel"], sent["ModeLiv"], sent["Poids"]) == ("FR", "071301", "24R", "800")
    assert label.pdf.startswith(b"%PDF") and label.tracking_number.encode() in label.pdf
    assert kernel.host.call_one(PLUGIN, "shipping_cancel_label", tracking_number=label.tracking_number) is True

    fake.scan(label.tracking_number, "81", "Prise en charge en agence", "NANTES")
    fake.scan(label.tracking_number, "81", "Colis disponible au Point Relais", "LYON")
    fake.scan(label.tracking_number, "82", "Colis livré au destinataire", "LYON", hour="17:40")
    events = kernel.host.call_one(PLUGIN, "shipping_track", tracking_number=label.tracking_number)
    assert [e.status for e in events] == ["in_transit", "out_for_delivery", "delivered"]
    assert events[-1].at == "2026-03-02T17:40:00"
    assert kernel.host.call_one(PLUGIN, "shipping_cancel_label", tracking_number=label.tracking_number) is False


def test_without_a_chosen_point_the_nearest_is_used(kernel: Any, fake: FakeMondialRelay) -> None:
    # an order placed before the kernel carried the shopper's choice (hook API < 1.3)
    [quote] = kernel.host.call("shipping_quotes", shipment=shipment())
    label = kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(), quote=quote, reference="C78")
    assert fake.shipments[label.tracking_number]["LIV_Rel"] == "066974"


def test_a_point_mondial_relay_does_not_know_is_refused(kernel: Any, fake: FakeMondialRelay) -> None:
    [quote] = kernel.host.call("shipping_quotes", shipment=shipment())
    with pytest.raises(PluginError, match="Numéro de Point Relais invalide \\(STAT 44\\)"):  # the service's answer
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(point="BE-071301"), quote=quote,
                             reference="C81")
    assert b"<LIV_Rel_Pays>BE</LIV_Rel_Pays><LIV_Rel>071301</LIV_Rel>" in fake.requests[-1]["body"]
    sent = len(fake.requests)
    with pytest.raises(PluginError, match="expected a country and a number"):  # never sent
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(point="Relais 71301"), quote=quote,
                             reference="C82")
    assert fake.shipments == {} and len(fake.requests) == sent


def test_return_label_goes_to_the_shop(kernel: Any, fake: FakeMondialRelay) -> None:
    label = kernel.host.call_one(PLUGIN, "shipping_return_label", shipment=shipment(), reference="C79")
    sent = fake.shipments[label.tracking_number]
    assert (sent["ModeCol"], sent["ModeLiv"], sent["Dest_Ville"], sent["Expe_Ad1"]) == (
        "REL", "LCC", "Nantes", "CAMILLE MARTIN")


def test_errors_carry_mondial_relays_text(kernel: Any, fake: FakeMondialRelay) -> None:
    [quote] = kernel.host.call("shipping_quotes", shipment=shipment())
    bad = Address(name="A B", line1="1 rue", postal_code="6900", city="Lyon", country="FR")
    with pytest.raises(PluginError, match="Code postal invalide \\(STAT 36\\)"):
        kernel.host.call_one(PLUGIN, "shipping_create_label", shipment=shipment(bad, point="FR-066974"), quote=quote,
                             reference="C80")
    with pytest.raises(PluginError, match="STAT 24"):
        kernel.host.call_one(PLUGIN, "shipping_track", tracking_number="99999999")
    kernel.services["credentials"].store.put(PLUGIN, "private_key", "api_key", "WrongKey")
    with pytest.raises(PluginError, match="Clé de sécurité invalide") as info:
        kernel.host.call_one(PLUGIN, "shipping_track", tracking_number="31200001")
    assert "WrongKey" not in str(info.value)
    assert kernel.host.call("shipping_pickup_points", near=LYON, limit=3) == []  # a failing carrier is skipped


def test_raw_key_needs_its_approval(kernel: Any, fake: FakeMondialRelay) -> None:
    kernel.services["credentials"].revoke(PLUGIN, ["raw:private_key"], "admin")
    from comptoir.kernel.errors import ScopeDenied

    with pytest.raises(ScopeDenied):
        kernel.host.call_one(PLUGIN, "shipping_track", tracking_number="31200001")
    assert fake.requests == []


def test_slow_search_is_retried_once(kernel: Any, fake: FakeMondialRelay) -> None:
    fake.slow_next = 1
    points = kernel.host.call_one(PLUGIN, "shipping_pickup_points", near=LYON, limit=1)
    assert [p.id for p in points] == ["FR-066974"] and len(fake.requests) == 2
