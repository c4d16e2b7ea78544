"""In a kernel: the checkout ranks Colissimo's quotes with the others, and fulfilling the
order stores Colissimo's PDF label with the shipment."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import comptoir_colissimo.plugin as colissimo
import comptoir_flat_rate_shipping.plugin as flat_rate
import comptoir_manual_payment.plugin as manual
from comptoir.kernel.db import transaction
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from comptoir.sdk import Address, manifest_from_pyproject
from plugins.colissimo.tests.conftest import MANIFEST, connect
from plugins.colissimo.tests.fake_colissimo import FakeColissimo


def _manifest(module: Any) -> Any:
    return manifest_from_pyproject(Path(module.__file__).resolve().parents[1] / "pyproject.toml")


def test_colissimo_quote_chosen_at_checkout_gives_a_stored_pdf(plugin_kernel: Any, fake: FakeColissimo) -> None:
    k = plugin_kernel((colissimo, MANIFEST), (flat_rate, _manifest(flat_rate)), (manual, _manifest(manual)))
    connect(k, fake)
    with transaction(k.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku="TOTE-CANVAS", quantity=1)
        token = cart.token
    to = Address(name="Inès Roux", line1="4 place Bellecour", postal_code="69002", city="Lyon", country="FR")
    svc = checkout_service(k)
    ranked = svc.shipping_quotes(token, to)
    assert {q.plugin for q in ranked} == {"colissimo", "flat-rate-shipping"}
    assert [q.price.amount for q in ranked] == sorted(q.price.amount for q in ranked)  # cheapest first
    quote = next(q for q in ranked if q.id == "colissimo:DOS")
    placed = svc.place(CheckoutRequest(cart_token=token, email="ines@example.com", address=to,
                                       shipping_quote_id=quote.id, payment_method_id="bank_transfer"))
    orders = OrderService(k)
    orders.mark_paid(placed.order_id, actor="staff")
    shipment = orders.fulfil(placed.order_id, actor="staff")
    pdf = (k.settings.data_dir / shipment.label_path).read_bytes()
    assert pdf.startswith(b"%PDF") and shipment.tracking_number in fake.labels
    assert fake.labels[shipment.tracking_number]["service"]["productCode"] == "DOS"
    assert shipment.tracking_url.endswith(shipment.tracking_number)

    # tracking updates: the kernel asks the carrier, stores its events, tells once
    from sqlalchemy import select

    from comptoir.kernel.domain import OutboxEvent, Shipment
    from comptoir.kernel.services.tracking import refresh_tracking

    assert refresh_tracking(k) == {"checked": 1, "changed": 1, "failed": 0}
    creds = k.services["credentials"]
    creds.store.put("colissimo", "okapi_key", "api_key", "revoked-key-000000")
    assert refresh_tracking(k) == {"checked": 1, "changed": 0, "failed": 1}  # journaled, retried next time
    from plugins.colissimo.tests.fake_colissimo import OKAPI_KEY

    creds.store.put("colissimo", "okapi_key", "api_key", OKAPI_KEY)
    fake.progress(shipment.tracking_number, "PC1", "Pris en charge", "Nantes PFC")
    fake.progress(shipment.tracking_number, "DI1", "Livré", "Lyon 02")
    assert refresh_tracking(k)["changed"] == 1
    assert refresh_tracking(k) == {"checked": 0, "changed": 0, "failed": 0}  # delivered: no longer asked
    with k.factory() as s:
        row = s.get(Shipment, shipment.id)
        assert row is not None and row.status == "delivered" and len(row.events) == 3
        assert row.events[-1]["location"] == "Lyon 02"
        topics = [e.topic for e in s.scalars(select(OutboxEvent))]
    assert topics.count("shipment.delivered") == 1
