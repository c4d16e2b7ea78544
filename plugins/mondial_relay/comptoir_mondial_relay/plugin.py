"""Mondial Relay as Comptoir shipping hooks: pickup points, quotes, labels, tracking.

Every quote is a "Point Relais" delivery (mode 24R), so it asks for a pickup point: the
shopper chooses one of ``shipping_pickup_points`` at checkout and the kernel hands its
id (``FR-066974``: country-number) back in ``ShipmentRequest.pickup_point_id``; the label
is addressed to that point (``LIV_Rel_Pays`` / ``LIV_Rel``). Orders placed before the
kernel carried the choice (hook API < 1.3) have none: their label goes to the point
nearest the customer's address.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from comptoir.sdk import Address, Label, Money, PickupPoint, ShipmentRequest, ShippingQuote, TrackingEvent, hookimpl

from comptoir_mondial_relay.wsi import WSI, MondialRelayError, text

NS = "{http://www.mondialrelay.fr/webservice/}"
DAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
POINT_RE = re.compile(r"([A-Z]{2})-(\d{6})")
TRACKING_URL = "https://www.mondialrelay.fr/suivi-de-colis/?NumeroExpedition={}&CodePostal={}"
# Indicative public prices for "Point Relais" (24R), in cents; merchants set their own.
DEFAULT_GRID: dict[str, Any] = {"currency": "EUR", "zones": {
    "FR": {"countries": ["FR"], "days": [3, 5], "bands": [[500, 419], [1000, 449], [2000, 599], [5000, 899],
                                                          [10000, 1249], [30000, 2199]]},
    "BENELUX_ES": {"countries": ["BE", "LU", "NL", "ES"], "days": [4, 7],
                   "bands": [[500, 549], [1000, 649], [2000, 799], [5000, 1199], [10000, 1599], [30000, 2599]]},
}}


def _grid(ctx: Any) -> dict[str, Any]:
    raw = ctx.setting("rates")
    return json.loads(raw) if raw else DEFAULT_GRID


@hookimpl
def shipping_quotes(ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
    grid = _grid(ctx)
    if shipment.value.currency != grid["currency"]:
        return []
    grams = shipment.weight_grams * max(1, shipment.parcels)
    for zone in grid["zones"].values():
        if shipment.destination.country.upper() in zone["countries"]:
            price = next((int(p) for limit, p in zone["bands"] if grams <= int(limit)), None)
            if price is None:
                return []
            lo, hi = zone["days"]
            return [ShippingQuote(id="mondial-relay:24R", carrier="Mondial Relay", service="Point Relais",
                                  price=Money(price, grid["currency"]), min_days=int(lo), max_days=int(hi),
                                  pickup_point_required=True)]
    return []


def _hours(node: Any) -> str:
    out = []
    for day in DAYS:
        slots = [s.text or "" for s in node.findall(f"{NS}Horaires_{day}/{NS}string")]
        spans = [f"{a[:2]}:{a[2:]}-{b[:2]}:{b[2:]}" for a, b in zip(slots[::2], slots[1::2]) if a != "0000"]
        if spans:
            out.append(f"{day[:3]} {' '.join(spans)}")
    return "; ".join(out)


@hookimpl
def shipping_pickup_points(ctx: Any, near: Address, limit: int) -> list[PickupPoint]:
    node = WSI(ctx).call("WSI4_PointRelais_Recherche", {
        "Pays": near.country.upper(), "Ville": "", "CP": near.postal_code, "Action": "24R",
        "RayonRecherche": "20", "NombreResultats": str(max(1, min(limit, 30)))})
    points = []
    for p in node.findall(f"{NS}PointsRelais/{NS}PointRelais_Details"):
        country = text(p, "Pays")
        addr = Address(name=text(p, "LgAdr1"), line1=text(p, "LgAdr3"), line2=text(p, "LgAdr4"),
                       postal_code=text(p, "CP"), city=text(p, "Ville"), country=country)
        distance = text(p, "Distance")
        points.append(PickupPoint(id=f"{country}-{text(p, 'Num')}", name=text(p, "LgAdr1"), address=addr,
                                  carrier="Mondial Relay", opening_hours=_hours(p),
                                  distance_m=int(distance) if distance.isdigit() else None))
    return sorted(points, key=lambda p: p.distance_m if p.distance_m is not None else 10**9)[:limit]


def _shop(ctx: Any) -> dict[str, str]:
    missing = [k for k in ("sender_name", "sender_line1", "sender_postal_code", "sender_city", "sender_phone")
               if not ctx.setting(k)]
    if missing:
        raise MondialRelayError("98", f"settings: fill in the shop's {', '.join(missing)}")
    return {"Ad1": str(ctx.setting("sender_name")), "Ad3": str(ctx.setting("sender_line1")),
            "Ville": str(ctx.setting("sender_city")), "CP": str(ctx.setting("sender_postal_code")),
            "Pays": str(ctx.setting("sender_country") or "FR"), "Tel1": str(ctx.setting("sender_phone"))}


def _person(a: Address) -> dict[str, str]:
    return {"Ad1": a.name.upper()[:32], "Ad3": a.line1[:32], "Ville": a.city[:26], "CP": a.postal_code,
            "Pays": a.country.upper(), "Tel1": a.phone, "Mail": a.email}


def _create(ctx: Any, *, mode_col: str, mode_liv: str, expe: dict[str, str], dest: dict[str, str], grams: int,
            reference: str, point: tuple[str, str] = ("", "")) -> Label:
    wsi = WSI(ctx)
    params = {"ModeCol": mode_col, "ModeLiv": mode_liv, "NDossier": reference[:15], "Expe_Langage": "FR",
              "Dest_Langage": "FR", "Poids": str(max(15, grams)), "NbColis": "1", "CRT_Valeur": "0",
              "LIV_Rel_Pays": point[0], "LIV_Rel": point[1]}
    params.update({f"Expe_{k}": v for k, v in expe.items()})
    params.update({f"Dest_{k}": v for k, v in dest.items()})
    # Not retried: the service has no idempotency key, a blind retry could create two shipments.
    node = wsi.call("WSI2_CreationEtiquette", params, retry=False)
    number = text(node, "ExpeditionNum")
    pdf = wsi.pdf(text(node, "URL_Etiquette"))
    return Label(tracking_number=number, pdf=pdf, carrier_reference=number,
                 tracking_url=TRACKING_URL.format(number, dest.get("CP", "")))


def _relay_point(ctx: Any, shipment: ShipmentRequest) -> tuple[str, str]:
    """(country, number) of the point the parcel goes to."""
    if shipment.pickup_point_id:
        found = POINT_RE.fullmatch(shipment.pickup_point_id.strip().upper())
        if not found:
            raise MondialRelayError("44", f"pickup point {shipment.pickup_point_id[:40]!r} "
                                          "(expected a country and a number such as FR-066974)")
        return found.group(1), found.group(2)
    nearest = shipping_pickup_points(ctx, shipment.destination, 1)
    if not nearest:
        raise MondialRelayError("44", "WSI4_PointRelais_Recherche (no pickup point near the address)")
    country, number = nearest[0].id.split("-", 1)
    return country, number


@hookimpl
def shipping_create_label(ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote, reference: str) -> Label:
    return _create(ctx, mode_col="CCC", mode_liv="24R", expe=_shop(ctx), dest=_person(shipment.destination),
                   grams=shipment.weight_grams, reference=reference, point=_relay_point(ctx, shipment))


@hookimpl
def shipping_return_label(ctx: Any, shipment: ShipmentRequest, reference: str) -> Label:
    # The customer drops the parcel at any point (REL); it is delivered to the shop (LCC).
    shop = _shop(ctx)
    return _create(ctx, mode_col="REL", mode_liv="LCC", expe=_person(shipment.destination),
                   dest={k: v for k, v in shop.items()}, grams=shipment.weight_grams, reference=reference)


def _tracking_status(stat: str, label: str, last: bool) -> str:
    upper = label.upper()
    if last and stat == "82":
        return "delivered"
    if last and stat == "83":
        return "exception"
    if "DISPONIBLE" in upper:
        return "out_for_delivery"
    if "RETOUR" in upper:
        return "returned"
    return "in_transit"


@hookimpl
def shipping_track(ctx: Any, tracking_number: str) -> list[TrackingEvent]:
    node = WSI(ctx).call("WSI2_TracingColisDetaille", {"Expedition": tracking_number, "Langue": "FR"})
    stat = text(node, "STAT")
    rows = [r for r in node.findall(f"{NS}Tracing/{NS}ret_WSI2_sub_TracingColisDetaille") if text(r, "Libelle")]
    events = [TrackingEvent(at=_iso(text(r, "Date"), text(r, "Heure")), description=text(r, "Libelle"),
                            location=text(r, "Emplacement"),
                            status=_tracking_status(stat, text(r, "Libelle"), i == len(rows) - 1))  # type: ignore[arg-type]
              for i, r in enumerate(rows)]
    if stat == "80" or not events:
        return [TrackingEvent(at=datetime.now().astimezone().isoformat(timespec="seconds"), status="label_created",
                              description="Colis enregistré")] + events
    return events


def _iso(day: str, hour: str) -> str:
    try:
        return datetime.strptime(f"{day} {hour or '00:00'}", "%d/%m/%y %H:%M").isoformat()
    except ValueError:
        return day


@hookimpl
def shipping_cancel_label(ctx: Any, tracking_number: str) -> bool:
    # WSI has no cancellation: a shipment is billed once the parcel is scanned, so an
    # unscanned label (STAT 80) is simply not used.
    node = WSI(ctx).call("WSI2_TracingColisDetaille", {"Expedition": tracking_number, "Langue": "FR"})
    return text(node, "STAT") == "80"
