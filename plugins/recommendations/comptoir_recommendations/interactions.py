"""Order lines as numpy arrays, and the sparse matrices the models train on.

Everything downstream works on dense integer indices: product ids are mapped to
positions in a sorted ``items`` array (``np.searchsorted``), customers to rows.
Guest orders (no customer) count as a customer of their own, keyed ``-order_id``,
so their baskets still teach the models what goes together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import numpy as np
import scipy.sparse as sp


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes that were written as UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        return _epoch(datetime.fromisoformat(value))
    return float(value)


@dataclass(frozen=True)
class Lines:
    """Order lines, column-wise. ``ts`` is seconds since the epoch (UTC)."""

    order_id: np.ndarray  # int64
    customer_id: np.ndarray  # int64; guests are -order_id
    product_id: np.ndarray  # int64
    quantity: np.ndarray  # int32
    total: np.ndarray  # int64, minor units
    ts: np.ndarray  # float64

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "Lines":
        """Build from ``ctx.data.order_lines()`` dicts (order_id, customer_id, product_id,
        quantity, total, placed_at)."""
        rows = list(rows)
        n = len(rows)
        order_id = np.fromiter((r["order_id"] for r in rows), np.int64, n)
        customer = np.fromiter((r["customer_id"] if r["customer_id"] is not None else -r["order_id"]
                                for r in rows), np.int64, n)
        return cls(
            order_id=order_id,
            customer_id=customer,
            product_id=np.fromiter((r["product_id"] for r in rows), np.int64, n),
            quantity=np.fromiter((r.get("quantity", 1) or 1 for r in rows), np.int32, n),
            total=np.fromiter((r.get("total", 0) or 0 for r in rows), np.int64, n),
            ts=np.fromiter((_epoch(r["placed_at"]) for r in rows), np.float64, n),
        )

    def __len__(self) -> int:
        return int(self.order_id.shape[0])

    def take(self, mask: np.ndarray) -> "Lines":
        """The lines selected by a boolean mask or an index array."""
        return Lines(self.order_id[mask], self.customer_id[mask], self.product_id[mask],
                     self.quantity[mask], self.total[mask], self.ts[mask])


@dataclass(frozen=True)
class Catalog:
    """Products known to the shop and their categories (-1: none)."""

    product_id: np.ndarray  # int64
    category_id: np.ndarray  # int64

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "Catalog":
        """Build from ``ctx.data.products()`` dicts (id, category_id)."""
        rows = list(rows)
        ids = np.fromiter((r["id"] for r in rows), np.int64, len(rows))
        cats = np.fromiter((-1 if r.get("category_id") is None else r["category_id"] for r in rows),
                           np.int64, len(rows))
        return cls(ids, cats)

    @classmethod
    def empty(cls) -> "Catalog":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))


@dataclass(frozen=True)
class ItemIndex:
    """The item universe: sorted product ids with their categories."""

    items: np.ndarray  # int64, sorted, unique
    category: np.ndarray  # int64, aligned with items

    @classmethod
    def build(cls, lines: Lines, catalog: Catalog) -> "ItemIndex":
        items = np.union1d(catalog.product_id, lines.product_id).astype(np.int64)
        category = np.full(items.shape[0], -1, np.int64)
        if catalog.product_id.size:
            category[np.searchsorted(items, catalog.product_id)] = catalog.category_id
        return cls(items, category)

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def positions(self, product_ids: np.ndarray) -> np.ndarray:
        """Index of each product id, -1 for ids outside the universe."""
        product_ids = np.asarray(product_ids, np.int64)
        if self.items.size == 0:
            return np.full(product_ids.shape, -1, np.int64)
        pos = np.searchsorted(self.items, product_ids)
        pos = np.minimum(pos, self.items.size - 1)
        return np.where(self.items[pos] == product_ids, pos, -1)


def user_item_matrix(lines: Lines, index: ItemIndex) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary customer × item CSR (float32) and the sorted customer ids of its rows."""
    users, rows = np.unique(lines.customer_id, return_inverse=True)
    cols = index.positions(lines.product_id)
    return _binary(rows, cols, users.shape[0], len(index)), users


def basket_item_matrix(lines: Lines, index: ItemIndex) -> sp.csr_matrix:
    """Binary order × item CSR: what was bought in the same basket."""
    _, rows = np.unique(lines.order_id, return_inverse=True)
    cols = index.positions(lines.product_id)
    return _binary(rows, cols, int(rows.max(initial=-1)) + 1, len(index))


def _binary(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(rows.shape[0], np.float32), (rows, cols)), shape=(n_rows, n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0  # bought at all, not how often: repeat buys must not swamp co-occurrence
    return m
