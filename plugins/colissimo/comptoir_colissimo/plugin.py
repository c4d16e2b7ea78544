"""Colissimo as Comptoir shipping hooks: quotes, labels, returns, tracking, cancel.

Cancel is local by design: Colissimo bills a label only when the parcel is handed to
La Poste, and SLS has no cancellation call, so an unused label is simply dropped.
"""
from __future__ import annotations

from typing import Any

from comptoir.sdk import Address, Label, Money, ShipmentRequest, ShippingQuote, TrackingEvent, hookimpl

from comptoir_colissimo import rates
from comptoir_colissimo.client import Colissimo, ColissimoError

TRACKING_URL = "https://www.laposte.fr/outils/suivre-vos-envois?code={}"


def _services(ctx: Any) -> list[str]:
    return [s.strip() for s in str(ctx.setting("services", "DOM,DOS") or "").split(",") if s.strip() in rates.TITLES]


def _shop(ctx: Any) -> Address:
    missing = [k for k in ("sender_name", "sender_line1", "sender_postal_code", "sender_city")
               if not ctx.setting(k)]
    if missing:
        raise ColissimoError(f"fill in the shop's address in the Colissimo settings ({', '.join(missing)})")
    return Address(name=str(ctx.setting("sender_name")), line1=str(ctx.setting("sender_line1")),
                   postal_code=str(ctx.setting("sender_postal_code")), city=str(ctx.setting("sender_city")),
                   country=str(ctx.setting("sender_country") or "FR"))


@hookimpl
def shipping_quotes(ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
    grid = rates.load(ctx.setting("rates"))
    if shipment.value.currency != grid["currency"] or shipment.origin_country.upper() not in ("FR", "MC", "AD"):
        return []
    grams = shipment.weight_grams * max(1, shipment.parcels)
    out = []
    for service in _services(ctx):
        found = rates.price(grid, shipment.destination.country, service, grams)
        if found is not None:
            price, lo, hi = found
            out.append(ShippingQuote(id=f"colissimo:{service}", carrier="Colissimo", service=rates.TITLES[service],
                                     price=Money(price, grid["currency"]), min_days=lo, max_days=hi))
    return out


@hookimpl
def shipping_create_label(ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote, reference: str) -> Label:
    product = quote.id.split(":", 1)[1] if quote.id.startswith("colissimo:") else "DOM"
    number, pdf = Colissimo(ctx).label(product=product, reference=reference, grams=shipment.weight_grams,
                                       sender=_shop(ctx), addressee=shipment.destination,
                                       shop_name=str(ctx.setting("sender_name") or ""))
    return Label(tracking_number=number, pdf=pdf, tracking_url=TRACKING_URL.format(number), carrier_reference=number)


@hookimpl
def shipping_return_label(ctx: Any, shipment: ShipmentRequest, reference: str) -> Label:
    # "CORE" is Colissimo Retour France: the customer is the sender, the shop the addressee.
    number, pdf = Colissimo(ctx).label(product="CORE", reference=reference, grams=shipment.weight_grams,
                                       sender=shipment.destination, addressee=_shop(ctx),
                                       shop_name=str(ctx.setting("sender_name") or ""))
    return Label(tracking_number=number, pdf=pdf, tracking_url=TRACKING_URL.format(number), carrier_reference=number)


@hookimpl
def shipping_track(ctx: Any, tracking_number: str) -> list[TrackingEvent]:
    return Colissimo(ctx).track(tracking_number)


@hookimpl
def shipping_cancel_label(ctx: Any, tracking_number: str) -> bool:
    # A label not yet handed over: nothing is billed and SLS offers no cancellation.
    events = Colissimo(ctx).track(tracking_number) if ctx.credentials and ctx.credentials.connected("okapi_key") else []
    return all(e.status == "label_created" for e in events)
