"""Customers, addresses, consent and the loyalty points ledger."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    password_hash: str = Field(default="", max_length=200)
    marketing_consent: bool = False
    consent_at: datetime | None = ts_column()
    segment: str = Field(default="", max_length=40, index=True)  # RFM segment
    social_handles: str = ""  # legacy, unused: migration 0008 moved it to customer_social_handles
    created_at: datetime = created_at()


class CustomerAddress(SQLModel, table=True):
    __tablename__ = "customer_address"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str
    line1: str
    line2: str = ""
    postal_code: str
    city: str
    country: str = Field(max_length=2)
    phone: str = ""
    is_default: bool = False


class LoyaltyEntry(SQLModel, table=True):
    """Append-only points ledger; a balance is the sum of a customer's entries."""

    __tablename__ = "loyalty_entry"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    points: int  # positive earns, negative spends or reverses
    reason: str = Field(max_length=40)  # order, refund, redeem, adjustment
    order_id: int | None = Field(default=None, foreign_key="order.id")
    channel: str = Field(default="web", max_length=20)
    created_at: datetime = created_at()
