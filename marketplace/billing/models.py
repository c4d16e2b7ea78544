"""Billing tables, on the marketplace's own metadata (``MarketBase``).

The ledger is double-entry: a :class:`Txn` groups :class:`Entry` rows whose amounts
(signed integer minor units: debit > 0, credit < 0) add up to zero per currency. No
table stores a balance: balances are ``SUM(entry.amount)`` per account. A transaction
also carries the facts it records (gross, vendor and marketplace parts) so statements
can be aggregated from one table with ``GROUP BY``; :func:`ledger.post` checks that
those facts and the entries agree before anything is written.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, Index, UniqueConstraint
from sqlmodel import Field

from comptoir.marketplace.models import MarketBase, utcnow


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def _money() -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class Account(MarketBase, table=True):
    """One ledger account in one currency: ``clearing``, ``revenue``, ``vendor:<id>``."""

    __tablename__ = "billing_account"
    __table_args__ = (UniqueConstraint("code", "currency", name="uq_billing_account"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    kind: str = Field(max_length=16)  # asset | liability | revenue
    vendor_id: int | None = Field(default=None, index=True)


class Txn(MarketBase, table=True):
    """A balanced transaction. ``ref`` is unique when set: the idempotency of charges and payouts."""

    __tablename__ = "billing_txn"
    __table_args__ = (Index("ix_billing_txn_period_vendor", "period", "vendor_id"),
                      Index("ix_billing_txn_period_shop", "period", "shop_id"),
                      Index("ix_billing_txn_vendor_currency", "vendor_id", "currency"))
    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, max_length=200, unique=True)
    kind: str = Field(max_length=16)  # charge | refund | proration | dispute | payout
    currency: str = Field(max_length=3)
    day: date = Field(sa_column=Column(Date, nullable=False))
    period: str = Field(max_length=7)  # YYYY-MM of ``day``
    shop_id: str = Field(default="", max_length=64)
    vendor_id: int | None = Field(default=None)
    plugin_id: str = Field(default="", max_length=64)
    plan: str = Field(default="", max_length=64)
    # charge: the money the merchant paid and its split; reversal: the parts given back (positive)
    gross: int = _money()
    vendor_amount: int = _money()
    market_amount: int = _money()
    reverses_id: int | None = Field(default=None, index=True)  # the charge a reversal gives back
    policy_id: int | None = None
    memo: str = ""
    created_at: datetime = _ts()


class Entry(MarketBase, table=True):
    __tablename__ = "billing_entry"
    id: int | None = Field(default=None, primary_key=True)
    txn_id: int = Field(foreign_key="billing_txn.id", index=True)
    account_id: int = Field(foreign_key="billing_account.id", index=True)
    amount: int = _money()  # debit > 0, credit < 0
    currency: str = Field(max_length=3)


class Policy(MarketBase, table=True):
    """The revenue-share policy; append-only, the newest row is in force.

    The vendor keeps ``rate_below_bp`` basis points of its lifetime revenue up to
    ``threshold`` (minor units of ``currency``) and ``rate_above_bp`` above it. Revenue in
    any other currency is shared at ``rate_above_bp`` (no exchange rates are guessed).
    """

    __tablename__ = "billing_policy"
    id: int | None = Field(default=None, primary_key=True)
    currency: str = Field(default="EUR", max_length=3)
    threshold: int = Field(default=100_000_000, sa_column=Column(BigInteger, nullable=False))
    rate_below_bp: int = 10_000
    rate_above_bp: int = 8_500
    set_by: str = Field(default="default", max_length=64)
    created_at: datetime = _ts()


class Plan(MarketBase, table=True):
    """A priced plan of a plugin. ``default`` mirrors the manifest's pricing; vendors add tiers.

    ``uninstall_rule``: ``prorate`` refunds the unused days of the current period when the
    shop uninstalls; ``none`` lets the paid period run out. Default: ``none`` for monthly,
    ``prorate`` for yearly plans.
    """

    __tablename__ = "billing_plan"
    __table_args__ = (UniqueConstraint("plugin_id", "code", name="uq_billing_plan"),)
    id: int | None = Field(default=None, primary_key=True)
    plugin_id: str = Field(foreign_key="plugin.id", max_length=64)
    code: str = Field(max_length=64)
    pricing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    uninstall_rule: str = Field(default="", max_length=16)


class Shop(MarketBase, table=True):
    """A merchant's billing identity; the token authenticates the shop's kernel."""

    __tablename__ = "billing_shop"
    shop_id: str = Field(primary_key=True, max_length=64)
    token_hash: str = Field(max_length=64, index=True)
    created_at: datetime = _ts()


class Subscription(MarketBase, table=True):
    """One per (shop, plugin), kept across uninstall/reinstall so the trial is the shop's.

    ``paid_until`` (exclusive) is the end of the last charged period; ``period_start`` its
    start and ``period_charge_id`` the charge covering the current plan's days of it.
    """

    __tablename__ = "billing_subscription"
    __table_args__ = (UniqueConstraint("shop_id", "plugin_id", name="uq_billing_subscription"),)
    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(max_length=64, index=True)
    plugin_id: str = Field(foreign_key="plugin.id", max_length=64, index=True)
    vendor_id: int = Field(index=True)
    plan: str = Field(max_length=64)
    pricing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)  # active | cancelled
    first_installed: date = Field(sa_column=Column(Date, nullable=False))
    trial_end: date = Field(sa_column=Column(Date, nullable=False))  # == first_installed when no trial
    active_since: date = Field(sa_column=Column(Date, nullable=False))  # (re)install or new-plan start
    period_start: date | None = Field(default=None, sa_column=Column(Date))
    anchor_day: int = 0  # day of month the current run of periods started on
    paid_until: date | None = Field(default=None, sa_column=Column(Date))
    period_charge_id: int | None = None
    one_time_paid: bool = False
    installs: int = 1
    cancelled_on: date | None = Field(default=None, sa_column=Column(Date))
    created_at: datetime = _ts()


class Usage(MarketBase, table=True):
    """A usage record; the unique key makes a replayed report a no-op."""

    __tablename__ = "billing_usage"
    __table_args__ = (UniqueConstraint("shop_id", "plugin_id", "idempotency_key", name="uq_billing_usage_key"),
                      Index("ix_billing_usage_period", "period", "shop_id", "plugin_id"))
    id: int | None = Field(default=None, primary_key=True)
    shop_id: str = Field(max_length=64)
    plugin_id: str = Field(max_length=64)
    unit: str = Field(max_length=32)
    quantity: int = Field(sa_column=Column(BigInteger, nullable=False))
    idempotency_key: str = Field(max_length=200)
    period: str = Field(max_length=7)
    day: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = _ts()


class Statement(MarketBase, table=True):
    """A vendor's monthly statement in one currency; ``payout_txn_id`` set once paid."""

    __tablename__ = "billing_statement"
    __table_args__ = (UniqueConstraint("vendor_id", "period", "currency", name="uq_billing_statement"),)
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(index=True)
    period: str = Field(max_length=7)
    currency: str = Field(max_length=3)
    gross: int = _money()
    share: int = _money()
    refunds_gross: int = _money()
    refunds_share: int = _money()
    net: int = _money()
    payout: int = _money()
    status: str = Field(default="open", max_length=8)  # open | paid
    payout_txn_id: int | None = None
    created_at: datetime = _ts()


class PayoutRun(MarketBase, table=True):
    """One payout run per month (unique): running it again changes nothing."""

    __tablename__ = "billing_payout_run"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, unique=True)
    day: date = Field(sa_column=Column(Date, nullable=False))
    payouts: int = 0
    totals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


TABLES = [m.__table__ for m in (Account, Txn, Entry, Policy, Plan, Shop, Subscription, Usage, Statement, PayoutRun)]  # type: ignore[attr-defined]
