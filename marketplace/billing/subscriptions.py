"""Subscriptions: install, plan changes, uninstall and renewals.

Rules (docs/billing.md explains them to merchants):

- One subscription row per (shop, plugin), kept when the shop uninstalls, so the free
  trial belongs to the shop: it starts at the first install and a reinstall never
  restarts it.
- Recurring plans are charged in advance, one period at a time, from the end of the
  trial. A reinstall inside a period already paid for charges nothing until it ends.
- A plan change mid-period credits the unused days of the old plan (a ``proration``
  reversal of the period's charge, split back proportionally) and charges the new plan
  for the same days; both are prorated to the day (``split.prorate``). A change to a
  plan with another interval (or to a one-time or usage plan) credits the old plan and
  starts the new plan's period today.
- Uninstall stops future charges. Under the plan's ``prorate`` rule the unused days are
  credited; under ``none`` the paid period simply runs out.
- A one-time plan is charged once per shop, ever.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from comptoir.marketplace.billing.models import Plan, Subscription, Txn
from comptoir.marketplace.billing.service import Billing, today_utc, uninstall_rule
from comptoir.marketplace.billing.split import period_end, prorate
from comptoir.marketplace.errors import Conflict, NotFound
from comptoir.marketplace.models import Plugin


def _recurring(pricing: dict[str, Any]) -> bool:
    return "recurring" in pricing.get("model", "free") and pricing.get("price", 0) > 0


def _lock(b: Billing, s: Session, shop_id: str, plugin_id: str) -> Subscription | None:
    q = select(Subscription).where(Subscription.shop_id == shop_id, Subscription.plugin_id == plugin_id)
    return s.scalar(q if b.is_sqlite else q.with_for_update())


def renew(b: Billing, s: Session, sub: Subscription, today: date) -> list[Txn]:
    """Charge what is due on an active subscription up to ``today``: the one-time price
    once, and every recurring period that has started (catching up missed runs)."""
    if sub.status != "active":
        return []
    out: list[Txn] = []
    p = sub.pricing
    common = dict(shop_id=sub.shop_id, plugin_id=sub.plugin_id, vendor_id=sub.vendor_id, plan=sub.plan,
                  currency=p.get("currency", "EUR"))
    if p.get("model") == "one_time" and not sub.one_time_paid and p.get("price", 0) > 0:
        txn = b.charge(s, gross=p["price"], day=today, memo="one-time purchase", ref=f"sub:{sub.id}:one-time",
                       **common)  # type: ignore[arg-type]
        sub.one_time_paid = True
        out.append(txn)  # type: ignore[arg-type]
    if _recurring(p):
        if sub.paid_until is None:
            nxt = max(sub.trial_end, sub.active_since)
            sub.anchor_day = nxt.day
        else:
            nxt = sub.paid_until
        while nxt <= today:
            end = period_end(nxt, p.get("interval") or "month", sub.anchor_day)
            # no ref: the subscription row lock (and paid_until moving on) makes renewal once-only
            txn = b.charge(s, gross=p["price"], day=today,
                           memo=f"{sub.plan} {nxt.isoformat()} to {(end - timedelta(days=1)).isoformat()}",
                           **common)  # type: ignore[arg-type]
            sub.period_start, sub.paid_until, sub.period_charge_id = nxt, end, txn.id  # type: ignore[union-attr]
            out.append(txn)  # type: ignore[arg-type]
            nxt = end
    s.add(sub)
    s.flush()
    return out


def _credit_unused(b: Billing, s: Session, sub: Subscription, today: date, memo: str) -> Txn | None:
    """Give back the unused days of the current paid period of the current plan."""
    if not (_recurring(sub.pricing) and sub.period_charge_id and sub.period_start and sub.paid_until
            and sub.period_start <= today < sub.paid_until):
        return None
    charge = s.get(Txn, sub.period_charge_id)
    if charge is None:
        return None
    total = (sub.paid_until - sub.period_start).days
    credit = prorate(sub.pricing["price"], (sub.paid_until - today).days, total)
    return b._reverse(s, charge, credit, "proration", today, memo)


def _view(sub: Subscription) -> dict[str, Any]:
    return {"shop": sub.shop_id, "plugin": sub.plugin_id, "plan": sub.plan, "pricing": sub.pricing,
            "status": sub.status, "trial_end": sub.trial_end.isoformat(), "had_trial": sub.trial_end > sub.first_installed,
            "in_trial": sub.status == "active" and sub.trial_end > (sub.cancelled_on or today_utc()),
            "period_start": sub.period_start.isoformat() if sub.period_start else None,
            "paid_until": sub.paid_until.isoformat() if sub.paid_until else None,
            "installs": sub.installs, "cancelled_on": sub.cancelled_on.isoformat() if sub.cancelled_on else None}


def install(b: Billing, shop_id: str, plugin_id: str, plan: str | None = None,
            today: date | None = None) -> dict[str, Any]:
    """Subscribe ``shop_id`` to ``plugin_id`` (reinstall keeps the trial) and charge what is due."""
    today = today or today_utc()
    for _ in range(2):  # a concurrent first install of the same pair loses the unique key: retry once
        try:
            with b.factory() as s, s.begin():
                sub = _lock(b, s, shop_id, plugin_id)
                if sub is not None and sub.status == "active":
                    if plan and plan != sub.plan:
                        _change(b, s, sub, plan, today)
                    return _view(sub)
                chosen = b.plan(s, plugin_id, plan or (sub.plan if sub else "default"))
                if sub is None:
                    plugin = s.get(Plugin, plugin_id)
                    assert plugin is not None  # b.plan checked it
                    trial = chosen.pricing.get("trial_days", 0) if "recurring" in chosen.pricing.get("model", "") else 0
                    sub = Subscription(shop_id=shop_id, plugin_id=plugin_id, vendor_id=plugin.vendor_id,
                                       plan=chosen.code, pricing=chosen.pricing, first_installed=today, active_since=today,
                                       trial_end=today + timedelta(days=trial))
                    s.add(sub)
                    s.flush()
                else:  # reinstall: the trial end stays; a paid period still running is honoured
                    sub.status, sub.cancelled_on, sub.installs = "active", None, sub.installs + 1
                    if sub.paid_until is None or sub.paid_until <= today:
                        sub.paid_until, sub.period_start, sub.period_charge_id = None, None, None
                        sub.active_since = today
                        sub.plan, sub.pricing = chosen.code, chosen.pricing
                    elif chosen.code != sub.plan:  # still inside a paid period: a prorated change
                        _change(b, s, sub, chosen.code, today)
                renew(b, s, sub, today)
                return _view(sub)
        except IntegrityError:
            continue
    raise Conflict(f"{shop_id}/{plugin_id}: concurrent installs; retry")


def _change(b: Billing, s: Session, sub: Subscription, code: str, today: date) -> None:
    new = b.plan(s, sub.plugin_id, code)
    renew(b, s, sub, today)  # the old plan's periods due up to today are charged first
    old = sub.pricing
    same_rhythm = _recurring(old) and _recurring(new.pricing) and old.get("interval") == new.pricing.get("interval") \
        and old.get("currency") == new.pricing.get("currency")
    paid_now = sub.period_start is not None and sub.paid_until is not None and sub.period_start <= today < sub.paid_until
    _credit_unused(b, s, sub, today, f"unused days of {sub.plan} (changed to {code})")
    sub.plan, sub.pricing = new.code, new.pricing
    if same_rhythm and paid_now and sub.status == "active":
        # same period, new price for the days left
        total = (sub.paid_until - sub.period_start).days  # type: ignore[operator]
        days = (sub.paid_until - today).days  # type: ignore[operator]
        txn = b.charge(s, shop_id=sub.shop_id, plugin_id=sub.plugin_id, vendor_id=sub.vendor_id, plan=code,
                       gross=prorate(new.pricing["price"], days, total), currency=new.pricing.get("currency", "EUR"),
                       day=today, memo=f"{code} for {days} of {total} days")
        sub.period_charge_id = txn.id if txn is not None else None
    else:  # the new plan's first period starts today (after any trial left)
        sub.paid_until, sub.period_start, sub.period_charge_id = None, None, None
        sub.active_since = today
    s.add(sub)
    s.flush()


def change_plan(b: Billing, shop_id: str, plugin_id: str, plan: str, today: date | None = None) -> dict[str, Any]:
    """Upgrade or downgrade, prorated to the day."""
    today = today or today_utc()
    with b.factory() as s, s.begin():
        sub = _lock(b, s, shop_id, plugin_id)
        if sub is None or sub.status != "active":
            raise NotFound(f"{shop_id} has no active subscription to {plugin_id}")
        if plan != sub.plan:
            _change(b, s, sub, plan, today)
            renew(b, s, sub, today)
        return _view(sub)


def uninstall(b: Billing, shop_id: str, plugin_id: str, today: date | None = None) -> dict[str, Any]:
    """Stop future charges; credit unused days when the plan's rule is ``prorate``."""
    today = today or today_utc()
    with b.factory() as s, s.begin():
        sub = _lock(b, s, shop_id, plugin_id)
        if sub is None or sub.status != "active":
            raise NotFound(f"{shop_id} has no active subscription to {plugin_id}")
        plan = s.scalar(select(Plan).where(Plan.plugin_id == plugin_id, Plan.code == sub.plan))
        if uninstall_rule(sub.pricing, plan.uninstall_rule if plan else "") == "prorate":
            if _credit_unused(b, s, sub, today, f"unused days of {sub.plan} (uninstalled)") is not None:
                sub.paid_until = today
        sub.status, sub.cancelled_on = "cancelled", today
        s.add(sub)
        return _view(sub)


def renew_all(b: Billing, today: date | None = None) -> int:
    """Charge every active recurring subscription whose period has ended; returns charges made."""
    today = today or today_utc()
    with b.factory() as s:
        due = list(s.scalars(select(Subscription.id).where(
            Subscription.status == "active",
            or_(Subscription.paid_until.is_(None), Subscription.paid_until <= today))))  # type: ignore[union-attr]
    made = 0
    for sub_id in due:  # one transaction per subscription: a failure stops only that one
        with b.factory() as s, s.begin():
            q = select(Subscription).where(Subscription.id == sub_id)
            sub = s.scalar(q if b.is_sqlite else q.with_for_update())
            if sub is not None:
                made += len(renew(b, s, sub, today))
    return made


def subscriptions(b: Billing, shop_id: str) -> list[dict[str, Any]]:
    with b.factory() as s:
        rows = list(s.scalars(select(Subscription).where(Subscription.shop_id == shop_id)
                              .order_by(Subscription.plugin_id)))
    return [_view(r) for r in rows]
