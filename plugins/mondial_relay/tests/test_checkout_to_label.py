"""In a kernel: the shopper lists Mondial Relay's points for its quote, checkout refuses
the quote without one, and the label bought when staff fulfil the order is addressed to
the chosen point at the local WSI service."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import comptoir_manual_payment.plugin as manual
import comptoir_mondial_relay.plugin as mondial_relay
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order
from comptoir.kernel.errors import ValidationFailed
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from comptoir.sdk import Address, manifest_from_pyproject
from plugins.mondial_relay.tests.conftest import MANIFEST, connect
from plugins.mondial_relay.tests.fake_mondial_relay import FakeMondialRelay

TO = Address(name="Inès Roux", line1="4 rue de la Villette", postal_code="69003", city="Lyon", country="FR",
             phone="+33612345678")


def test_the_chosen_point_reaches_mondial_relay(plugin_kernel: Any, fake: FakeMondialRelay) -> None:
    pay = manifest_from_pyproject(Path(manual.__file__).resolve().parents[1] / "pyproject.toml")
    k = plugin_kernel((mondial_relay, MANIFEST), (manual, pay))
    connect(k, fake)
    with transaction(k.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku="TOTE-CANVAS", quantity=1)
        token = cart.token
    svc = checkout_service(k)
    [quote] = svc.shipping_quotes(token, TO)
    assert quote.pickup_point_required and quote.plugin == "mondial-relay"
    near = Address(name="", line1="", postal_code="69003", city="", country="FR")
    points = svc.pickup_points(token, quote.id, near)
    assert [p.id for p in points] == ["FR-066974", "FR-020140", "FR-071301"]

    def place(point: str) -> Any:
        return svc.place(CheckoutRequest(cart_token=token, email="ines@example.com", address=TO,
                                         shipping_quote_id=quote.id, payment_method_id="bank_transfer",
                                         pickup_point_id=point))

    with pytest.raises(ValidationFailed) as info:
        place("")
    assert info.value.field == "pickup_point_id"
    with pytest.raises(ValidationFailed) as info:
        place("FR-004512")  # a real point, but in Paris: not one Mondial Relay lists near the address
    assert info.value.field == "pickup_point_id"
    placed = place("FR-071301")
    with k.factory() as s:
        order = s.get(Order, placed.order_id)
        assert order is not None
        chosen = order.shipping_quote["pickup_point"]
    assert (chosen["name"], chosen["address"]["line1"]) == ("LIBRAIRIE PART-DIEU", "17 RUE SERVIENT")

    orders = OrderService(k)
    orders.mark_paid(placed.order_id, actor="staff")
    shipment = orders.fulfil(placed.order_id, actor="staff")
    sent = fake.shipments[shipment.tracking_number]
    assert (sent["ModeLiv"], sent["LIV_Rel_Pays"], sent["LIV_Rel"]) == ("24R", "FR", "071301")
    assert sent["Dest_Ad1"] == "INÈS ROUX" and sent["Dest_CP"] == "69003"  # the customer, to collect it
    assert (k.settings.data_dir / shipment.label_path).read_bytes().startswith(b"%PDF")
