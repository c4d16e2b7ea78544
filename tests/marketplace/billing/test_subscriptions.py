"""Subscriptions: the shop's trial, renewals, prorated plan changes, uninstall rules."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from comptoir.marketplace.billing import Billing
from comptoir.marketplace.billing import statements as st
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing.models import Txn
from comptoir.marketplace.models import Vendor
from comptoir.marketplace.errors import NotFound

D = date


def _txns(b: Billing) -> list[tuple[str, int, str]]:
    from sqlalchemy import select

    with b.factory() as s:
        return [(t.kind, t.gross, t.day.isoformat()) for t in s.scalars(select(Txn).order_by(Txn.id))]


def test_trial_belongs_to_the_shop_not_the_installation(billing: Billing, seed: Any) -> None:
    seed.plugin(seed.vendor("acme"), "colis")  # 30.00/month, 14-day trial
    subs.install(billing, "shop", "colis", today=D(2026, 11, 1))
    subs.uninstall(billing, "shop", "colis", today=D(2026, 11, 5))
    view = subs.install(billing, "shop", "colis", today=D(2026, 11, 10))
    assert view["trial_end"] == "2026-11-15" and view["installs"] == 2
    assert _txns(billing) == []
    subs.renew_all(billing, D(2026, 11, 15))
    assert _txns(billing) == [("charge", 3000, "2026-11-15")]
    # a later reinstall never grants a new trial
    subs.uninstall(billing, "shop", "colis", today=D(2026, 12, 20))  # monthly: no refund, runs to Dec 15
    subs.install(billing, "shop", "colis", today=D(2027, 1, 3))
    assert _txns(billing)[-1] == ("charge", 3000, "2027-01-03")


def test_reinstall_inside_a_paid_period_charges_nothing_until_it_ends(billing: Billing, seed: Any) -> None:
    seed.plugin(seed.vendor("acme"), "colis", {"model": "recurring", "price": 3000, "interval": "month"})
    subs.install(billing, "shop", "colis", today=D(2026, 11, 1))
    subs.uninstall(billing, "shop", "colis", today=D(2026, 11, 10))
    subs.install(billing, "shop", "colis", today=D(2026, 11, 20))
    assert _txns(billing) == [("charge", 3000, "2026-11-01")]
    subs.renew_all(billing, D(2026, 12, 1))
    assert _txns(billing)[-1] == ("charge", 3000, "2026-12-01")


def test_upgrade_and_downgrade_are_prorated_to_the_day(billing: Billing, seed: Any, market: Any) -> None:
    vid = seed.vendor("acme")
    seed.plugin(vid, "colis", {"model": "recurring", "price": 3000, "interval": "month"})
    with market.factory() as s:
        vendor = s.get(Vendor, vid)
    billing.set_plan(vendor, "colis", "pro", {"model": "recurring", "price": 9000, "interval": "month"})
    subs.install(billing, "shop", "colis", today=D(2026, 11, 1))  # period Nov 1 – Dec 1 (30 days)
    subs.change_plan(billing, "shop", "colis", "pro", today=D(2026, 11, 21))  # 10 days left
    assert _txns(billing)[1:] == [("proration", 1000, "2026-11-21"), ("charge", 3000, "2026-11-21")]
    subs.change_plan(billing, "shop", "colis", "default", today=D(2026, 11, 26))  # 5 days left
    assert _txns(billing)[3:] == [("proration", 1500, "2026-11-26"), ("charge", 500, "2026-11-26")]
    inv = st.invoice(billing, "shop", "2026-11")
    assert inv["totals"] == {"EUR": 3000 - 1000 + 3000 - 1500 + 500}
    subs.renew_all(billing, D(2026, 12, 1))
    assert _txns(billing)[-1] == ("charge", 3000, "2026-12-01")


def test_change_to_a_yearly_plan_credits_and_starts_a_new_year(billing: Billing, seed: Any, market: Any) -> None:
    vid = seed.vendor("acme")
    seed.plugin(vid, "colis", {"model": "recurring", "price": 3000, "interval": "month"})
    with market.factory() as s:
        vendor = s.get(Vendor, vid)
    billing.set_plan(vendor, "colis", "yearly", {"model": "recurring", "price": 30000, "interval": "year"})
    subs.install(billing, "shop", "colis", today=D(2026, 11, 1))
    view = subs.change_plan(billing, "shop", "colis", "yearly", today=D(2026, 11, 16))
    assert _txns(billing)[1:] == [("proration", 1500, "2026-11-16"), ("charge", 30000, "2026-11-16")]
    assert view["paid_until"] == "2027-11-16"
    # yearly plans refund unused days on uninstall by default: 365 days, 181 used
    subs.uninstall(billing, "shop", "colis", today=D(2027, 5, 16))
    assert _txns(billing)[-1] == ("proration", 15123, "2027-05-16")  # 30000 × 184/365 = 15123.29


def test_monthly_uninstall_stops_future_charges_without_refund(billing: Billing, seed: Any) -> None:
    seed.plugin(seed.vendor("acme"), "colis", {"model": "recurring", "price": 3000, "interval": "month"})
    subs.install(billing, "shop", "colis", today=D(2026, 11, 1))
    subs.uninstall(billing, "shop", "colis", today=D(2026, 11, 2))
    assert subs.renew_all(billing, D(2027, 3, 1)) == 0
    assert _txns(billing) == [("charge", 3000, "2026-11-01")]
    with pytest.raises(NotFound):
        subs.uninstall(billing, "shop", "colis", today=D(2026, 11, 3))


def test_one_time_is_charged_once_per_shop_ever(billing: Billing, seed: Any) -> None:
    seed.plugin(seed.vendor("acme"), "theme", {"model": "one_time", "price": 4900})
    subs.install(billing, "shop", "theme", today=D(2026, 11, 1))
    subs.uninstall(billing, "shop", "theme", today=D(2026, 11, 2))
    subs.install(billing, "shop", "theme", today=D(2027, 1, 1))
    assert _txns(billing) == [("charge", 4900, "2026-11-01")]


def test_missed_renewals_are_caught_up(billing: Billing, seed: Any) -> None:
    seed.plugin(seed.vendor("acme"), "colis", {"model": "recurring", "price": 3000, "interval": "month"})
    subs.install(billing, "shop", "colis", today=D(2026, 1, 31))
    assert subs.renew_all(billing, D(2026, 4, 30)) == 3  # periods from Feb 28, Mar 31, Apr 30 (no drift)
    assert [d for _, _, d in _txns(billing)] == ["2026-01-31", "2026-04-30", "2026-04-30", "2026-04-30"]
    assert subs.subscriptions(billing, "shop")[0]["paid_until"] == "2026-05-31"
