"""Shipping hooks: every carrier quotes, the kernel ranks; labels, tracking, returns."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import Address, Label, PickupPoint, ShipmentRequest, ShippingQuote, TrackingEvent


@spec("collect", timeout_ms=3000)
def shipping_quotes(ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
    """Rate quotes for ``shipment``.

    Collect-all: every enabled carrier answers; the kernel ranks all quotes by price,
    then by delay, like a shipping comparator. A carrier that fails or is too slow is
    skipped and journaled; checkout goes on with the others.

    :param ctx: the plugin's own context.
    :param shipment: destination, weight, declared value.
    :returns: a list of :class:`ShippingQuote` with ids stable for the same request. A
        relay carrier sets ``pickup_point_required`` on quotes delivered to a pickup point;
        the shopper then chooses one of its ``shipping_pickup_points`` at checkout.
    """


@spec("targeted", side_effects=True)
def shipping_create_label(ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote, reference: str) -> Label:
    """Buy a label for ``quote``. Targeted at the plugin that gave the quote.

    :param shipment: the order's address, weight and value; ``shipment.pickup_point_id``
        is the point the shopper chose when ``quote.pickup_point_required`` (since 1.3).
    :param reference: the order number, printed on the label.
    :returns: a :class:`Label` with the PDF and tracking number.
    """


@spec("targeted", side_effects=True)
def shipping_cancel_label(ctx: Any, tracking_number: str) -> bool:
    """Cancel an unused label. Targeted. :returns: True when the carrier accepted."""


@spec("targeted")
def shipping_track(ctx: Any, tracking_number: str) -> list[TrackingEvent]:
    """Tracking history of a parcel, oldest first. Targeted at the label's plugin."""


@spec("targeted", side_effects=True)
def shipping_return_label(ctx: Any, shipment: ShipmentRequest, reference: str) -> Label:
    """A prepaid return label for ``shipment`` (destination is the shop). Targeted."""


@spec("collect", timeout_ms=3000)
def shipping_pickup_points(ctx: Any, near: Address, limit: int) -> list[PickupPoint]:
    """Relay / pickup points near an address. Collect-all across relay carriers.

    Checkout also calls it targeted at the carrier of a quote with
    ``pickup_point_required``: to list the points the shopper chooses from, and again
    when the order is placed to confirm the chosen id and record the point's address.

    :param near: the shipping address (only its postal code and country may be filled in).
    :returns: up to ``limit`` :class:`PickupPoint`, nearest first, with ids stable enough
        to come back in ``ShipmentRequest.pickup_point_id``.
    """
