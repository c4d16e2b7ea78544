"""Colis Express: a third-party carrier written only with ``comptoir.sdk``.

It quotes by zone and weight band (next-day in mainland France, 2-4 days in the EU),
buys labels (a PDF and a tracking number derived from the order reference, so a retried
label is the same label), and tracks parcels from what it stored when labelling.
"""
from __future__ import annotations

import hashlib
import json

from comptoir.sdk import Label, Money, PluginContext, ShipmentRequest, ShippingQuote, TrackingEvent, hookimpl

EU = frozenset("AT BE BG CY CZ DE DK EE ES FI GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
BANDS = (500, 2000, 5000, 10000, 30000)  # grams; heavier parcels are not carried


def _band(grams: int) -> int | None:
    return next((i for i, limit in enumerate(BANDS) if grams <= limit), None)


@hookimpl
def shipping_quotes(ctx: PluginContext, shipment: ShipmentRequest) -> list[ShippingQuote]:
    """Next-day in France, 2-4 days in the EU; nothing elsewhere or above 30 kg."""
    band = _band(shipment.weight_grams)
    country = shipment.destination.country
    if band is None or (country != "FR" and country not in EU):
        return []
    base = int(ctx.setting("base_price", 590))
    step = int(ctx.setting("price_per_band", 150))
    price = base + step * band + (0 if country == "FR" else int(ctx.setting("eu_surcharge", 700)))
    days = (1, 1) if country == "FR" else (2, 4)
    return [ShippingQuote(id=f"colis-express:{country}:{band}", carrier="Colis Express",
                          service="Express 24h" if country == "FR" else "Express Europe",
                          price=Money(price, shipment.value.currency), min_days=days[0], max_days=days[1])]


@hookimpl
def shipping_create_label(ctx: PluginContext, shipment: ShipmentRequest, quote: ShippingQuote,
                          reference: str) -> Label:
    """A label whose tracking number is stable for the same order and quote."""
    tracking = "CX" + hashlib.sha256(f"{reference}:{quote.id}".encode()).hexdigest()[:10].upper()
    ctx.storage_dir.mkdir(parents=True, exist_ok=True)
    (ctx.storage_dir / f"{tracking}.json").write_text(json.dumps({"reference": reference, "quote": quote.id}))
    d = shipment.destination
    text = f"Colis Express\n{tracking}\n{d.name}\n{d.line1}\n{d.postal_code} {d.city} {d.country}\n"
    return Label(tracking_number=tracking, pdf=b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n")


@hookimpl
def shipping_track(ctx: PluginContext, tracking_number: str) -> list[TrackingEvent]:
    """What this shop labelled: 'label created' until the carrier scans it."""
    if not (ctx.storage_dir / f"{tracking_number}.json").is_file():
        return []
    return [TrackingEvent(at="", status="label_created", description="Label created")]
