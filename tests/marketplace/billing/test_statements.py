"""Statements, invoices and payout runs on SQLite and PostgreSQL, including a refund
after a payout (carried negative balance) and a threshold crossed inside one charge."""
from __future__ import annotations

from datetime import date
from typing import Any

from comptoir.marketplace.billing import Billing, ledger
from comptoir.marketplace.billing import statements as stm
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing import usage
from comptoir.marketplace.service import Marketplace


def test_month_to_payout_with_a_refund_after_it(market_any: Marketplace, seeder: Any) -> None:
    seed = seeder(market_any)
    acme = seed.vendor("acme")
    seed.plugin(acme, "colis", {"model": "recurring", "price": 6000, "interval": "month"})
    seed.plugin(acme, "labels", {"model": "usage", "usage_price": 50, "usage_unit": "label", "usage_cap": 2000})
    b = Billing.of(market_any)
    b.set_policy(threshold=10_000)  # 100.00 EUR at 100%, then 85%

    subs.install(b, "s1", "colis", today=date(2026, 11, 1))  # 60.00, all under the threshold
    subs.install(b, "s2", "colis", today=date(2026, 11, 2))  # 60.00: 40.00 at 100%, 20.00 at 85%
    subs.install(b, "s1", "labels", today=date(2026, 11, 1))
    for i in range(50):  # 50 labels = 25.00, capped at 20.00 (85% of it)
        usage.record(b, "s1", "labels", "label", 1, f"l{i}", today=date(2026, 11, 5))

    run = stm.payout_run(b, "2026-11", date(2026, 12, 1))
    share = 6000 + 4000 + 1700 + 1700
    assert run["totals"] == {"EUR": share} and run["payouts"] == 1
    [st] = stm.statement_rows(b, "2026-11")
    assert (st["gross"], st["share"], st["net"], st["payout"], st["status"]) == (14000, share, share, share, "paid")
    inv = stm.invoice(b, "s1", "2026-11")
    assert inv["totals"] == {"EUR": 6000 + 2000} and "monthly cap" in inv["lines"][-1]["memo"]

    # December: s2's November charge refunded in full (after it was paid out) exceeds the month's revenue
    with b.factory() as s:
        from sqlalchemy import select

        from comptoir.marketplace.billing.models import Txn

        charge = s.scalar(select(Txn).where(Txn.shop_id == "s2", Txn.kind == "charge"))
        assert charge is not None and (charge.vendor_amount, charge.market_amount) == (5700, 300)
    refund = b.reverse(charge.id, kind="refund", today=date(2026, 12, 3))  # type: ignore[arg-type]
    assert (refund["vendor"], refund["marketplace"]) == (5700, 300)
    subs.uninstall(b, "s1", "colis", today=date(2026, 11, 20))  # before renewal: no December charge
    run = stm.payout_run(b, "2026-12", date(2027, 1, 2))
    assert run["payouts"] == 0 and run["totals"] == {}
    [dec] = stm.statement_rows(b, "2026-12")
    assert (dec["refunds_share"], dec["net"], dec["status"]) == (5700, -5700, "carried")
    with b.factory() as s:
        assert ledger.balance(s, ledger.vendor_code(acme), "EUR") == 5700  # the vendor owes it back
        assert ledger.totals_by_currency(s) == {"EUR": 0}
    # January: new revenue is netted against the debt
    subs.install(b, "s3", "colis", today=date(2027, 1, 10))  # lifetime 80.00 after the refund: 20.00 at 100%
    subs.install(b, "s4", "colis", today=date(2027, 1, 11))  # all at 85%
    run = stm.payout_run(b, "2027-01", date(2027, 2, 1))
    assert run["totals"] == {"EUR": (2000 + 3400) + 5100 - 5700}
    assert stm.payout_run(b, "2027-01", date(2027, 2, 1))["replay"] is True
