"""Flat-rate / weight-band shipping: quotes from the merchant's own table, and a
printable label (the merchant posts the parcel; the tracking number is the shop's)."""
from __future__ import annotations

import hashlib
from typing import Any

from comptoir.sdk import Label, Money, ShipmentRequest, ShippingQuote, hookimpl

from comptoir_flat_rate_shipping import label, rates


def _table(ctx: Any) -> dict[str, Any]:
    return rates.load(ctx.setting("table"))


@hookimpl(trylast=True)
def shipping_quotes(ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
    table = _table(ctx)
    if shipment.value.currency != table["currency"]:
        return []
    return [
        ShippingQuote(id=f"flat-rate:{r.zone}:{r.service}", carrier="Comptoir post", service=r.title,
                      price=Money(r.price, table["currency"]), min_days=r.min_days, max_days=r.max_days)
        for r in rates.rates(table, shipment.destination.country, shipment.weight_grams, shipment.value.amount)
    ]


@hookimpl
def shipping_create_label(ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote, reference: str) -> Label:
    # Stable for the same order and service, so a retried label is the same label.
    digest = hashlib.sha256(f"{reference}:{quote.id}".encode()).hexdigest()[:10].upper()
    tracking = f"CP{digest}FR"
    d = shipment.destination
    pdf = label.render([f"Order {reference}", quote.service, "", d.name, d.line1, d.line2,
                        f"{d.postal_code} {d.city}", d.country, f"{shipment.weight_grams} g"], tracking)
    return Label(tracking_number=tracking, pdf=pdf)


@hookimpl
def shipping_cancel_label(ctx: Any, tracking_number: str) -> bool:
    return True  # nothing was bought from a carrier: the label is simply not used


@hookimpl
def shipping_return_label(ctx: Any, shipment: ShipmentRequest, reference: str) -> Label:
    tracking = "CR" + hashlib.sha256(f"return:{reference}".encode()).hexdigest()[:10].upper() + "FR"
    return Label(tracking_number=tracking, pdf=label.render([f"Return of order {reference}", "Send back to the shop"],
                                                            tracking))
