"""``Billing``: the policy, shops, plans, and the two money movements every other use
case is built from — :meth:`Billing.charge` and :meth:`Billing.reverse`.

Subscriptions, usage, statements and payouts live in their own modules and call these.
Every method takes ``today`` (a :class:`datetime.date`) so tests drive the calendar.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timezone
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.manifest import Pricing
from comptoir.marketplace.billing import ledger
from comptoir.marketplace.billing.models import TABLES, Plan, Policy, Shop, Txn
from comptoir.marketplace.billing.split import SharePolicy, month_of, reversal, split
from comptoir.marketplace.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from comptoir.marketplace.models import Plugin, Vendor, metadata

REVERSALS = ("refund", "proration", "dispute")


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_pricing(pricing: dict[str, Any]) -> dict[str, Any]:
    """Validate a plan with the manifest's own model; returns the normalised dict."""
    try:
        p = Pricing.model_validate(pricing)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(f"pricing.{'.'.join(str(x) for x in first['loc'])}: {first['msg']}",
                               field="pricing") from None
    if min(p.price, p.usage_price, p.usage_cap, p.trial_days) < 0:
        raise ValidationFailed("pricing amounts and trial_days must not be negative", field="pricing")
    out = p.model_dump(mode="json")
    if "recurring" in p.model and p.interval is None:
        out["interval"] = "month"  # as the catalog shows it: a recurring price without interval is monthly
    return out


class Billing:
    """Billing over the marketplace database (its engine and session factory)."""

    def __init__(self, engine: Engine, factory: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self.factory = factory or sessionmaker(engine, class_=Session, expire_on_commit=False)
        metadata.create_all(engine, tables=TABLES)  # the marketplace's metadata; idempotent
        self.is_sqlite = engine.dialect.name == "sqlite"

    @classmethod
    def of(cls, market: Any) -> "Billing":
        """Billing for a :class:`comptoir.marketplace.service.Marketplace`, shared per instance."""
        billing = getattr(market, "_billing", None)
        if billing is None:
            billing = cls(market.engine, market.factory)
            market._billing = billing
        return billing  # type: ignore[no-any-return]

    # ---- policy ----------------------------------------------------------------------
    def policy(self, s: Session | None = None) -> tuple[int | None, SharePolicy]:
        """(row id, policy) in force; the built-in default until the operator sets one."""
        def read(s: Session) -> tuple[int | None, SharePolicy]:
            row = s.scalar(select(Policy).order_by(Policy.id.desc()).limit(1))  # type: ignore[union-attr]
            if row is None:
                return None, SharePolicy()
            return row.id, SharePolicy(row.currency, row.threshold, row.rate_below_bp, row.rate_above_bp)
        if s is not None:
            return read(s)
        with self.factory() as s2:
            return read(s2)

    def set_policy(self, *, currency: str | None = None, threshold: int | None = None,
                   rate_below_bp: int | None = None, rate_above_bp: int | None = None,
                   set_by: str = "operator") -> SharePolicy:
        """Record a new policy (the old rows stay: each charge names the policy it used)."""
        _, cur = self.policy()
        try:
            new = SharePolicy(currency or cur.currency, cur.threshold if threshold is None else threshold,
                              cur.rate_below_bp if rate_below_bp is None else rate_below_bp,
                              cur.rate_above_bp if rate_above_bp is None else rate_above_bp)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        from comptoir.kernel.money import check_currency

        check_currency(new.currency)
        with self.factory() as s, s.begin():
            s.add(Policy(currency=new.currency, threshold=new.threshold, rate_below_bp=new.rate_below_bp,
                         rate_above_bp=new.rate_above_bp, set_by=set_by[:64]))
        return new

    # ---- shops -------------------------------------------------------------------------
    def register_shop(self, shop_id: str) -> str:
        """Open a billing account for a shop; returns its API token (shown once)."""
        if not shop_id or len(shop_id) > 64:
            raise ValidationFailed("shop_id: 1-64 characters", field="shop_id")
        token = secrets.token_urlsafe(32)
        try:
            with self.factory() as s, s.begin():
                s.add(Shop(shop_id=shop_id, token_hash=_hash(token)))
        except IntegrityError:
            raise Conflict(f"shop {shop_id!r} already has a billing account") from None
        return token

    def shop_for_token(self, token: str | None) -> str:
        if not token:
            raise Unauthorized("send the shop's billing token as 'Authorization: Bearer <token>'")
        with self.factory() as s:
            shop = s.scalar(select(Shop.shop_id).where(Shop.token_hash == _hash(token)))
        if shop is None:
            raise Unauthorized("unknown shop token; register with POST /api/v1/billing/shops")
        return shop

    # ---- plans ------------------------------------------------------------------------
    def plan(self, s: Session, plugin_id: str, code: str = "default") -> Plan:
        """A plugin's plan; ``default`` is created from the listing's (manifest's) pricing."""
        row = s.scalar(select(Plan).where(Plan.plugin_id == plugin_id, Plan.code == code))
        if row is not None:
            return row
        plugin = s.get(Plugin, plugin_id)
        if plugin is None:
            raise NotFound(f"no plugin {plugin_id!r} in the catalog")
        if code != "default":
            raise NotFound(f"{plugin_id} has no plan {code!r}")
        try:
            with s.begin_nested():
                row = Plan(plugin_id=plugin_id, code="default", pricing=check_pricing(plugin.pricing or {}))
                s.add(row)
                s.flush()
        except IntegrityError:
            row = s.scalar(select(Plan).where(Plan.plugin_id == plugin_id, Plan.code == code))
        assert row is not None
        return row

    def set_plan(self, vendor: Vendor, plugin_id: str, code: str, pricing: dict[str, Any],
                 uninstall_rule: str = "") -> dict[str, Any]:
        """A vendor adds or changes a tier of its plugin. Existing subscribers keep the
        price they subscribed at until they change plan."""
        import re

        if not re.match(r"^[a-z0-9][a-z0-9_-]{0,63}$", code or ""):
            raise ValidationFailed("plan code: lowercase letters, digits, dashes, underscores", field="code")
        if uninstall_rule not in ("", "prorate", "none"):
            raise ValidationFailed("uninstall_rule is 'prorate' or 'none'", field="uninstall_rule")
        pricing = check_pricing(pricing)
        with self.factory() as s, s.begin():
            plugin = s.get(Plugin, plugin_id)
            if plugin is None or plugin.vendor_id != vendor.id:
                raise Forbidden(f"you publish no plugin {plugin_id!r}")
            row = s.scalar(select(Plan).where(Plan.plugin_id == plugin_id, Plan.code == code)) \
                or Plan(plugin_id=plugin_id, code=code)
            row.pricing, row.uninstall_rule = pricing, uninstall_rule
            s.add(row)
        return {"plugin": plugin_id, "code": code, "pricing": pricing, "uninstall_rule": uninstall_rule}

    def plans(self, plugin_id: str) -> list[dict[str, Any]]:
        with self.factory() as s, s.begin():
            self.plan(s, plugin_id)
            rows = list(s.scalars(select(Plan).where(Plan.plugin_id == plugin_id).order_by(Plan.code)))
        return [{"code": p.code, "pricing": p.pricing, "uninstall_rule": uninstall_rule(p.pricing, p.uninstall_rule)}
                for p in rows]

    # ---- money movements -----------------------------------------------------------------
    def _lock_vendor(self, s: Session, vendor_id: int) -> None:
        """Serialise charges of one vendor so two charges never both use the same room
        under the threshold (SQLite already serialises writers with BEGIN IMMEDIATE)."""
        if not self.is_sqlite:
            s.execute(select(Vendor.id).where(Vendor.id == vendor_id).with_for_update())

    def lifetime(self, s: Session, vendor_id: int, currency: str) -> int:
        """The vendor's lifetime revenue in ``currency``: charges minus everything reversed."""
        total = s.scalar(select(func.coalesce(func.sum(case((Txn.kind == "charge", Txn.gross), else_=-Txn.gross)), 0))
                         .where(Txn.vendor_id == vendor_id, Txn.currency == currency,
                                Txn.kind.in_(("charge", *REVERSALS))))  # type: ignore[attr-defined]
        return int(total or 0)

    def charge(self, s: Session, *, shop_id: str, plugin_id: str, vendor_id: int, plan: str, gross: int,
               currency: str, day: date, memo: str, ref: str | None = None) -> Txn | None:
        """Charge a merchant ``gross`` and split it; None for a zero amount."""
        if gross <= 0:
            return None
        self._lock_vendor(s, vendor_id)
        policy_id, policy = self.policy(s)
        vendor, market = split(gross, currency, self.lifetime(s, vendor_id, currency), policy)
        txn = Txn(ref=ref, kind="charge", currency=currency, day=day, period=month_of(day), shop_id=shop_id,
                  vendor_id=vendor_id, plugin_id=plugin_id, plan=plan, gross=gross, vendor_amount=vendor,
                  market_amount=market, policy_id=policy_id, memo=memo)
        return ledger.post(s, txn, [("clearing", gross), (ledger.vendor_code(vendor_id), -vendor),
                                    ("revenue", -market)])

    def reversed_amount(self, s: Session, charge_id: int) -> int:
        return int(s.scalar(select(func.coalesce(func.sum(Txn.gross), 0)).where(Txn.reverses_id == charge_id)) or 0)

    def _reverse(self, s: Session, charge: Txn, amount: int, kind: str, day: date, memo: str) -> Txn | None:
        if amount <= 0:
            return None
        if charge.vendor_id is not None:
            self._lock_vendor(s, charge.vendor_id)
        before = self.reversed_amount(s, charge.id)  # type: ignore[arg-type]
        amount = min(amount, charge.gross - before)
        if amount <= 0:
            return None
        v, m = reversal(charge.gross, charge.vendor_amount, before, amount, charge.currency)
        txn = Txn(kind=kind, currency=charge.currency, day=day, period=month_of(day), shop_id=charge.shop_id,
                  vendor_id=charge.vendor_id, plugin_id=charge.plugin_id, plan=charge.plan, gross=amount,
                  vendor_amount=v, market_amount=m, reverses_id=charge.id, memo=memo)
        return ledger.post(s, txn, [("clearing", -amount), (ledger.vendor_code(charge.vendor_id), v),  # type: ignore[arg-type]
                                    ("revenue", m)])

    def reverse(self, charge_id: int, amount: int | None = None, *, kind: str = "refund",
                today: date | None = None, memo: str = "") -> dict[str, Any]:
        """Refund (or record a lost dispute on) ``amount`` of a charge — all that is left when
        None. The vendor and the marketplace give back in proportion to the original split."""
        if kind not in ("refund", "dispute"):
            raise ValidationFailed("kind is 'refund' or 'dispute'", field="kind")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0):
            raise ValidationFailed("amount: a positive integer of minor units", field="amount")
        day = today or today_utc()
        with self.factory() as s, s.begin():
            charge = s.get(Txn, charge_id)
            if charge is None or charge.kind != "charge":
                raise NotFound(f"no charge {charge_id}")
            left = charge.gross - self.reversed_amount(s, charge_id)
            if amount is not None and amount > left:
                raise Conflict(f"charge {charge_id}: only {left} of {charge.gross} is left to reverse")
            txn = self._reverse(s, charge, left if amount is None else amount, kind, day, memo or kind)
            if txn is None:
                raise Conflict(f"charge {charge_id} is already fully reversed")
            return txn_dict(txn)


def uninstall_rule(pricing: dict[str, Any], rule: str = "") -> str:
    """The plan's rule, or the default: yearly plans refund unused days, monthly do not."""
    return rule or ("prorate" if pricing.get("interval") == "year" else "none")


def txn_dict(t: Txn) -> dict[str, Any]:
    return {"id": t.id, "kind": t.kind, "day": t.day.isoformat(), "period": t.period, "shop": t.shop_id,
            "vendor_id": t.vendor_id, "plugin": t.plugin_id, "plan": t.plan, "currency": t.currency,
            "gross": t.gross, "vendor": t.vendor_amount, "marketplace": t.market_amount,
            "reverses": t.reverses_id, "ref": t.ref, "memo": t.memo}
