"""Usage records and their monthly charge.

A record is unique per (shop, plugin, idempotency key): the insert is
``INSERT … ON CONFLICT DO NOTHING``, so a retried report — however many times, from
however many threads — is stored once and charged once. Usage is charged in arrears
when its month closes: quantity × unit price, capped at the plan's monthly cap. The
charge's ref ``usage:<shop>:<plugin>:<month>`` is unique, so closing a month twice (or
from two workers) charges it once.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from comptoir.marketplace.billing.models import Subscription, Txn, Usage
from comptoir.marketplace.billing.service import Billing, today_utc
from comptoir.marketplace.billing.split import month_bounds, month_of
from comptoir.marketplace.errors import NotFound, ValidationFailed
from comptoir.marketplace.models import Plugin, utcnow

USAGE_MODELS = ("usage", "recurring_usage")


def record(b: Billing, shop_id: str, plugin_id: str, unit: str, quantity: int, idempotency_key: str,
           today: date | None = None) -> bool:
    """Store one usage report; True when new, False when the key was already seen."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= 10**9:
        raise ValidationFailed("quantity: a positive integer (at most 10^9)", field="quantity")
    if not unit or len(unit) > 32:
        raise ValidationFailed("unit: 1-32 characters such as 'order' or 'label'", field="unit")
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationFailed("idempotency_key: 1-200 characters, the same on every retry", field="idempotency_key")
    day = today or today_utc()
    values = dict(shop_id=shop_id, plugin_id=plugin_id, unit=unit, quantity=quantity,
                  idempotency_key=idempotency_key, period=month_of(day), day=day, created_at=utcnow())
    ins = sqlite_insert(Usage) if b.is_sqlite else pg_insert(Usage)
    stmt = (ins.values(**values).on_conflict_do_nothing(index_elements=["shop_id", "plugin_id", "idempotency_key"])
            .returning(Usage.__table__.c.id))  # type: ignore[attr-defined]  # a row back only when inserted
    with b.factory() as s, s.begin():
        if s.get(Plugin, plugin_id) is None:
            raise NotFound(f"no plugin {plugin_id!r} in the catalog")
        return s.connection().execute(stmt).first() is not None


def _pricing(s: Any, b: Billing, shop_id: str, plugin_id: str) -> tuple[dict[str, Any], str, int]:
    sub = s.scalar(select(Subscription).where(Subscription.shop_id == shop_id, Subscription.plugin_id == plugin_id))
    if sub is not None:
        return sub.pricing, sub.plan, sub.vendor_id
    plugin = s.get(Plugin, plugin_id)
    return b.plan(s, plugin_id).pricing, "default", plugin.vendor_id


def amount(pricing: dict[str, Any], quantity: int) -> tuple[int, int]:
    """(uncapped, charged) for ``quantity`` units under ``pricing``."""
    if pricing.get("model") not in USAGE_MODELS:
        return 0, 0
    raw = quantity * int(pricing.get("usage_price", 0))
    cap = int(pricing.get("usage_cap", 0))
    return raw, min(raw, cap) if cap > 0 else raw


def close_month(b: Billing, month: str) -> int:
    """Charge every (shop, plugin) usage of ``month`` not yet charged. Returns charges made."""
    start, end = month_bounds(month)
    with b.factory() as s:
        groups = s.execute(select(Usage.shop_id, Usage.plugin_id, func.sum(Usage.quantity))
                           .where(Usage.period == month).group_by(Usage.shop_id, Usage.plugin_id)).all()
    made = 0
    for shop_id, plugin_id, qty in groups:
        ref = f"usage:{shop_id}:{plugin_id}:{month}"
        try:
            with b.factory() as s, s.begin():
                if s.scalar(select(Txn.id).where(Txn.ref == ref)) is not None:
                    continue
                pricing, plan, vendor_id = _pricing(s, b, shop_id, plugin_id)
                raw, charged = amount(pricing, int(qty))
                capped = " (monthly cap reached)" if charged < raw else ""
                txn = b.charge(s, shop_id=shop_id, plugin_id=plugin_id, vendor_id=vendor_id, plan=plan,
                               gross=charged, currency=pricing.get("currency", "EUR"), day=end - timedelta(days=1),
                               ref=ref, memo=f"usage {month}: {qty} {pricing.get('usage_unit') or 'unit'}{capped}")
                made += txn is not None
        except IntegrityError:
            continue  # another closer charged it first
    return made


def close_before(b: Billing, today: date | None = None) -> int:
    """Close every month before ``today``'s that still has uncharged usage."""
    current = month_of(today or today_utc())
    with b.factory() as s:
        months = list(s.scalars(select(Usage.period).where(Usage.period < current).distinct()))
    return sum(close_month(b, m) for m in sorted(months))


def this_month(b: Billing, shop_id: str, today: date | None = None) -> list[dict[str, Any]]:
    """Usage of the current month per plugin against its cap (for the merchant)."""
    month = month_of(today or today_utc())
    with b.factory() as s:
        rows = s.execute(select(Usage.plugin_id, Usage.unit, func.sum(Usage.quantity), func.count())
                         .where(Usage.shop_id == shop_id, Usage.period == month)
                         .group_by(Usage.plugin_id, Usage.unit)).all()
        out = []
        for plugin_id, unit, qty, n in rows:
            pricing, plan, _ = _pricing(s, b, shop_id, plugin_id)
            raw, charged = amount(pricing, int(qty))
            out.append({"plugin": plugin_id, "plan": plan, "unit": unit, "quantity": int(qty), "records": n,
                        "amount": raw, "charged": charged, "cap": int(pricing.get("usage_cap", 0)),
                        "currency": pricing.get("currency", "EUR"), "month": month})
    return out
