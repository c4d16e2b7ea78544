"""RFM segmentation: scores on a hand-checked dataset, and segments stored on customers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import select

from comptoir.kernel.domain import Customer, Order
from comptoir.kernel.services.segmentation import (
    SEGMENTS, assign_segments, quintile_scores, rfm_from_orders, segment_counts, segment_customers,
)

DAY = 86_400.0
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=timezone.utc)

# (customer, days before NOW, net minor units). Worked by hand, five customers so a
# quintile is one rank:
#   recency days   1, 10, 50, 90, 100   → R 5 4 3 2 1
#   frequency      3,  1,  2,  4,   1   → F 4 1 3 5 1   (the two one-timers tie at 1)
#   monetary     600, 5000, 200, 4000, 50 → M 3 5 2 4 1
#   FM = (F+M+1)//2                        → 4 3 3 5 1
#   segment: champions, new, loyal, cant_lose, lost
ORDERS = [
    (1, 1, 100), (1, 2, 200), (1, 5, 300),
    (2, 10, 5000),
    (3, 50, 100), (3, 60, 100),
    (4, 90, 1000), (4, 95, 1000), (4, 98, 1000), (4, 99, 1000),
    (5, 100, 50),
]
EXPECTED = {
    1: (5, 4, 3, "champions"), 2: (4, 1, 5, "new"), 3: (3, 3, 2, "loyal"),
    4: (2, 5, 4, "cant_lose"), 5: (1, 1, 1, "lost"),
}


def test_quintile_scores_by_rank_with_ties() -> None:
    assert quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(np.array([1, 1, 1, 1, 2])).tolist() == [1, 1, 1, 1, 5]
    assert quintile_scores(np.array([3.0, 1.0, 2.0]), higher_is_better=False).tolist() == [1, 4, 2]
    assert quintile_scores(np.zeros(0)).tolist() == []


def test_quintile_scores_match_brute_force_on_every_path() -> None:
    rng = np.random.default_rng(1)
    # wide-range ints and floats take the sort path, small-range ints the histogram path
    for arr in (rng.integers(0, 10**12, 500), rng.integers(0, 40, 500), rng.random(500), -rng.integers(0, 9, 500)):
        for better in (True, False):
            x = arr if better else -arr
            want = 1 + (5 * np.array([(x < y).sum() for y in x])) // len(x)
            assert quintile_scores(arr, higher_is_better=better).tolist() == want.tolist()


def test_sparse_customer_ids_give_the_same_segments() -> None:
    rng = np.random.default_rng(2)
    cust = rng.integers(1, 300, 3000)
    ts = rng.uniform(0, 400, 3000) * DAY
    net = rng.integers(100, 10_000, 3000)
    dense = rfm_from_orders(cust, ts, net, now=400 * DAY)
    sparse = rfm_from_orders(cust * 10**9, ts, net, now=400 * DAY)  # ids too far apart to index
    assert (sparse.customer_id == dense.customer_id * 10**9).all()
    assert (sparse.segment == dense.segment).all() and (sparse.monetary == dense.monetary).all()


def test_rfm_on_a_hand_checked_dataset() -> None:
    cust = np.array([o[0] for o in ORDERS])
    ts = np.array([NOW.timestamp() - o[1] * DAY for o in ORDERS])
    net = np.array([o[2] for o in ORDERS])
    rfm = rfm_from_orders(cust, ts, net, now=NOW.timestamp())
    assert rfm.customer_id.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(rfm.recency_days, [1, 10, 50, 90, 100])
    assert rfm.frequency.tolist() == [3, 1, 2, 4, 1]
    assert rfm.monetary.tolist() == [600, 5000, 200, 4000, 50]
    for i, cid in enumerate(rfm.customer_id.tolist()):
        r, f, m, seg = EXPECTED[cid]
        assert (rfm.r[i], rfm.f[i], rfm.m[i], rfm.segment_names()[i]) == (r, f, m, seg), cid


def test_segment_grid_covers_every_cell() -> None:
    r, f, m = (g.ravel() for g in np.meshgrid(*[np.arange(1, 6, dtype=np.int8)] * 3, indexing="ij"))
    codes = assign_segments(r, f, m, np.where(f == 1, 1, 5))
    names = np.asarray(SEGMENTS, dtype=object)[codes]
    assert set(names) == set(SEGMENTS)  # every segment is reachable
    cell = {(int(a), int(b), int(c)): n for a, b, c, n in zip(r, f, m, names)}
    assert cell[(5, 5, 5)] == "champions" and cell[(1, 1, 1)] == "lost"
    assert cell[(1, 5, 5)] == "cant_lose" and cell[(2, 3, 4)] == "at_risk"
    assert cell[(2, 1, 1)] == "hibernating" and cell[(5, 1, 2)] == "new" and cell[(3, 1, 2)] == "potential"


def _add_orders(kernel: Any) -> None:
    with kernel.factory() as s, s.begin():
        for cid in range(1, 7):
            s.add(Customer(id=cid, email=f"c{cid}@example.com", segment="stale" if cid == 6 else ""))
        s.flush()
        for n, (cid, days, net) in enumerate(ORDERS):
            # customer 1's first order: 150 paid, 50 refunded → net 100
            total, refunded = (150, 50) if n == 0 else (net, 0)
            s.add(Order(reference=f"R{n}", customer_id=cid, email="x@example.com", currency="EUR",
                        subtotal=total, total=total, refunded_total=refunded, status="paid",
                        placed_at=NOW - timedelta(days=days)))
        # none of these may change the scores: cancelled, refunded, a guest
        s.add(Order(reference="X1", customer_id=3, email="x@example.com", currency="EUR", subtotal=9999,
                    total=9999, status="cancelled", placed_at=NOW - timedelta(days=0.5)))
        s.add(Order(reference="X2", customer_id=5, email="x@example.com", currency="EUR", subtotal=9999,
                    total=9999, status="refunded", placed_at=NOW - timedelta(days=0.5)))
        s.add(Order(reference="X3", customer_id=None, email="guest@example.com", currency="EUR",
                    subtotal=1, total=1, placed_at=NOW))


def test_segments_are_stored_on_customers(kernel_any: Any) -> None:
    kernel = kernel_any  # SQLite and PostgreSQL
    _add_orders(kernel)
    report = segment_customers(kernel.factory, now=NOW)
    assert report.customers == 5 and report.orders == len(ORDERS)
    with kernel.factory() as s:
        stored = dict(s.execute(select(Customer.id, Customer.segment)).all())
    assert stored == {**{cid: e[3] for cid, e in EXPECTED.items()}, 6: ""}  # no orders: cleared
    counts = segment_counts(kernel.factory)
    assert counts["champions"] == 1 and counts[""] == 1
    assert report.counts["lost"] == 1 and sum(report.counts.values()) == 5


def test_other_currencies_count_for_recency_and_frequency_only(kernel: Any) -> None:
    with kernel.factory() as s, s.begin():
        s.add(Customer(id=1, email="a@example.com"))
        s.add(Customer(id=2, email="b@example.com"))
        s.flush()
        for n, (cid, cur, total) in enumerate([(1, "EUR", 100), (1, "EUR", 100), (2, "USD", 10_000)]):
            s.add(Order(reference=f"C{n}", customer_id=cid, email="x@example.com", currency=cur,
                        subtotal=total, total=total, placed_at=NOW - timedelta(days=1)))
    from comptoir.kernel.services.segmentation import load_order_columns

    with kernel.factory() as s:
        cust, ts, net = load_order_columns(s)
    assert sorted(zip(cust.tolist(), net.tolist())) == [(1, 100), (1, 100), (2, 0)]
    np.testing.assert_allclose(ts, NOW.timestamp() - DAY, atol=1.0)


def test_customers_segment_command(kernel: Any, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from comptoir.kernel.cli import cli

    _add_orders(kernel)
    env = {"COMPTOIR_HOME": str(tmp_path / "cli-home"), "COMPTOIR_DATABASE_URL": str(kernel.settings.database_url)}
    result = CliRunner().invoke(cli, ["customers", "segment"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "5 customers from 11 orders" in result.output
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[2:10]}
    assert rows["champions"] == "1" and rows["at_risk"] == "0"
    with kernel.factory() as s:
        assert s.get(Customer, 1).segment == "champions"  # type: ignore[union-attr]
