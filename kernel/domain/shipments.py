"""Shipments with labels and tracking; returns."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column


class Shipment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    plugin: str
    carrier: str = ""
    service: str = ""
    tracking_number: str = Field(default="", index=True)
    tracking_url: str = ""
    label_path: str = ""  # relative to the media folder
    status: str = Field(default="label_created", max_length=24)
    cost: int = 0
    currency: str = Field(default="EUR", max_length=3)
    events: list[dict[str, Any]] = json_column(list)
    created_at: datetime = created_at()


class ReturnRequest(SQLModel, table=True):
    __tablename__ = "return_request"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    status: str = Field(default="requested", max_length=20)  # requested|label_sent|received|refunded|rejected
    lines: list[dict[str, Any]] = json_column(list)  # [{"order_line_id":…, "quantity":…}]
    reason: str = ""
    refund_amount: int = 0
    tracking_number: str = ""
    created_at: datetime = created_at()
