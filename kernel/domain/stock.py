"""Stock per location with reservations: one truth shared by every channel.

Available = ``on_hand - reserved``. Every change is a single conditional UPDATE, so
two buyers can never both take the last unit, on SQLite as on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column


class Location(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(default="warehouse", max_length=20)  # warehouse | store
    city: str = ""
    country: str = Field(default="FR", max_length=2)
    priority: int = 100  # lower ships first
    ships_online: bool = True  # stores may sell in person only


class StockLevel(SQLModel, table=True):
    __tablename__ = "stock_level"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="ck_stock_on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_stock_reserved"),
    )

    variant_id: int = Field(foreign_key="variant.id", primary_key=True)
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    on_hand: int = 0
    reserved: int = 0
    low_threshold: int = 0


class Reservation(SQLModel, table=True):
    """Units held for a checkout attempt until it places an order or expires."""

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="checkout_attempt.id", index=True)
    variant_id: int = Field(foreign_key="variant.id")
    location_id: int = Field(foreign_key="location.id")
    quantity: int = Field(gt=0)
    expires_at: datetime | None = ts_column(nullable=False, index=True)


class StockMove(SQLModel, table=True):
    """History of every stock change that is not a sale (receipts, transfers, counts)."""

    __tablename__ = "stock_move"

    id: int | None = Field(default=None, primary_key=True)
    variant_id: int = Field(foreign_key="variant.id", index=True)
    from_location_id: int | None = Field(default=None, foreign_key="location.id")
    to_location_id: int | None = Field(default=None, foreign_key="location.id")
    quantity: int = Field(gt=0)
    reason: str = Field(default="adjustment", max_length=40)
    note: str = ""
    created_at: datetime = created_at()
