"""Carts and their lines."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column


class Cart(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(index=True, unique=True, max_length=64)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    email: str = Field(default="", max_length=320)
    currency: str = Field(max_length=3)
    channel: str = Field(default="web", max_length=20)
    status: str = Field(default="open", max_length=20, index=True)  # open | converted | abandoned
    created_at: datetime = created_at()
    updated_at: datetime | None = ts_column()


class CartLine(SQLModel, table=True):
    __tablename__ = "cart_line"
    __table_args__ = (UniqueConstraint("cart_id", "variant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cart_id: int = Field(foreign_key="cart.id", index=True)
    variant_id: int = Field(foreign_key="variant.id")
    quantity: int = Field(gt=0)
