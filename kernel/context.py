"""The context a plugin receives on every call: bound to that plugin, never global.

It holds the plugin's settings, logger, storage folder, and the data it was granted.
Every data accessor checks the right at the call (``ScopeDenied`` names the missing
scope), so rights are enforced by the kernel, not by convention.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from sqlalchemy import func, select

from comptoir.kernel.domain import Customer, Order, OrderLine, Product, StockLevel, Variant
from comptoir.kernel.errors import ScopeDenied
from comptoir.kernel.manifest import Manifest

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker
    from sqlmodel import Session

    from comptoir.kernel.rights import RightsPolicy


class DataAccess:
    """Read access to shop data within the plugin's grant. Returns plain dicts."""

    def __init__(self, plugin: str, rights: "RightsPolicy", factory: "sessionmaker[Session] | None") -> None:
        self._plugin = plugin
        self._rights = rights
        self._factory = factory

    def require(self, right: str) -> None:
        if not self._rights.allowed(self._plugin, right):
            raise ScopeDenied(self._plugin, right)

    def _session(self) -> "Session":
        if self._factory is None:
            raise RuntimeError("this context has no database")
        return self._factory()

    def products(self, *, active_only: bool = True, limit: int = 1000) -> list[dict[str, Any]]:
        self.require("products:read")
        q = select(Product.id, Product.title, Product.slug, Product.category_id).limit(limit)
        if active_only:
            q = q.where(Product.active.is_(True))  # type: ignore[attr-defined]
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]

    def available_product_ids(self) -> set[int]:
        """Products with at least one unit available online."""
        self.require("stock:read")
        q = (select(Variant.product_id).join(StockLevel, StockLevel.variant_id == Variant.id)
             .group_by(Variant.product_id)
             .having(func.sum(StockLevel.on_hand - StockLevel.reserved) > 0))
        with self._session() as s:
            return set(s.scalars(q))

    def orders(self, *, since: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        self.require("orders:read")
        q = select(Order.id, Order.customer_id, Order.status, Order.total, Order.currency, Order.channel,
                   Order.placed_at).order_by(Order.id.desc()).limit(limit)  # type: ignore[union-attr]
        if since is not None:
            q = q.where(Order.placed_at >= since)
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]

    def order_lines(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        """(order id, customer id, product id, quantity, placed_at) for every line: what
        recommendation and segmentation plugins train on."""
        self.require("orders:read")
        q = (select(Order.id.label("order_id"), Order.customer_id, Variant.product_id, OrderLine.quantity,  # type: ignore[union-attr]
                    OrderLine.total, Order.placed_at)
             .join(OrderLine, OrderLine.order_id == Order.id).join(Variant, Variant.id == OrderLine.variant_id))
        if since is not None:
            q = q.where(Order.placed_at >= since)
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        self.require("customers:read")
        with self._session() as s:
            c = s.get(Customer, customer_id)
            return None if c is None else {"id": c.id, "email": c.email, "name": c.name, "segment": c.segment}


@dataclass
class PluginContext:
    """Everything one plugin may use. Built by the kernel, one per plugin."""

    plugin: str
    manifest: Manifest
    settings: Mapping[str, Any]
    log: logging.Logger
    storage_dir: Path
    data: DataAccess
    http: Any = None  # the brokered HTTP client (credential store); None when not wired
    credentials: Any = None  # connected accounts, through the broker
    extras: dict[str, Any] = field(default_factory=dict)
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def days_ago(self, days: int) -> datetime:
        return self.now() - timedelta(days=days)
