"""RFM customer segmentation: recency, frequency, monetary scores and named segments.

The database scans the orders table once and returns one row per (customer, currency):
last order, order count, net amount. Everything else is vectorized numpy: merging
currencies, quintile scores by rank, segments with ``np.select``. ``rfm_from_orders``
does the same from raw per-order columns (``bincount`` / ``ufunc.at`` over customer ids,
no sort) for logs that are not in the database (the CDNOW validation, the benchmark).
The result is written to ``Customer.segment`` in bulk (one UPDATE per segment and
chunk of ids), so the admin can filter, export and target customer pools by segment.

Scores (1 worst … 5 best) are quintiles of the customers' rank: equal values share the
lower score, so with 60 % one-time buyers every one-time buyer has F = 1.

Which orders count: every order with a customer except ``cancelled`` and ``refunded``
ones. Monetary is the net amount (total − refunded) in minor units of the shop's main
currency (the most frequent one); orders in another currency still count for recency
and frequency. See docs/recommendations.md for the segment grid.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import bindparam, case, func, literal, select, update

from comptoir.kernel.domain import Customer, Order

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

SEGMENTS = ("champions", "loyal", "potential", "new", "at_risk", "cant_lose", "hibernating", "lost")
EXCLUDED_STATUSES = ("cancelled", "refunded")
DAY = 86_400.0
_CHUNK = 5_000

# The grid, first match wins. fm = round-half-up of (F + M) / 2.
#   champions    R 4-5, FM 4-5    bought recently, often, and much
#   new          R 4-5, one order  first purchase, recently
#   loyal        R 3-5, FM 3-5    regulars
#   potential    R 3-5, FM 1-2    recent but light buyers: nurture
#   cant_lose    R 1-2, FM 5       best customers gone quiet: win back first
#   at_risk      R 1-2, FM 3-4    good customers slipping away
#   hibernating  R 2,   FM 1-2    light buyers, a while ago
#   lost         R 1,   FM 1-2    light buyers, long ago
SEGMENT_HELP = {
    "champions": "bought recently, often and much",
    "loyal": "regular customers",
    "potential": "recent but light buyers: nurture them",
    "new": "first purchase, recently",
    "at_risk": "good customers slipping away",
    "cant_lose": "best customers gone quiet: win them back first",
    "hibernating": "light buyers, a while ago",
    "lost": "light buyers, long ago",
}


@dataclass(frozen=True)
class RFMInput:
    """Per-customer aggregates, ids unique and sorted."""

    customer_id: np.ndarray  # int64
    last: np.ndarray  # float64 epoch seconds of the last counted order
    frequency: np.ndarray  # int64
    monetary: np.ndarray  # int64 net minor units, main currency


@dataclass(frozen=True)
class RFM:
    """Per-customer RFM values, scores and segment codes (index into SEGMENTS)."""

    customer_id: np.ndarray  # int64
    recency_days: np.ndarray  # float64, days since the last counted order
    frequency: np.ndarray  # int64, counted orders
    monetary: np.ndarray  # int64, net minor units in the main currency
    r: np.ndarray  # int8 1..5
    f: np.ndarray  # int8 1..5
    m: np.ndarray  # int8 1..5
    segment: np.ndarray  # int8 codes into SEGMENTS

    def segment_names(self) -> np.ndarray:
        return np.asarray(SEGMENTS, dtype=object)[self.segment]

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.segment, minlength=len(SEGMENTS))
        return {name: int(c[i]) for i, name in enumerate(SEGMENTS)}


def quintile_scores(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..5 by rank; ties share the lower score (``1 + 5·(# strictly worse) // n``)."""
    v = np.asarray(values)
    if not higher_is_better:
        v = -v
    n = v.shape[0]
    if n == 0:
        return np.zeros(0, np.int8)
    if np.issubdtype(v.dtype, np.integer) and int(v.max()) - int(v.min()) <= 4 * n + (1 << 20):
        # small integer range (order counts, whole days): a histogram, no sort at all
        shifted = (v - v.min()).astype(np.int64)
        below = np.concatenate(([0], np.cumsum(np.bincount(shifted))))
        worse = below[shifted]
    else:
        worse = np.searchsorted(np.sort(v), v, side="left")
    return (1 + (5 * worse) // n).astype(np.int8)


def assign_segments(r: np.ndarray, f: np.ndarray, m: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """Segment codes from the R, F, M scores and raw order counts (see the grid above)."""
    fm = (f.astype(np.int16) + m + 1) // 2
    code = {name: i for i, name in enumerate(SEGMENTS)}
    conditions = [
        (r >= 4) & (fm >= 4),
        (r >= 4) & (frequency == 1),
        (r >= 3) & (fm >= 3),
        r >= 3,
        fm >= 5,
        fm >= 3,
        r == 2,
    ]
    choices = [code["champions"], code["new"], code["loyal"], code["potential"], code["cant_lose"],
               code["at_risk"], code["hibernating"]]
    return np.select(conditions, choices, default=code["lost"]).astype(np.int8)


def _aggregate(keys: np.ndarray, last: np.ndarray, count: np.ndarray, net: np.ndarray) -> RFMInput:
    """Per-customer max(last), sum(count), sum(net). Customer ids are database keys, so
    they index arrays directly (bincount / ``ufunc.at``, no sort); sparse or negative ids
    fall back to ``np.unique``'s inverse."""
    n = keys.shape[0]
    if n and keys.min() >= 0 and keys.max() <= max(4 * n, 1 << 20):
        idx, size = keys, int(keys.max()) + 1
    else:
        uniq, idx = np.unique(keys, return_inverse=True)
        size = uniq.shape[0]
    freq = np.zeros(size, np.int64)
    np.add.at(freq, idx, count)
    hi = np.full(size, -np.inf)
    np.maximum.at(hi, idx, last)
    money = np.zeros(size, np.int64)  # int64 sums: exact cents
    np.add.at(money, idx, net)
    present = np.flatnonzero(freq > 0) if n else np.zeros(0, np.int64)
    ids = present if idx is keys else uniq[present]
    return RFMInput(ids.astype(np.int64), hi[present], freq[present], money[present])


def rfm_from_orders(customer_id: np.ndarray, placed_at: np.ndarray, net: np.ndarray, *, now: float) -> RFM:
    """RFM over one row per order: customer id, placed-at (epoch seconds), net minor units."""
    cust = np.asarray(customer_id, np.int64)
    agg = _aggregate(cust, np.asarray(placed_at, np.float64), np.ones(cust.shape[0], np.int64),
                     np.asarray(net, np.int64))
    return rfm_from_aggregates(agg.customer_id, agg.last, agg.frequency, agg.monetary, now=now)


def rfm_from_aggregates(customer_id: np.ndarray, last: np.ndarray, frequency: np.ndarray, monetary: np.ndarray,
                        *, now: float) -> RFM:
    """RFM from per-customer aggregates (unique, sorted customer ids; last order epoch;
    order count; net minor units)."""
    recency = np.maximum(now - np.asarray(last, np.float64), 0.0) / DAY
    r = quintile_scores(np.floor(recency).astype(np.int64), higher_is_better=False)  # whole days tie
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    return RFM(np.asarray(customer_id, np.int64), recency, np.asarray(frequency, np.int64),
               np.asarray(monetary, np.int64), r, f, m, assign_segments(r, f, m, frequency))


def _epoch_of_max(dialect: str) -> Any:
    if dialect == "sqlite":  # ISO strings in one format: the text max is the latest
        return (func.julianday(func.max(Order.placed_at)) - 2440587.5) * DAY
    return func.extract("epoch", func.max(Order.placed_at))


def load_customer_aggregates(session: "Session") -> tuple[RFMInput, int]:
    """One scan of the orders table, aggregated by the database per (customer, currency):
    a million orders come back as one row per customer, not a million rows. Returns the
    per-customer arrays and the number of orders counted."""
    # ``customer_id + 0``: an expression, not the column, so SQLite scans the table once
    # instead of walking the customer index and fetching each row at random (5x slower)
    cust_key = (Order.customer_id + 0).label("cust")
    counted = (cust_key.is_not(None), Order.status.not_in(EXCLUDED_STATUSES))  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    q = (select(cust_key, Order.currency, _epoch_of_max(dialect), func.count(),
                func.sum(Order.total - Order.refunded_total))
         .where(*counted).group_by(cust_key, Order.currency))
    rows = session.execute(q).all()
    n = len(rows)
    cust = np.fromiter((r[0] for r in rows), np.int64, n)
    currencies = [r[1] for r in rows]
    last = np.fromiter((r[2] for r in rows), np.float64, n)
    count = np.fromiter((r[3] for r in rows), np.int64, n)
    net = np.fromiter((int(r[4] or 0) for r in rows), np.int64, n)
    if n == 0:
        return RFMInput(cust, last, count, net), 0
    _, code = np.unique(np.asarray(currencies, dtype=str), return_inverse=True)
    main = int(np.argmax(np.bincount(code, weights=count)))  # the currency of most orders
    net = np.where(code == main, net, 0)
    # a customer has one row per currency used: merge them
    return _aggregate(cust, last, count, net), int(count.sum())


def load_order_columns(session: "Session") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, placed-at epoch, net in main currency) per counted order: the raw
    columns, for analysis and tests (``segment_customers`` reads aggregates instead)."""
    counted = (Order.customer_id.is_not(None), Order.status.not_in(EXCLUDED_STATUSES))  # type: ignore[union-attr, attr-defined]
    main = session.execute(select(Order.currency).where(*counted).group_by(Order.currency)
                           .order_by(func.count().desc()).limit(1)).scalar()
    if main is None:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    net = case((Order.currency == literal(main), Order.total - Order.refunded_total), else_=0)
    dialect = session.get_bind().dialect.name
    epoch = ((func.julianday(Order.placed_at) - 2440587.5) * DAY if dialect == "sqlite"
             else func.extract("epoch", Order.placed_at))
    rows = session.execute(select(Order.customer_id, epoch, net).where(*counted)).all()
    n = len(rows)
    cust = np.fromiter((r[0] for r in rows), np.int64, n)
    ts = np.fromiter((r[1] for r in rows), np.float64, n)
    amount = np.fromiter((r[2] for r in rows), np.int64, n)
    return cust, ts, amount


def store_segments(session: "Session", rfm: RFM) -> None:
    """Write every customer's segment in bulk; customers without counted orders get ''."""
    session.execute(update(Customer).where(Customer.segment != "").values(segment=""))
    stmt = update(Customer).where(Customer.id.in_(bindparam("ids", expanding=True)))  # type: ignore[union-attr]
    for code, name in enumerate(SEGMENTS):
        ids = rfm.customer_id[rfm.segment == code]
        for start in range(0, ids.shape[0], _CHUNK):
            chunk = ids[start:start + _CHUNK].tolist()
            session.execute(stmt.values(segment=name), {"ids": chunk})


@dataclass(frozen=True)
class SegmentReport:
    customers: int
    orders: int
    counts: dict[str, int]
    seconds: float


def segment_customers(factory: "sessionmaker[Session]", *, now: datetime | None = None) -> SegmentReport:
    """Score every customer and store ``Customer.segment``, in one transaction."""
    t0 = time.perf_counter()
    ref = (now or datetime.now(timezone.utc)).timestamp()
    with factory() as s, s.begin():
        agg, orders = load_customer_aggregates(s)
        rfm = rfm_from_aggregates(agg.customer_id, agg.last, agg.frequency, agg.monetary, now=ref)
        store_segments(s, rfm)
    return SegmentReport(int(rfm.customer_id.shape[0]), orders, rfm.counts(), round(time.perf_counter() - t0, 3))


def segment_counts(factory: "sessionmaker[Session]") -> dict[str, int]:
    """How many customers each stored segment holds ('' = not segmented)."""
    with factory() as s:
        rows = s.execute(select(Customer.segment, func.count()).group_by(Customer.segment)).all()
    return {str(seg): int(n) for seg, n in rows}
