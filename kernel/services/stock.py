"""Stock: receive, transfer, count, availability, and atomic reservations.

Every change is one conditional UPDATE (``… WHERE on_hand - reserved >= :q``). The
database decides who gets the last unit, so there is no read-then-write race and no
oversell, whatever the number of concurrent checkouts, web or POS.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from comptoir.kernel.domain import Location, Reservation, StockLevel, StockMove, Variant
from comptoir.kernel.errors import NotFound, OutOfStock, ValidationFailed
from comptoir.kernel.services.outbox import emit


@dataclass(frozen=True, slots=True, order=True)
class Held:
    variant_id: int
    location_id: int
    quantity: int


def _level(session: Session, variant_id: int, location_id: int) -> None:
    """Make sure the (variant, location) row exists."""
    if session.get(StockLevel, (variant_id, location_id)) is None:
        if session.get(Variant, variant_id) is None:
            raise NotFound(f"no variant {variant_id}", field="variant_id")
        if session.get(Location, location_id) is None:
            raise NotFound(f"no location {location_id}", field="location_id")
        session.add(StockLevel(variant_id=variant_id, location_id=location_id))
        session.flush()


def receive(session: Session, variant_id: int, location_id: int, quantity: int, *, reason: str = "receipt",
            note: str = "") -> None:
    """Add units to a location (goods in, stock count up)."""
    if quantity <= 0:
        raise ValidationFailed("quantity must be positive", field="quantity")
    _level(session, variant_id, location_id)
    session.execute(update(StockLevel).where(StockLevel.variant_id == variant_id,
                                             StockLevel.location_id == location_id)
                    .values(on_hand=StockLevel.on_hand + quantity))
    session.add(StockMove(variant_id=variant_id, to_location_id=location_id, quantity=quantity, reason=reason,
                          note=note))


def remove(session: Session, variant_id: int, location_id: int, quantity: int, *, reason: str = "adjustment",
           note: str = "") -> None:
    """Take units out (damage, loss, count down); refuses to go below what is reserved."""
    if quantity <= 0:
        raise ValidationFailed("quantity must be positive", field="quantity")
    res = session.execute(update(StockLevel).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == location_id,
        StockLevel.on_hand - StockLevel.reserved >= quantity).values(on_hand=StockLevel.on_hand - quantity))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise OutOfStock(f"only {available_at(session, variant_id, location_id)} unreserved units here",
                         field="quantity")
    session.add(StockMove(variant_id=variant_id, from_location_id=location_id, quantity=quantity, reason=reason,
                          note=note))
    _maybe_low(session, variant_id, location_id)


def transfer(session: Session, variant_id: int, from_location_id: int, to_location_id: int, quantity: int,
             *, note: str = "") -> None:
    """Move units between locations in one transaction."""
    if from_location_id == to_location_id:
        raise ValidationFailed("source and destination are the same location", field="to_location_id")
    if quantity <= 0:
        raise ValidationFailed("quantity must be positive", field="quantity")
    _level(session, variant_id, to_location_id)
    res = session.execute(update(StockLevel).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == from_location_id,
        StockLevel.on_hand - StockLevel.reserved >= quantity).values(on_hand=StockLevel.on_hand - quantity))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise OutOfStock(f"only {available_at(session, variant_id, from_location_id)} units can leave that location",
                         field="quantity")
    session.execute(update(StockLevel).where(StockLevel.variant_id == variant_id,
                                             StockLevel.location_id == to_location_id)
                    .values(on_hand=StockLevel.on_hand + quantity))
    session.add(StockMove(variant_id=variant_id, from_location_id=from_location_id, to_location_id=to_location_id,
                          quantity=quantity, reason="transfer", note=note))


def available_at(session: Session, variant_id: int, location_id: int) -> int:
    return session.scalars(select(StockLevel.on_hand - StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == location_id)).first() or 0


def availability(session: Session, variant_ids: list[int]) -> dict[int, dict[int, int]]:
    """{variant_id: {location_id: available}} for the given variants."""
    out: dict[int, dict[int, int]] = {v: {} for v in variant_ids}
    for r in session.execute(select(StockLevel.variant_id, StockLevel.location_id,
                                    StockLevel.on_hand - StockLevel.reserved)
                             .where(StockLevel.variant_id.in_(variant_ids))):  # type: ignore[attr-defined]
        out[r[0]][r[1]] = r[2]
    return out


# Fast path: one statement picks the best online location that has enough units and
# takes them. The outer WHERE re-checks availability on the row it locks, so under a
# race it touches nothing (rowcount 0) and we fall back to trying each location.
_BEST_ONLINE = (select(StockLevel.location_id).join(Location, Location.id == StockLevel.location_id)
                .where(StockLevel.variant_id == bindparam("vid"),
                       StockLevel.on_hand - StockLevel.reserved >= bindparam("q"),
                       Location.ships_online.is_(True))  # type: ignore[attr-defined]
                .order_by(Location.priority, Location.id).limit(1).scalar_subquery())
_HOLD_BEST = (update(StockLevel).where(StockLevel.variant_id == bindparam("vid"),
                                       StockLevel.location_id == _BEST_ONLINE,
                                       StockLevel.on_hand - StockLevel.reserved >= bindparam("q"))
              .values(reserved=StockLevel.reserved + bindparam("q")).returning(StockLevel.location_id))


def reserve(session: Any, attempt_id: int, wants: list[tuple[int, int]], expires_at: datetime,
            *, online_only: bool = True, location_id: int | None = None) -> list[Held]:
    """Hold ``(variant_id, quantity)`` pairs for a checkout attempt.

    Each line is served from one location, tried in priority order; the conditional
    UPDATE either takes the units or touches nothing. Raises ``OutOfStock`` (and the
    caller's transaction rolls back every hold) when a line cannot be served.
    ``session`` may be a Session or a Connection.
    """
    held: list[Held] = []
    for variant_id, quantity in wants:
        if online_only and location_id is None:
            loc = session.execute(_HOLD_BEST, {"vid": variant_id, "q": quantity}).scalar()
            if loc is not None:
                held.append(Held(variant_id, loc, quantity))
                continue
        q = (select(StockLevel.location_id).join(Location, Location.id == StockLevel.location_id)
             .where(StockLevel.variant_id == variant_id, StockLevel.on_hand - StockLevel.reserved >= quantity)
             .order_by(Location.priority, Location.id))
        if location_id is not None:
            q = q.where(StockLevel.location_id == location_id)
        elif online_only:
            q = q.where(Location.ships_online.is_(True))  # type: ignore[attr-defined]
        for loc in session.scalars(q).all():
            res = session.execute(update(StockLevel).where(
                StockLevel.variant_id == variant_id, StockLevel.location_id == loc,
                StockLevel.on_hand - StockLevel.reserved >= quantity).values(reserved=StockLevel.reserved + quantity))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                held.append(Held(variant_id, loc, quantity))
                break
        else:
            sku = session.scalars(select(Variant.sku).where(Variant.id == variant_id)).first()
            raise OutOfStock(f"{sku or variant_id} is out of stock for the quantity asked ({quantity})", field="lines")
    if held:
        session.execute(insert(Reservation), [
            {"attempt_id": attempt_id, "variant_id": h.variant_id, "location_id": h.location_id,
             "quantity": h.quantity, "expires_at": expires_at} for h in held])
    return held


def release(session: Session, attempt_id: int) -> int:
    """Give back every unit held by an attempt; returns how many lines were released."""
    rows = session.execute(select(Reservation.id, Reservation.variant_id, Reservation.location_id,
                                  Reservation.quantity).where(Reservation.attempt_id == attempt_id)).all()
    for r in rows:
        session.execute(update(StockLevel).where(StockLevel.variant_id == r.variant_id,
                                                 StockLevel.location_id == r.location_id)
                        .values(reserved=StockLevel.reserved - r.quantity))
    session.execute(delete(Reservation).where(Reservation.attempt_id == attempt_id))
    return len(rows)


_TAKE_HELD = (delete(Reservation).where(Reservation.attempt_id == bindparam("aid"))
              .returning(Reservation.variant_id, Reservation.location_id, Reservation.quantity))
_SELL = (update(StockLevel).where(StockLevel.variant_id == bindparam("vid"), StockLevel.location_id == bindparam("lid"))
         .values(on_hand=StockLevel.on_hand - bindparam("q"), reserved=StockLevel.reserved - bindparam("q"))
         .returning(StockLevel.on_hand, StockLevel.reserved, StockLevel.low_threshold))


def commit_reservations(session: Any, attempt_id: int) -> list[Held]:
    """Turn an attempt's holds into a sale: units leave ``on_hand`` and ``reserved`` together."""
    from comptoir.kernel.services.outbox import emit

    held = sorted(Held(*r) for r in session.execute(_TAKE_HELD, {"aid": attempt_id}))
    for h in held:  # sorted: concurrent sales lock stock rows in one order (no deadlock)
        on_hand, reserved, low = session.execute(_SELL, {"vid": h.variant_id, "lid": h.location_id,
                                                         "q": h.quantity}).one()
        if low and on_hand - reserved <= low:
            emit(session, "stock.low", {"variant_id": h.variant_id, "location_id": h.location_id,
                                        "available": on_hand - reserved})
    return held


def restock(session: Session, variant_id: int, location_id: int, quantity: int, *, reason: str) -> None:
    """Put sold units back (cancellation, return received)."""
    receive(session, variant_id, location_id, quantity, reason=reason)


def _maybe_low(session: Session, variant_id: int, location_id: int) -> None:
    row = session.execute(select(StockLevel.on_hand, StockLevel.reserved, StockLevel.low_threshold).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == location_id)).first()
    if row is not None and row.low_threshold and row.on_hand - row.reserved <= row.low_threshold:
        emit(session, "stock.low", {"variant_id": variant_id, "location_id": location_id,
                                    "available": row.on_hand - row.reserved})


def total_available(session: Session, variant_id: int) -> int:
    return session.scalars(select(func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0))
                           .where(StockLevel.variant_id == variant_id)).one()


__all__ = ["Held", "receive", "remove", "transfer", "available_at", "availability", "reserve", "release",
           "commit_reservations", "restock", "total_available"]
