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

from sqlalchemy import case, func, select

from comptoir.kernel.domain import Customer, Order, OrderLine, Product, Shipment, SocialMention, StockLevel, Variant
from comptoir.kernel.domain.events import JournalEntry
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

    def stock_levels(self, *, low_only: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Units available per variant (all locations), lowest first; ``low_only`` keeps
        those at or under their alert threshold."""
        self.require("stock:read")
        available = func.sum(StockLevel.on_hand - StockLevel.reserved)
        threshold = func.max(StockLevel.low_threshold)
        q = (select(Variant.id.label("variant_id"), Variant.sku, Product.title, available.label("available"),  # type: ignore[union-attr]
                    threshold.label("threshold"))
             .join(StockLevel, StockLevel.variant_id == Variant.id).join(Product, Product.id == Variant.product_id)
             .group_by(Variant.id, Variant.sku, Product.title).order_by(available).limit(limit))
        if low_only:
            q = q.having(available <= threshold)
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]

    def segment_counts(self) -> dict[str, int]:
        """How many customers are in each RFM segment ("" = not segmented yet)."""
        self.require("customers:read")
        with self._session() as s:
            return {str(seg): int(n) for seg, n in s.execute(select(Customer.segment, func.count())
                                                             .group_by(Customer.segment))}

    def shipments(self, *, since: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Shipments (carrier, status, tracking number, created_at), newest first."""
        self.require("shipments:read")
        q = select(Shipment.id, Shipment.order_id, Shipment.plugin, Shipment.carrier, Shipment.service,
                   Shipment.status, Shipment.tracking_number, Shipment.created_at
                   ).order_by(Shipment.id.desc()).limit(limit)  # type: ignore[union-attr]
        if since is not None:
            q = q.where(Shipment.created_at >= since)
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]

    def mentions(self, since: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Mentions, replies and reviews the kernel collected from the social plugins,
        newest first: network, kind, author_handle, author_name, author_followers, text,
        url, at, rating (1-5 or None), customer_id (None when no customer is known)."""
        self.require("reviews:read")
        m = SocialMention
        q = (select(m.network, m.kind, m.author_handle, m.author_name, m.author_followers, m.text, m.url, m.at,
                    m.rating, m.customer_id)
             .order_by(m.at.desc(), m.id.desc()).limit(max(1, min(int(limit), 1000))))  # type: ignore[attr-defined,union-attr]
        if since is not None:
            q = q.where(m.at >= since)
        with self._session() as s:
            return [{**r._mapping, "at": r.at if r.at.tzinfo else r.at.replace(tzinfo=timezone.utc)}
                    for r in s.execute(q)]

    def journal_summary(self, *, since: datetime) -> list[dict[str, Any]]:
        """Per plugin since ``since``: calls, errors, timeouts, denials (from the journal)."""
        self.require("usage:read")
        def count(outcome: str) -> Any:
            return func.sum(case((JournalEntry.outcome == outcome, 1), else_=0)).label(outcome)

        q = (select(JournalEntry.plugin, func.count().label("calls"), count("error"), count("timeout"),
                    count("denied"), func.max(JournalEntry.at).label("last_at"))
             .where(JournalEntry.at >= since).group_by(JournalEntry.plugin).order_by(JournalEntry.plugin))
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(q)]


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
