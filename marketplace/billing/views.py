"""What each audience sees: the merchant's subscriptions and usage, the vendor's
revenue, installs, churn and payouts, the operator's ledger. Read-only aggregates."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from comptoir.marketplace.billing import ledger
from comptoir.marketplace.billing import statements as stm
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing import usage
from comptoir.marketplace.billing.models import Statement, Subscription, Txn
from comptoir.marketplace.billing.service import REVERSALS, Billing, today_utc, txn_dict
from comptoir.marketplace.billing.split import month_bounds, month_of


def merchant(b: Billing, shop_id: str, today: date | None = None) -> dict[str, Any]:
    """Current subscriptions, this month's usage against caps, and invoice months."""
    today = today or today_utc()
    return {"shop": shop_id, "month": month_of(today), "subscriptions": subs.subscriptions(b, shop_id),
            "usage": usage.this_month(b, shop_id, today), "invoices": stm.invoice_months(b, shop_id)}


def vendor(b: Billing, vendor_id: int, month: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Revenue by plugin and plan (the month's and lifetime), installs, churn, payouts."""
    today = today or today_utc()
    month = month or month_of(today)
    start, end = month_bounds(month)
    is_charge = Txn.kind == "charge"
    is_rev = Txn.kind.in_(REVERSALS)  # type: ignore[attr-defined]
    with b.factory() as s:
        lifetime = [
            {"plugin": p, "plan": pl, "currency": c, "gross": int(g), "share": int(sh), "refunds": int(rg),
             "net": int(sh) - int(rs)}
            for p, pl, c, g, sh, rg, rs in s.execute(
                select(Txn.plugin_id, Txn.plan, Txn.currency,
                       func.sum(case((is_charge, Txn.gross), else_=0)),
                       func.sum(case((is_charge, Txn.vendor_amount), else_=0)),
                       func.sum(case((is_rev, Txn.gross), else_=0)),
                       func.sum(case((is_rev, Txn.vendor_amount), else_=0)))
                .where(Txn.vendor_id == vendor_id, Txn.kind != "payout")
                .group_by(Txn.plugin_id, Txn.plan, Txn.currency).order_by(Txn.plugin_id, Txn.plan))]
        installs = [
            {"plugin": p, "subscribers": int(n), "active": int(a), "in_trial": int(t),
             "churned_this_month": int(ch), "active_at_month_start": int(st),
             "churn_rate": round(int(ch) / int(st), 4) if int(st) else None}
            for p, n, a, t, ch, st in s.execute(
                select(Subscription.plugin_id, func.count(),
                       func.sum(case((Subscription.status == "active", 1), else_=0)),
                       func.sum(case(((Subscription.status == "active") & (Subscription.trial_end > today), 1),
                                     else_=0)),
                       func.sum(case(((Subscription.cancelled_on >= start) & (Subscription.cancelled_on < end), 1),
                                     else_=0)),
                       func.sum(case(((Subscription.first_installed < start)
                                      & (Subscription.cancelled_on.is_(None)  # type: ignore[union-attr]
                                         | (Subscription.cancelled_on >= start)), 1), else_=0)))
                .where(Subscription.vendor_id == vendor_id).group_by(Subscription.plugin_id)
                .order_by(Subscription.plugin_id))]
        payouts = [txn_dict(t) for t in s.scalars(select(Txn).where(Txn.vendor_id == vendor_id, Txn.kind == "payout")
                                                  .order_by(Txn.id.desc()).limit(24))]  # type: ignore[union-attr]
        statements = [{"month": st.period, "currency": st.currency, "gross": st.gross, "net": st.net,
                       "payout": st.payout, "status": st.status}
                      for st in s.scalars(select(Statement).where(Statement.vendor_id == vendor_id)
                                          .order_by(Statement.period.desc()).limit(24))]  # type: ignore[attr-defined]
        owed = {c: -ledger.balance(s, ledger.vendor_code(vendor_id), c)
                for c in s.scalars(select(Txn.currency).where(Txn.vendor_id == vendor_id).distinct())}
    return {"vendor_id": vendor_id, "month": month, "this_month": stm.vendor_lines(b, vendor_id, month),
            "lifetime": lifetime, "installs": installs, "payouts": payouts, "statements": statements,
            "owed": owed}


def operator(b: Billing, limit: int = 50) -> dict[str, Any]:
    """The policy in force, every account's derived balance, the newest transactions, payout runs."""
    policy_id, policy = b.policy()
    with b.factory() as s:
        balances = ledger.balances(s)
        totals = ledger.totals_by_currency(s)
        recent = [txn_dict(t) for t in s.scalars(select(Txn).order_by(Txn.id.desc()).limit(limit))]  # type: ignore[union-attr]
        unbalanced = ledger.unbalanced_txns(s)
    return {"policy": {"id": policy_id, "currency": policy.currency, "threshold": policy.threshold,
                       "rate_below_bp": policy.rate_below_bp, "rate_above_bp": policy.rate_above_bp},
            "balances": balances, "totals": totals, "balanced": not unbalanced and all(v == 0 for v in totals.values()),
            "recent": recent, "payout_runs": stm.payout_runs(b)}
