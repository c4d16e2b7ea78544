"""Property-based: random lives of shops and vendors keep the ledger exact.

Installs (with the shop's trial), plan changes, uninstalls, reinstalls, usage reports
and their replays, refunds, disputes, the calendar moving on and payout runs (and
their replays), in any order. After every step:

- every transaction and every currency sums to zero;
- no money is created or lost: what the marketplace holds equals what merchants paid
  minus refunds minus payouts, and equals the vendors' plus the marketplace's parts;
- each charge's split is the policy applied to the vendor's lifetime revenue, tracked
  here independently of the service;
- each vendor's payouts plus what it is still owed equal its share of what merchants
  paid minus reversals; after a payout run nobody is owed anything for closed months;
- replaying a usage report or a payout run changes nothing.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from comptoir.marketplace.billing import Billing, ledger
from comptoir.marketplace.billing import statements as stm
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing import usage
from comptoir.marketplace.billing.models import Subscription, Txn, Usage
from comptoir.marketplace.billing.service import REVERSALS
from comptoir.marketplace.billing.split import SharePolicy, add_months, month_of, split
from comptoir.marketplace.errors import ComptoirError
from comptoir.marketplace.models import Plugin, Vendor, metadata
from comptoir.kernel.db import make_engine

PLANS: dict[str, dict[str, dict[str, Any]]] = {
    "colis": {"default": {"model": "recurring", "price": 2900, "interval": "month", "trial_days": 10},
              "pro": {"model": "recurring", "price": 9900, "interval": "month"},
              "yearly": {"model": "recurring", "price": 29900, "interval": "year"}},
    "labels": {"default": {"model": "usage", "usage_price": 35, "usage_unit": "label", "usage_cap": 5000},
               "plus": {"model": "recurring_usage", "price": 1000, "interval": "month", "usage_price": 20,
                        "usage_unit": "label"}},
    "theme": {"default": {"model": "one_time", "price": 14900}},
    "dollars": {"default": {"model": "recurring_usage", "currency": "USD", "price": 1500, "interval": "month",
                            "usage_price": 5, "usage_cap": 800}},
}
OWNER = {"colis": "acme", "labels": "acme", "theme": "studio", "dollars": "studio"}
SHOPS = ("s1", "s2", "s3")
POLICY = SharePolicy("EUR", 25_000, 10_000, 8_500)  # a low threshold so runs cross it


_TEMPLATE: list[Path] = []


def _template() -> Path:
    """Build once: the marketplace schema, the policy, two vendors, their plugins and plans."""
    if _TEMPLATE:
        return _TEMPLATE[0]
    path = Path(tempfile.mkdtemp(prefix="billing-template-")) / "m.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    b = Billing(engine)
    b.set_policy(currency=POLICY.currency, threshold=POLICY.threshold, rate_below_bp=POLICY.rate_below_bp,
                 rate_above_bp=POLICY.rate_above_bp)
    with b.factory() as s, s.begin():
        vendors = {}
        for name in sorted(set(OWNER.values())):
            v = Vendor(name=name, token_hash=name)
            s.add(v)
            s.flush()
            vendors[name] = v
        for pid, plans in PLANS.items():
            s.add(Plugin(id=pid, vendor_id=vendors[OWNER[pid]].id, dist_name=pid, name=pid, category="other",
                         pricing=plans["default"]))
    for pid, plans in PLANS.items():
        with b.factory() as s:
            vendor = s.get(Vendor, s.get(Plugin, pid).vendor_id)  # type: ignore[union-attr]
        for code, pricing in plans.items():
            if code != "default":
                b.set_plan(vendor, pid, code, pricing)  # type: ignore[arg-type]
    engine.dispose()  # the last connection closing checkpoints the WAL into the main file
    _TEMPLATE.append(path)
    return path


class BillingMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="billing-sm-")
        path = Path(self.tmp.name) / "m.db"
        shutil.copyfile(_template(), path)  # a seeded database, copied: each example starts clean and fast
        self.engine = make_engine(f"sqlite:///{path}")
        self.b = Billing(self.engine)
        self.today = date(2026, 1, 1)
        self.keys: list[tuple[str, str, str, int, str]] = []  # (shop, plugin, key, quantity, month)
        self.seq = 0
        self.lifetime: dict[tuple[int, str], int] = {}  # independent model of lifetime revenue
        self.seen_txn = 0
        self.paid_through: str | None = None

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()
            self.tmp.cleanup()

    # ---- rules --------------------------------------------------------------------
    @rule(shop=st.sampled_from(SHOPS), plugin=st.sampled_from(sorted(PLANS)), data=st.data())
    def install(self, shop: str, plugin: str, data: st.DataObject) -> None:
        plan = data.draw(st.sampled_from(sorted(PLANS[plugin])))
        subs.install(self.b, shop, plugin, plan, today=self.today)

    @rule(shop=st.sampled_from(SHOPS), plugin=st.sampled_from(sorted(PLANS)), data=st.data())
    def change_plan(self, shop: str, plugin: str, data: st.DataObject) -> None:
        plan = data.draw(st.sampled_from(sorted(PLANS[plugin])))
        try:
            subs.change_plan(self.b, shop, plugin, plan, today=self.today)
        except ComptoirError:
            pass  # not subscribed

    @rule(shop=st.sampled_from(SHOPS), plugin=st.sampled_from(sorted(PLANS)))
    def uninstall(self, shop: str, plugin: str) -> None:
        try:
            subs.uninstall(self.b, shop, plugin, today=self.today)
        except ComptoirError:
            pass

    @rule(days=st.integers(1, 45))
    def advance(self, days: int) -> None:
        self.today += timedelta(days=days)
        subs.renew_all(self.b, self.today)
        mark = self._fingerprint()[0] and self._last_id()
        usage.close_before(self.b, self.today)
        self._check_usage_charges(mark)

    @rule(shop=st.sampled_from(SHOPS), plugin=st.sampled_from(["labels", "dollars", "colis"]),
          qty=st.integers(1, 400))
    def report_usage(self, shop: str, plugin: str, qty: int) -> None:
        self.seq += 1
        key = f"k{self.seq}"
        assert usage.record(self.b, shop, plugin, "label", qty, key, today=self.today) is True
        self.keys.append((shop, plugin, key, qty, month_of(self.today)))

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def replay_usage(self, data: st.DataObject) -> None:
        shop, plugin, key, qty, _ = data.draw(st.sampled_from(self.keys))
        before = self._fingerprint()
        assert usage.record(self.b, shop, plugin, "label", qty, key, today=self.today) is False
        assert self._fingerprint() == before

    @rule(data=st.data(), kind=st.sampled_from(["refund", "dispute"]), part=st.integers(1, 100))
    def reverse(self, data: st.DataObject, kind: str, part: int) -> None:
        with self.b.factory() as s:
            open_charges = s.execute(select(Txn.id, Txn.gross).where(Txn.kind == "charge")).all()
            left = {cid: g - self.b.reversed_amount(s, cid) for cid, g in open_charges}
        candidates = sorted(cid for cid, rest in left.items() if rest > 0)
        if not candidates:
            return
        cid = data.draw(st.sampled_from(candidates))
        self.b.reverse(cid, max(1, left[cid] * part // 100), kind=kind, today=self.today)

    @rule()
    def payout_run(self) -> None:
        month = month_of(add_months(self.today.replace(day=1), -1))
        mark = self._last_id()
        stm.payout_run(self.b, month, today=self.today)
        self._check_usage_charges(mark)
        before = self._fingerprint()
        again = stm.payout_run(self.b, month, today=self.today)
        assert again["replay"] is True and self._fingerprint() == before
        self.paid_through = max(self.paid_through or month, month)
        with self.b.factory() as s:
            owed = stm._owed(s, month)
        assert all(o <= 0 for _, _, o in owed), owed  # everybody owed something was paid

    # ---- invariants -------------------------------------------------------------------
    def _last_id(self) -> int:
        with self.b.factory() as s:
            return int(s.scalar(select(func.coalesce(func.max(Txn.id), 0))) or 0)

    def _fingerprint(self) -> tuple[int, int, int]:
        with self.b.factory() as s:
            return (s.scalar(select(func.count()).select_from(Txn)) or 0,
                    s.scalar(select(func.count()).select_from(Usage)) or 0,
                    s.scalar(select(func.coalesce(func.sum(Usage.quantity), 0))) or 0)

    @invariant()
    def ledger_is_exact(self) -> None:
        if not hasattr(self, "b"):
            return
        with self.b.factory() as s:
            assert ledger.unbalanced_txns(s) == []
            assert all(v == 0 for v in ledger.totals_by_currency(s).values())
            txns = list(s.scalars(select(Txn).where(Txn.id > self.seen_txn).order_by(Txn.id)))
            # the split of every new charge, against an independent lifetime
            for t in txns:
                key = (t.vendor_id, t.currency)  # type: ignore[assignment]
                if t.kind == "charge":
                    assert (t.vendor_amount, t.market_amount) == split(t.gross, t.currency, self.lifetime.get(key, 0),
                                                                       POLICY)
                    self.lifetime[key] = self.lifetime.get(key, 0) + t.gross
                elif t.kind in REVERSALS:
                    self.lifetime[key] = self.lifetime.get(key, 0) - t.gross
                self.seen_txn = t.id  # type: ignore[assignment]
            all_txns = list(s.scalars(select(Txn)))
            bal = {(r["account"], r["currency"]): r["balance"] for r in ledger.balances(s)}
            for cur in {t.currency for t in all_txns}:
                of = [t for t in all_txns if t.currency == cur]
                paid = sum(t.gross for t in of if t.kind == "charge")
                back = sum(t.gross for t in of if t.kind in REVERSALS)
                out = sum(t.gross for t in of if t.kind == "payout")
                assert bal.get(("clearing", cur), 0) == paid - back - out  # no money created or lost
                vendors = {t.vendor_id for t in of}
                for v in vendors:
                    share = sum(t.vendor_amount for t in of if t.vendor_id == v and t.kind == "charge")
                    given_back = sum(t.vendor_amount for t in of if t.vendor_id == v and t.kind in REVERSALS)
                    payouts = sum(t.gross for t in of if t.vendor_id == v and t.kind == "payout")
                    owed = -bal.get((ledger.vendor_code(v), cur), 0)  # type: ignore[arg-type]
                    assert payouts + owed == share - given_back
                market = -bal.get(("revenue", cur), 0)
                assert market == sum(t.market_amount for t in of if t.kind == "charge") - \
                    sum(t.market_amount for t in of if t.kind in REVERSALS)
                # reversals give back in proportion to the charge's split, never beyond it
                back_of: dict[int, tuple[int, int]] = {}
                for t in of:
                    if t.kind in REVERSALS:
                        g, v = back_of.get(t.reverses_id, (0, 0))  # type: ignore[arg-type]
                        back_of[t.reverses_id] = (g + t.gross, v + t.vendor_amount)  # type: ignore[index]
                for charge_id, (rg, rv) in back_of.items():
                    c = s.get(Txn, charge_id)
                    assert c is not None and c.kind == "charge" and rg <= c.gross
                    assert abs(rv * c.gross - rg * c.vendor_amount) < c.gross  # within one minor unit
                    if rg == c.gross:
                        assert rv == c.vendor_amount

    @invariant()
    def each_usage_report_counts_once(self) -> None:
        if not hasattr(self, "b"):
            return
        expected: dict[tuple[str, str, str], int] = {}
        for shop, plugin, _, qty, month in self.keys:
            expected[(shop, plugin, month)] = expected.get((shop, plugin, month), 0) + qty
        with self.b.factory() as s:
            got = {(sh, pl, m): int(q) for sh, pl, m, q in s.execute(
                select(Usage.shop_id, Usage.plugin_id, Usage.period, func.sum(Usage.quantity))
                .group_by(Usage.shop_id, Usage.plugin_id, Usage.period))}
        assert got == expected

    def _check_usage_charges(self, after_id: int) -> None:
        """Usage charges made by a close: quantity × price, capped, under the plan in force."""
        with self.b.factory() as s:
            for t in s.scalars(select(Txn).where(Txn.id > after_id, Txn.ref.like("usage:%"))):  # type: ignore[union-attr]
                _, shop, plugin, month = t.ref.split(":")  # type: ignore[union-attr]
                qty = sum(q for sh, pl, _, q, m in self.keys if (sh, pl, m) == (shop, plugin, month))
                sub = s.scalar(select(Subscription).where(Subscription.shop_id == shop,
                                                          Subscription.plugin_id == plugin))
                pricing = sub.pricing if sub else PLANS[plugin]["default"]
                assert t.gross == usage.amount(pricing, qty)[1] and t.period == month


BillingMachine.TestCase.settings = settings(max_examples=int(os.environ.get("BILLING_EXAMPLES", "15")), stateful_step_count=25, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestBillingMachine = pytest.mark.slow(BillingMachine.TestCase)  # ~15 s: 15 lives of 25 steps
