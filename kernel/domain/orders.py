"""Orders, their lines and their state machine."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column, ts_column

# The order state machine. ``placed`` awaits payment (bank transfer, authorization);
# ``paid`` is captured; refunds may be partial.
TRANSITIONS: dict[str, frozenset[str]] = {
    "placed": frozenset({"paid", "cancelled"}),
    "paid": frozenset({"fulfilled", "refunded", "partially_refunded", "cancelled"}),
    "partially_refunded": frozenset({"fulfilled", "refunded", "partially_refunded"}),
    "fulfilled": frozenset({"refunded", "partially_refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
ORDER_STATUSES = tuple(TRANSITIONS)


class Order(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=40)  # the checkout reference
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    email: str = Field(max_length=320)
    status: str = Field(default="placed", max_length=24, index=True)
    channel: str = Field(default="web", max_length=20, index=True)
    currency: str = Field(max_length=3)
    subtotal: int
    shipping_total: int = 0
    discount_total: int = 0
    total: int
    refunded_total: int = 0
    payment_plugin: str = ""
    payment_method: str = ""
    capture_mode: str = "immediate"
    shipping_plugin: str = ""
    shipping_quote: dict[str, Any] = json_column()
    shipping_address: dict[str, Any] = json_column()
    placed_at: datetime = created_at()
    paid_at: datetime | None = ts_column()
    fulfilled_at: datetime | None = ts_column()
    cancelled_at: datetime | None = ts_column()

    @property
    def number(self) -> str:
        """Human order number, derived from the id so it needs no second write."""
        return f"C{self.id:07d}"


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    variant_id: int = Field(foreign_key="variant.id", index=True)
    sku: str
    title: str
    quantity: int = Field(gt=0)
    unit_price: int
    total: int
    location_id: int = Field(foreign_key="location.id")
    refunded_quantity: int = 0


class OrderStatusChange(SQLModel, table=True):
    __tablename__ = "order_status_change"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    from_status: str
    to_status: str
    actor: str = ""  # staff e-mail, "system", or a plugin id
    note: str = ""
    created_at: datetime = created_at()
