"""Tracking updates: ask each carrier plugin about its parcels still on the way.

``refresh_tracking`` calls ``shipping_track`` (targeted at the shipment's plugin) for
every shipment not yet delivered or returned, stores the carrier's events on the
shipment, moves its status to the latest event's, and emits ``shipment.delivered`` /
``shipment.exception`` once when a parcel reaches that state. A carrier that fails is
journaled by the plugin host and tried again next time; the others go on.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from sqlalchemy import select

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Shipment
from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.services.outbox import emit

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

DONE = ("delivered", "returned")
NOTIFY = ("delivered", "exception", "returned")


def refresh_tracking(kernel: "Kernel", *, limit: int = 500) -> dict[str, int]:
    """Refresh up to ``limit`` open shipments; returns counts (checked, changed, failed)."""
    with kernel.factory() as s:
        open_ = list(s.execute(select(Shipment.id, Shipment.plugin, Shipment.tracking_number)
                               .where(Shipment.status.notin_(DONE), Shipment.tracking_number != "")  # type: ignore[attr-defined]
                               .order_by(Shipment.id).limit(limit)))
    counts = {"checked": 0, "changed": 0, "failed": 0}
    for shipment_id, plugin, number in open_:
        counts["checked"] += 1
        if not kernel.host.implements(plugin, "shipping_track"):
            continue
        try:
            events = kernel.host.call_one(plugin, "shipping_track", tracking_number=number) or []
        except ComptoirError:
            counts["failed"] += 1
            continue
        if not events:
            continue
        latest = events[-1].status
        with transaction(kernel.factory) as s:
            row = s.scalars(select(Shipment).where(Shipment.id == shipment_id).with_for_update()).one()
            stored = [asdict(e) for e in events]
            if row.events == stored and row.status == latest:
                continue
            before = row.status
            row.events, row.status = stored, latest
            s.add(row)
            counts["changed"] += 1
            if latest != before and latest in NOTIFY:
                emit(s, f"shipment.{latest}", {"shipment_id": shipment_id, "order_id": row.order_id,
                                               "tracking_number": number, "carrier": row.carrier})
    return counts
