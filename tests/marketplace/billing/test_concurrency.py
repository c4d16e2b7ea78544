"""Twenty usage reports at once, on real threads, on SQLite and on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import func, select

from comptoir.marketplace.billing import Billing, ledger
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing import usage
from comptoir.marketplace.billing.models import Txn, Usage
from comptoir.marketplace.service import Marketplace

PRICING = {"model": "usage", "usage_price": 25, "usage_unit": "label"}


def _run_all(fn: Any, n: int) -> list[Any]:
    """Start ``n`` threads that wait on one barrier, then call ``fn(i)`` together."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_twenty_concurrent_reports_count_once_each_and_replays_count_zero(market_any: Marketplace,
                                                                          seeder: Any) -> None:
    seed = seeder(market_any)
    seed.plugin(seed.vendor("acme"), "labels", PRICING)
    b = Billing.of(market_any)
    subs.install(b, "shop", "labels", today=date(2026, 11, 2))
    day = date(2026, 11, 10)

    first = _run_all(lambda i: usage.record(b, "shop", "labels", "label", i + 1, f"order-{i}", today=day), 20)
    assert first == [True] * 20
    # the same 20 reports again, all at once, and each one twice more (retries racing each other)
    replays = _run_all(lambda i: usage.record(b, "shop", "labels", "label", i % 20 + 1, f"order-{i % 20}",
                                              today=day), 40)
    assert replays == [False] * 40
    with b.factory() as s:
        count, total = s.execute(select(func.count(), func.sum(Usage.quantity))
                                 .where(Usage.shop_id == "shop", Usage.period == "2026-11")).one()
    assert (count, total) == (20, sum(range(1, 21)))

    # closing the month from several workers at once charges it once
    _run_all(lambda i: usage.close_month(b, "2026-11"), 4)
    with b.factory() as s:
        charges = list(s.scalars(select(Txn).where(Txn.kind == "charge", Txn.plugin_id == "labels")))
        assert ledger.totals_by_currency(s) == {"EUR": 0}
    assert [c.gross for c in charges] == [sum(range(1, 21)) * 25]


def test_concurrent_charges_share_the_threshold_room_once(market_any: Marketplace, seeder: Any) -> None:
    """Charges of one vendor are serialised: the 100% band is used exactly once."""
    seed = seeder(market_any)
    vid = seed.vendor("acme")
    for i in range(10):
        seed.plugin(vid, f"p{i}", {"model": "one_time", "price": 1000})
    b = Billing.of(market_any)
    b.set_policy(threshold=2500)
    _run_all(lambda i: subs.install(b, f"shop{i}", f"p{i}", today=date(2026, 11, 2)), 10)
    with b.factory() as s:
        vendor_total = s.scalar(select(func.sum(Txn.vendor_amount)).where(Txn.kind == "charge"))
    assert vendor_total == 2500 + 7500 * 85 // 100  # 2500 at 100%, 7500 at 85%
