"""Monthly statements (vendors), invoices (merchants) and payout runs.

Statements are one ``GROUP BY vendor_id, currency`` over the month's transactions —
never a Python loop over charges. A payout run for a month closes that month's usage,
refreshes its statements, then pays each vendor what the ledger says it is owed for
everything up to that month (its account balance, payouts included), in one
transaction guarded by a unique row per month: running it again changes nothing.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from comptoir.marketplace.billing import ledger
from comptoir.marketplace.billing.models import Account, Entry, PayoutRun, Statement, Txn
from comptoir.marketplace.billing.service import REVERSALS, Billing, today_utc, txn_dict
from comptoir.marketplace.billing.split import month_bounds, month_of
from comptoir.marketplace.billing.usage import close_month
from comptoir.marketplace.errors import ValidationFailed
from comptoir.marketplace.models import Vendor


def _check_month(month: str) -> str:
    try:
        month_bounds(month)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="month") from None
    return month


def aggregate(s: Any, month: str) -> list[dict[str, Any]]:
    """Per vendor and currency: gross, vendor share, refunds (gross and share), net."""
    is_charge = Txn.kind == "charge"
    is_rev = Txn.kind.in_(REVERSALS)  # type: ignore[attr-defined]
    q = (select(Txn.vendor_id, Txn.currency,
                func.sum(case((is_charge, Txn.gross), else_=0)), func.sum(case((is_charge, Txn.vendor_amount), else_=0)),
                func.sum(case((is_rev, Txn.gross), else_=0)), func.sum(case((is_rev, Txn.vendor_amount), else_=0)))
         .where(Txn.period == month, Txn.vendor_id.is_not(None), Txn.kind != "payout")  # type: ignore[union-attr]
         .group_by(Txn.vendor_id, Txn.currency))
    return [{"vendor_id": v, "currency": c, "gross": int(g), "share": int(sh), "refunds_gross": int(rg),
             "refunds_share": int(rs), "net": int(sh) - int(rs)} for v, c, g, sh, rg, rs in s.execute(q)]


def statements(b: Billing, month: str) -> list[dict[str, Any]]:
    """Compute (or refresh, while open) every vendor's statement for ``month``."""
    _check_month(month)
    with b.factory() as s, s.begin():
        existing = {(st.vendor_id, st.currency): st for st in
                    s.scalars(select(Statement).where(Statement.period == month))}
        for row in aggregate(s, month):
            st = existing.get((row["vendor_id"], row["currency"]))
            if st is None:
                st = Statement(vendor_id=row["vendor_id"], period=month, currency=row["currency"])
                existing[(st.vendor_id, st.currency)] = st
            if st.status == "open":  # a paid statement is a document already sent
                for k in ("gross", "share", "refunds_gross", "refunds_share", "net"):
                    setattr(st, k, row[k])
                s.add(st)
    return statement_rows(b, month)


def statement_rows(b: Billing, month: str, vendor_id: int | None = None) -> list[dict[str, Any]]:
    with b.factory() as s:
        q = select(Statement, Vendor.name).join(Vendor, Vendor.id == Statement.vendor_id).where(Statement.period == month)
        if vendor_id is not None:
            q = q.where(Statement.vendor_id == vendor_id)
        rows = s.execute(q.order_by(Vendor.name, Statement.currency)).all()
    return [{"vendor": n, "vendor_id": st.vendor_id, "month": st.period, "currency": st.currency, "gross": st.gross,
             "share": st.share, "refunds_gross": st.refunds_gross, "refunds_share": st.refunds_share, "net": st.net,
             "payout": st.payout, "status": st.status} for st, n in rows]


def _owed(s: Any, month: str) -> list[tuple[int, str, int]]:
    """(vendor, currency, owed) for activity up to ``month`` less every payout made.

    Computed as the vendor accounts' whole balance minus the (few) entries dated after
    ``month``, so the big join of entries with transactions is avoided: only the
    months after ``month`` are read through the transactions' period index.
    """
    vendor = Account.vendor_id.is_not(None)  # type: ignore[union-attr]
    total = s.execute(select(Account.vendor_id, Account.currency, func.sum(Entry.amount))
                      .join(Entry, Entry.account_id == Account.id).where(vendor)
                      .group_by(Account.vendor_id, Account.currency)).all()
    later = {(v, c): int(t) for v, c, t in s.execute(
        select(Account.vendor_id, Account.currency, func.sum(Entry.amount))
        .join(Entry, Entry.account_id == Account.id).join(Txn, Txn.id == Entry.txn_id)
        .where(vendor, Txn.period > month, Txn.kind != "payout")
        .group_by(Account.vendor_id, Account.currency))}
    return [(v, c, -(int(t) - later.get((v, c), 0))) for v, c, t in total]


def payout_run(b: Billing, month: str, today: date | None = None) -> dict[str, Any]:
    """Pay every vendor what it is owed through ``month`` and mark the statements paid.

    Idempotent: the run's row is unique per month; a second call returns the first run.
    A vendor whose balance is negative (refunds after a payout) is paid nothing and its
    statement is marked ``carried``: the debt is netted against its next revenue.
    """
    _check_month(month)
    today = today or today_utc()
    if month >= month_of(today):
        raise ValidationFailed(f"month {month} is not over yet; pay out closed months only", field="month")
    with b.factory() as s:
        done = s.scalar(select(PayoutRun).where(PayoutRun.period == month))
    if done is not None:
        return _run_view(done, replay=True)
    close_month(b, month)
    statements(b, month)
    try:
        with b.factory() as s, s.begin():
            run = PayoutRun(period=month, day=today)
            s.add(run)
            s.flush()  # claims the month before any money moves
            totals: dict[str, int] = {}
            open_statements: dict[tuple[int, str], list[Statement]] = {}
            for st in s.scalars(select(Statement).where(Statement.period <= month, Statement.status == "open")):
                open_statements.setdefault((st.vendor_id, st.currency), []).append(st)
            owed_rows = _owed(s, month)
            payouts = ledger.post_many(s, [
                (Txn(ref=f"payout:{vendor_id}:{currency}:{month}", kind="payout", currency=currency, day=today,
                     period=month_of(today), vendor_id=vendor_id, gross=owed, vendor_amount=owed,
                     memo=f"payout for {month}"),
                 [(ledger.vendor_code(vendor_id), owed), ("clearing", -owed)])
                for vendor_id, currency, owed in owed_rows if owed > 0])
            paid = {(t.vendor_id, t.currency): t for t in payouts}
            for vendor_id, currency, owed in owed_rows:
                txn = paid.get((vendor_id, currency))
                if txn is not None:
                    totals[currency] = totals.get(currency, 0) + owed
                    run.payouts += 1
                for st in open_statements.get((vendor_id, currency), []):
                    st.status = "paid" if owed > 0 else "carried"
                    st.payout = owed if st.period == month and owed > 0 else 0
                    st.payout_txn_id = txn.id if txn is not None else None
                    s.add(st)
            run.totals = totals
            s.add(run)
            return _run_view(run, replay=False)
    except IntegrityError:  # a concurrent run for the same month won
        with b.factory() as s:
            return _run_view(s.scalar(select(PayoutRun).where(PayoutRun.period == month)), replay=True)  # type: ignore[arg-type]


def _run_view(run: PayoutRun, *, replay: bool) -> dict[str, Any]:
    return {"month": run.period, "day": run.day.isoformat(), "payouts": run.payouts, "totals": dict(run.totals),
            "replay": replay}


def payout_runs(b: Billing) -> list[dict[str, Any]]:
    with b.factory() as s:
        return [_run_view(r, replay=False) for r in s.scalars(select(PayoutRun).order_by(PayoutRun.period.desc()))]  # type: ignore[attr-defined]


def invoice(b: Billing, shop_id: str, month: str) -> dict[str, Any]:
    """A merchant's invoice for ``month``: plugin charges, credits and refunds, totals per currency."""
    _check_month(month)
    with b.factory() as s:
        txns = list(s.scalars(select(Txn).where(Txn.period == month, Txn.shop_id == shop_id, Txn.kind != "payout")
                              .order_by(Txn.day, Txn.id)))
    lines = []
    totals: dict[str, int] = {}
    for t in txns:
        amt = t.gross if t.kind == "charge" else -t.gross
        totals[t.currency] = totals.get(t.currency, 0) + amt
        lines.append({**txn_dict(t), "amount": amt})
    return {"shop": shop_id, "month": month, "lines": lines, "totals": totals}


def invoice_months(b: Billing, shop_id: str) -> list[str]:
    with b.factory() as s:
        return list(s.scalars(select(Txn.period).where(Txn.shop_id == shop_id).distinct().order_by(Txn.period.desc())))  # type: ignore[attr-defined]


def vendor_lines(b: Billing, vendor_id: int, month: str) -> list[dict[str, Any]]:
    """The statement's detail: per plugin and plan, charges and reversals of the month."""
    is_charge = Txn.kind == "charge"
    with b.factory() as s:
        rows = s.execute(select(Txn.plugin_id, Txn.plan, Txn.currency,
                                func.sum(case((is_charge, Txn.gross), else_=0)),
                                func.sum(case((is_charge, Txn.vendor_amount), else_=0)),
                                func.sum(case((is_charge, 0), else_=Txn.gross)),
                                func.sum(case((is_charge, 0), else_=Txn.vendor_amount)),
                                func.sum(case((is_charge, 1), else_=0)))
                         .where(Txn.period == month, Txn.vendor_id == vendor_id, Txn.kind != "payout")
                         .group_by(Txn.plugin_id, Txn.plan, Txn.currency).order_by(Txn.plugin_id, Txn.plan)).all()
    return [{"plugin": p, "plan": pl, "currency": c, "charges": int(n), "gross": int(g), "share": int(sh),
             "refunds_gross": int(rg), "refunds_share": int(rs), "net": int(sh) - int(rs)}
            for p, pl, c, g, sh, rg, rs, n in rows]


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as CSV; amounts stay integer minor units (the ``currency`` column says which)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return buf.getvalue()


INVOICE_COLUMNS = ["id", "day", "kind", "plugin", "plan", "memo", "currency", "amount"]
STATEMENT_COLUMNS = ["vendor", "month", "currency", "gross", "share", "refunds_gross", "refunds_share", "net",
                     "payout", "status"]
LINE_COLUMNS = ["plugin", "plan", "currency", "charges", "gross", "share", "refunds_gross", "refunds_share", "net"]
