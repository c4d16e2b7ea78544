"""Loyalty points: earned when an order is paid, reversed on refund, shared by every channel.

The balance is always the sum of the ledger, never a stored number that could drift.
"""
from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlmodel import Session

from comptoir.kernel.domain import LoyaltyEntry
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import Conflict, ValidationFailed
from comptoir.kernel.money import Money, exponent

POINTS_PER_UNIT = 1  # one point per whole currency unit spent


def points_for(amount: Money) -> int:
    return (amount.amount // 10 ** exponent(amount.currency)) * POINTS_PER_UNIT


def balance(session: Session, customer_id: int) -> int:
    return int(session.scalars(select(func.coalesce(func.sum(LoyaltyEntry.points), 0))
                               .where(LoyaltyEntry.customer_id == customer_id)).one())


def earn_for_order(session: Session, order_id: int, customer_id: int | None, total: Money, channel: str) -> int:
    if customer_id is None:
        return 0
    pts = points_for(total)
    if pts:
        session.execute(insert(LoyaltyEntry).values(customer_id=customer_id, points=pts, reason="order",
                                                    order_id=order_id, channel=channel, created_at=utcnow()))
    return pts


def reverse_for_refund(session: Session, order_id: int, customer_id: int | None, refunded: Money) -> int:
    if customer_id is None:
        return 0
    pts = points_for(refunded)
    if pts:
        session.execute(insert(LoyaltyEntry).values(customer_id=customer_id, points=-pts, reason="refund",
                                                    order_id=order_id, created_at=utcnow()))
    return pts


def redeem(session: Session, customer_id: int, points: int, *, channel: str = "web") -> int:
    """Spend points; refuses to go negative. The customer row is locked so two tills
    cannot spend the same points at once."""
    from comptoir.kernel.domain import Customer

    if points <= 0:
        raise ValidationFailed("points must be positive", field="points")
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    have = balance(session, customer_id)
    if have < points:
        raise Conflict(f"the customer has {have} points, fewer than {points}", field="points")
    session.execute(insert(LoyaltyEntry).values(customer_id=customer_id, points=-points, reason="redeem",
                                                channel=channel, created_at=utcnow()))
    return have - points
